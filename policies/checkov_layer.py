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

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

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


def _run_batch(files: list[Path], check_ids: list[str]) -> tuple[list[CheckovRecord], str]:
    command = [sys.executable, "-m", "checkov.main", "--framework", "terraform_json", "--skip-download",
               "--external-checks-dir", str(CHECKS_DIR), "--check", ",".join(check_ids), "--output", "json"]
    for path in files:
        command += ["-f", str(path)]
    # Custom checks import the gate's catalog; a neutral working directory keeps any .checkov.yaml out.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           "LOG_LEVEL": "WARNING", "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="policy-gate-checkov-") as workdir:
        try:
            completed = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
        except OSError as error:
            raise ToolError(f"cannot run checkov: {error}") from None
    stderr_tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
    if "No module named 'checkov'" in completed.stderr:
        raise ToolError(f"checkov is not installed for {sys.executable}")
    if completed.returncode not in (0, 1):
        raise ToolError(f"checkov exited with {completed.returncode}:\n{stderr_tail}")
    if any(marker in completed.stderr for marker in LOAD_FAILURE_MARKERS):
        raise ToolError(f"checkov could not load a custom check from {CHECKS_DIR}:\n{stderr_tail}")
    try:
        return parse_report(completed.stdout)
    except ToolError as error:
        raise ToolError(f"{error}\n{stderr_tail}") from None
    except (KeyError, TypeError) as error:
        raise ToolError(f"checkov report has an unexpected shape ({error!r})") from None


def run_checkov(files: Iterable[Path], check_ids: Iterable[str], workers: int | None = None) -> CheckovRun:
    """One checkov process per CPU (each over a share of the files), all with the same checks."""
    files, check_ids = [Path(f).resolve() for f in files], sorted(set(check_ids))
    if not files or not check_ids:
        return CheckovRun(records=(), version="not run", seconds=0.0)
    started = time.monotonic()
    batches = _batches(files, max(1, min(workers or os.cpu_count() or 1, len(files))))
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        results = list(pool.map(lambda batch: _run_batch(batch, check_ids), batches))
    records = [record for batch_records, _ in results for record in batch_records]
    versions = sorted({version for _, version in results})
    return CheckovRun(records=tuple(records), version=", ".join(versions), seconds=time.monotonic() - started)
