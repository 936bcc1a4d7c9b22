"""The checkov layer: custom checks (``policies/checkov``) and the curated built-ins, in one checkov run.

checkov runs in subprocesses of the same Python (a crash cannot take the gate down with it, and its global
check registries start clean) over the explicit list of stack files (``-f``): the run covers exactly the
stacks the gate hashed and never wanders into ``.terraform/`` directories. Its graph is built per file, so
a stack's checks never see another stack's resources (checked by the tests), which also lets the files be
split between one process per CPU.

Anything that would make the run silently partial is a :class:`ToolError` (exit 2): checkov missing or
crashing, output that is not its JSON report, a stack it could not parse, a custom check it could not load.
Checks that produce no result for a resource are caught by the gate's coverage verification.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from policies import depfile
from policies.catalog import REPO_ROOT

CHECKS_DIR = Path(__file__).resolve().parent / "checkov"
RESULT_KEYS = {"passed_checks": "PASSED", "failed_checks": "FAILED", "skipped_checks": "SKIPPED"}
# What checkov logs (and then carries on without the check) when a custom Python or graph check cannot load.
LOAD_FAILURE_MARKERS = ("Cannot load external check", "Custom policy ", "Failed to parse check id",
                        "is not Dict. Skipping")


class ToolError(Exception):
    """checkov could not produce a complete report; the gate exits 2."""


@dataclass(frozen=True)
class CheckovRecord:
    check_id: str
    check_name: str
    result: str  # PASSED, FAILED or SKIPPED
    file: Path
    resource: str  # as checkov names it: resource.<name>, data.<name> or <type>.<name>
    evaluated_keys: tuple[str, ...]


@dataclass(frozen=True)
class CheckovRun:
    records: tuple[CheckovRecord, ...]
    version: str
    seconds: float
    scanned: tuple[Path, ...] = ()
    reused: tuple[Path, ...] = ()
    inputs: dict = field(default_factory=dict)  # depfile record: what the checkov runs read from the project


def _reports(stdout: str) -> list[dict]:
    try:
        output = json.loads(stdout)
    except ValueError:
        raise ToolError("checkov did not print a JSON report") from None
    reports = output if isinstance(output, list) else [output]
    if not all(isinstance(report, dict) for report in reports):
        raise ToolError("checkov printed JSON that is not its report")
    return reports


def parse_report(stdout: str) -> tuple[list[CheckovRecord], str]:
    records, version = [], "unknown"
    for report in _reports(stdout):
        summary = report.get("summary", report)
        version = summary.get("checkov_version", version)
        if summary.get("parsing_errors"):
            failed = report.get("results", {}).get("parsing_errors", [])
            raise ToolError(f"checkov could not parse {summary['parsing_errors']} stack file(s): {failed}")
        for key, result in RESULT_KEYS.items():
            for item in report.get("results", {}).get(key, []):
                records.append(CheckovRecord(
                    check_id=item["check_id"], check_name=item.get("check_name", ""), result=result,
                    file=Path(item["file_abs_path"]).resolve(), resource=item["resource"],
                    evaluated_keys=tuple(item.get("check_result", {}).get("evaluated_keys") or ())))
    return records, version


def _batches(files: list[Path], count: int) -> list[list[Path]]:
    """Split files into batches of similar total size (checkov's time grows with the JSON it parses)."""
    batches: list[list[Path]] = [[] for _ in range(count)]
    sizes = [0] * count
    for path in sorted(files, key=lambda p: p.stat().st_size, reverse=True):
        lightest = sizes.index(min(sizes))
        batches[lightest].append(path)
        sizes[lightest] += path.stat().st_size
    return [batch for batch in batches if batch]


def _run_batch(files: list[Path], check_ids: list[str]) -> tuple[list[CheckovRecord], str, dict]:
    """checkov over some stack files, run under the depfile recorder: also returns what its checks read."""
    with tempfile.TemporaryDirectory(prefix="policy-gate-checkov-") as workdir:
        record_file = Path(workdir) / "inputs.json"
        command = [sys.executable, "-m", "policies.depfile", str(record_file), "checkov.main",
                   "--framework", "terraform_json", "--skip-download", "--external-checks-dir", str(CHECKS_DIR),
                   "--check", ",".join(check_ids), "--output", "json"]
        for path in files:
            command += ["-f", str(path)]
        # Custom checks import the gate's catalog; a neutral working directory keeps any .checkov.yaml out.
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
               "LOG_LEVEL": "WARNING", "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            completed = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
        except OSError as error:
            raise ToolError(f"cannot run checkov: {error}") from None
        inputs = json.loads(record_file.read_text()) if record_file.exists() else None
    stderr_tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
    if "No module named 'checkov'" in completed.stderr:
        raise ToolError(f"checkov is not installed for {sys.executable}")
    if completed.returncode not in (0, 1) or inputs is None:
        raise ToolError(f"checkov exited with {completed.returncode}:\n{stderr_tail}")
    if any(marker in completed.stderr for marker in LOAD_FAILURE_MARKERS):
        raise ToolError(f"checkov could not load a custom check from {CHECKS_DIR}:\n{stderr_tail}")
    try:
        records, version = parse_report(completed.stdout)
    except ToolError as error:
        raise ToolError(f"{error}\n{stderr_tail}") from None
    except (KeyError, TypeError) as error:
        raise ToolError(f"checkov report has an unexpected shape ({error!r})") from None
    return records, version, inputs


class ScanCache:
    """checkov's findings per stack file, reused while the file, the checks and everything they read are unchanged.

    checkov builds its graph per file (a stack's checks never see another stack), so findings are a function of
    one file's content, the check ids, the checkov version (and the locked dependencies) and the files
    checkov's run read from the project (custom checks and the catalog/allow-list they load: the depfile
    record). An entry is named by all but the last and holds the record; it is used only while
    :func:`depfile.changed` finds nothing.
    """

    MAX_ENTRIES = 512

    def __init__(self, directory: Path, check_ids: list[str]):
        self.directory = Path(directory)
        lock = REPO_ROOT / "requirements.lock"
        self.salt = (f"{sys.version}\0{metadata.version('checkov')}\0{','.join(check_ids)}\0".encode()
                     + (lock.read_bytes() if lock.is_file() else b"") + b"\0")

    def _entry(self, path: Path) -> Path:
        # The stack's directory name too: checks scope by the stack's environment (policies/scope.py).
        stack = path.parent.name.encode() + b"\0"
        return self.directory / f"{hashlib.sha256(self.salt + stack + path.read_bytes()).hexdigest()}.json"

    def lookup(self, path: Path) -> tuple[list[CheckovRecord], str, dict] | None:
        entry = self._entry(path)
        try:
            cached = json.loads(entry.read_text())
        except (OSError, ValueError):
            return None
        if depfile.changed(cached["inputs"]):
            return None
        os.utime(entry)
        return [CheckovRecord(check_id=r["check_id"], check_name=r["check_name"], result=r["result"], file=path,
                              resource=r["resource"], evaluated_keys=tuple(r["evaluated_keys"]))
                for r in cached["records"]], cached["version"], cached["inputs"]

    def store(self, path: Path, records: list[CheckovRecord], version: str, inputs: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        rows = [{"check_id": r.check_id, "check_name": r.check_name, "result": r.result, "resource": r.resource,
                 "evaluated_keys": list(r.evaluated_keys)} for r in records if r.file == path]
        depfile.write_record(self._entry(path), {"records": rows, "version": version, "inputs": inputs})

    def prune(self) -> None:
        entries = sorted(self.directory.glob("*.json"), key=lambda e: e.stat().st_mtime, reverse=True)
        for stale in entries[self.MAX_ENTRIES:]:
            stale.unlink(missing_ok=True)


def run_checkov(files: Iterable[Path], check_ids: Iterable[str], workers: int | None = None,
                cache_dir: Path | None = None) -> CheckovRun:
    """One checkov process per CPU (each over a share of the files), all with the same checks.

    With ``cache_dir``, files whose findings are cached (:class:`ScanCache`) are not scanned again.
    """
    files, check_ids = [Path(f).resolve() for f in files], sorted(set(check_ids))
    if not files or not check_ids:
        return CheckovRun(records=(), version="not run", seconds=0.0)
    started = time.monotonic()
    cache = ScanCache(cache_dir, check_ids) if cache_dir is not None else None
    cached = {path: hit for path in files if cache is not None and (hit := cache.lookup(path)) is not None}
    pending = [path for path in files if path not in cached]
    results = []
    if pending:
        batches = _batches(pending, max(1, min(workers or os.cpu_count() or 1, len(pending))))
        with ThreadPoolExecutor(max_workers=len(batches)) as pool:
            results = list(pool.map(lambda batch: _run_batch(batch, check_ids), batches))
        if cache is not None:
            for batch, (batch_records, version, inputs) in zip(batches, results):
                for path in batch:
                    cache.store(path, batch_records, version, inputs)
            cache.prune()
    records = [record for batch_records, _, _ in results for record in batch_records]
    outcomes = [*results, *cached.values()]
    records += [record for hit_records, _, _ in cached.values() for record in hit_records]
    return CheckovRun(records=tuple(records), version=", ".join(sorted({version for _, version, _ in outcomes})),
                      seconds=time.monotonic() - started, scanned=tuple(pending), reused=tuple(cached),
                      inputs=depfile.merge(*(inputs for _, _, inputs in outcomes)))
