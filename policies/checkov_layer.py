"""The checkov layer: custom checks (``policies/controls/<area>/checks``) and the curated built-ins, in one
checkov run.

checkov runs in subprocesses of the same Python (a crash cannot take the gate down with it, and its global
check registries start clean) over the explicit list of stack files (``-f``): the run covers exactly the
stacks the gate hashed and never wanders into ``.terraform/`` directories. Its graph is built per file, so
a stack's checks never see another stack's resources (checked by the tests), which also lets the files be
split between one process per CPU.

Anything that would make the run silently partial is a :class:`ToolError` (exit 2): checkov missing or
crashing, output that is not its JSON report, a stack it could not parse, a custom check it could not load.
Checks that produce no result for a resource are caught by the gate's coverage verification.

Each checkov process leads its own process group. A run that exceeds the timeout (``--checkov-timeout``,
``$POLICY_GATE_CHECKOV_TIMEOUT``, default :data:`DEFAULT_TIMEOUT` s, ~20 times a cold full scan) is killed with
all its children, and so is every running one when the gate receives SIGINT or SIGTERM; either way the gate
exits 2 and leaves no process or temporary directory behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

from policies import depfile
from policies.catalog import AREA_CHECKS, CONTROLS_DIR, REPO_ROOT

# The custom checks live with their controls, one directory per area (policies/controls/<area>/checks).
CHECKS_GLOB = f"*/{AREA_CHECKS}"


def checks_dirs(directory: Path = CONTROLS_DIR) -> list[Path]:
    """Every area's custom checks directory, each passed to checkov as an --external-checks-dir."""
    return sorted(path for path in directory.glob(CHECKS_GLOB) if path.is_dir())


RESULT_KEYS = {"passed_checks": "PASSED", "failed_checks": "FAILED", "skipped_checks": "SKIPPED"}
# What checkov logs (and then carries on without the check) when a custom Python or graph check cannot load.
LOAD_FAILURE_MARKERS = ("Cannot load external check", "Custom policy ", "Failed to parse check id",
                        "is not Dict. Skipping")
DEFAULT_TIMEOUT = 1200.0
TIMEOUT_VARIABLE = "POLICY_GATE_CHECKOV_TIMEOUT"


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
    # depfile record: what the checkov runs read from the project
    inputs: depfile.Record = field(default_factory=lambda: depfile.Record(files={}, listings={}))


def _reports(stdout: str) -> list[dict[str, Any]]:
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


class _Processes:
    """The checkov process groups of one run, so that a timeout or a signal can end every one of them."""

    def __init__(self) -> None:
        self.running: set[subprocess.Popen[str]] = set()
        self.lock = threading.Lock()
        self.stopped: str | None = None

    def start(self, command: list[str], **options: Any) -> subprocess.Popen[str]:
        with self.lock:
            if self.stopped:
                raise ToolError(f"checkov not started: {self.stopped}")
            process = subprocess.Popen(command, start_new_session=True, **options)
            self.running.add(process)
            return process

    def finish(self, process: subprocess.Popen[str]) -> None:
        with self.lock:
            self.running.discard(process)

    def stop(self, reason: str) -> None:
        """Kill every running checkov with its children; no new one starts. Safe in a signal handler (no lock:
        the interrupted thread may hold it)."""
        self.stopped = reason
        for process in list(self.running):
            kill_group(process)


def kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the group id is the leader's pid (start_new_session)


def _run_batch(files: list[Path], check_ids: list[str], processes: _Processes,
               timeout: float) -> tuple[list[CheckovRecord], str, dict[str, Any]]:
    """checkov over some stack files, run under the depfile recorder: also returns what its checks read."""
    with tempfile.TemporaryDirectory(prefix="policy-gate-checkov-") as workdir:
        record_file = Path(workdir) / "inputs.json"
        command = [sys.executable, "-m", "policies.depfile", str(record_file), "checkov.main",
                   "--framework", "terraform_json", "--skip-download",
                   *[argument for path in checks_dirs() for argument in ("--external-checks-dir", str(path))],
                   "--check", ",".join(check_ids), "--output", "json"]
        for path in files:
            command += ["-f", str(path)]
        # Custom checks import the gate's catalog; a neutral working directory keeps any .checkov.yaml out.
        # TMPDIR inside the work directory: whatever checkov leaves there goes with it.
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
               "LOG_LEVEL": "WARNING", "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": workdir}
        try:
            process = processes.start(command, cwd=workdir, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
        except OSError as error:
            raise ToolError(f"cannot run checkov: {error}") from None
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            process.communicate()
            raise ToolError(f"checkov did not finish within {timeout:g} s and was stopped (raise the limit with "
                            f"--checkov-timeout or ${TIMEOUT_VARIABLE} if the synth is that large)") from None
        finally:
            kill_group(process)  # its children too, even when checkov itself has exited
            processes.finish(process)
        if processes.stopped:
            raise ToolError(f"checkov stopped: {processes.stopped}")
        inputs = json.loads(record_file.read_text()) if record_file.exists() else None
    stderr_tail = "\n".join(stderr.strip().splitlines()[-15:])
    if "No module named 'checkov'" in stderr:
        raise ToolError(f"checkov is not installed for {sys.executable}")
    if process.returncode not in (0, 1) or inputs is None:
        raise ToolError(f"checkov exited with {process.returncode}:\n{stderr_tail}")
    if any(marker in stderr for marker in LOAD_FAILURE_MARKERS):
        raise ToolError(f"checkov could not load a custom check from {CONTROLS_DIR}/{CHECKS_GLOB}:\n{stderr_tail}")
    try:
        records, version = parse_report(stdout)
    except ToolError as error:
        raise ToolError(f"{error}\n{stderr_tail}") from None
    except (KeyError, TypeError) as error:
        raise ToolError(f"checkov report has an unexpected shape ({error!r})") from None
    return records, version, inputs


@contextlib.contextmanager
def _stopped_by_signals(processes: _Processes) -> Iterator[None]:
    """SIGINT/SIGTERM kill every checkov of the run, then end the run with a ToolError (exit 2). Signal
    handlers can only be installed from the main thread; elsewhere the caller's own handling applies."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        processes.stop(f"the gate received {signal.Signals(signum).name}")
        raise ToolError(f"interrupted by {signal.Signals(signum).name}; checkov stopped")

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def timeout_from_environment() -> float:
    raw = os.environ.get(TIMEOUT_VARIABLE)
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        timeout = float(raw)
    except ValueError:
        timeout = 0.0
    if not 0 < timeout < float("inf"):
        raise ToolError(f"${TIMEOUT_VARIABLE}={raw[:40]!r}: expected a positive number of seconds")
    return timeout


def checkov_version() -> str:
    try:
        return metadata.version("checkov")
    except metadata.PackageNotFoundError:
        raise ToolError(f"checkov is not installed for {sys.executable} (no package metadata)") from None


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
        self.salt = (f"{sys.version}\0{checkov_version()}\0{','.join(check_ids)}\0".encode()
                     + (lock.read_bytes() if lock.is_file() else b"") + b"\0")

    def _entry(self, path: Path) -> Path:
        # The stack's directory name too: checks scope by the stack's environment (policies/scope.py).
        stack = path.parent.name.encode() + b"\0"
        return self.directory / f"{hashlib.sha256(self.salt + stack + path.read_bytes()).hexdigest()}.json"

    def lookup(self, path: Path) -> tuple[list[CheckovRecord], str, dict[str, Any]] | None:
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

    def store(self, path: Path, records: list[CheckovRecord], version: str, inputs: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        rows = [{"check_id": r.check_id, "check_name": r.check_name, "result": r.result, "resource": r.resource,
                 "evaluated_keys": list(r.evaluated_keys)} for r in records if r.file == path]
        depfile.write_record(self._entry(path), {"records": rows, "version": version, "inputs": inputs})

    def prune(self) -> None:
        entries = sorted(self.directory.glob("*.json"), key=lambda e: e.stat().st_mtime, reverse=True)
        for stale in entries[self.MAX_ENTRIES:]:
            stale.unlink(missing_ok=True)


def run_checkov(files: Iterable[Path], check_ids: Iterable[str], workers: int | None = None,
                cache_dir: Path | None = None, timeout: float | None = None) -> CheckovRun:
    """One checkov process per CPU (each over a share of the files), all with the same checks.

    With ``cache_dir``, files whose findings are cached (:class:`ScanCache`) are not scanned again. Each
    process is stopped after ``timeout`` seconds (default: :func:`timeout_from_environment`).
    """
    files, check_ids = [Path(f).resolve() for f in files], sorted(set(check_ids))
    if not files or not check_ids:
        return CheckovRun(records=(), version="not run", seconds=0.0)
    started = time.monotonic()
    timeout = timeout if timeout is not None else timeout_from_environment()
    checkov_version()
    cache = ScanCache(cache_dir, check_ids) if cache_dir is not None else None
    cached = {path: hit for path in files if cache is not None and (hit := cache.lookup(path)) is not None}
    pending = [path for path in files if path not in cached]
    results = []
    if pending:
        batches = _batches(pending, max(1, min(workers or os.cpu_count() or 1, len(pending))))
        processes = _Processes()
        with _stopped_by_signals(processes), ThreadPoolExecutor(max_workers=len(batches)) as pool:
            try:
                results = list(pool.map(lambda batch: _run_batch(batch, check_ids, processes, timeout), batches))
            except BaseException as error:  # one batch failed or a signal arrived: end the others now
                processes.stop(f"another checkov run failed ({error.__class__.__name__})")
                raise
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
