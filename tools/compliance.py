"""``make compliance``: synth -> terraform validate + policy gate, each redone only when its inputs changed.

    python -m tools.compliance [--stage synth|validate|gate|all] [--synth-dir cdktf.out]
                               [--report-dir compliance_reports] [--baseline FILE] [--pdf] [--force]

Every stage is keyed on content, never on modification times (``touch`` changes nothing, a checkout that
restores a file's old content reuses the old result):

- **synth** runs under the depfile recorder (:mod:`policies.depfile`): its stamp holds the hash of every
  project file it read (app, Lambda sources, environment files, the catalog and register the PCI aspect
  loads) and directory it listed, the lock file, the interpreter, the exception entries already expired
  (the aspect accepts only unexpired ones), the environments, and the hash of the output it produced. The
  synth is reused while all of them match, so a hand-edited ``cdktf.out/`` is synthesized again too.
- **validate**: one stamp per stack, named by the hash of its ``cdk.tf.json``, the provider lock and the
  terraform binary (:mod:`tools.validate_stacks`): after a change only the stacks whose JSON changed are
  validated.
- **gate**: checkov findings are cached per stack file (``policies.checkov_layer.ScanCache``); the whole
  gate result is reused while the synth output, every project file the gate and checkov read, the options
  and the date (reports count days to exception expiry) are unchanged, and its reports are intact. The gate
  is told every environment the run synthesizes (``--environments``: a synth missing one is refused) and
  accepts only a synth exactly as the synth stage wrote it (``--require-provenance``).

Validate and the gate are independent once the synth exists and run concurrently. Caches live in .cache/
(``make clean`` removes them); ``--force`` ignores every cache.

One run at a time per tree: the run holds an ``fcntl`` lock on ``.cache/compliance.lock``; a second run
says which process holds it and waits, for at most ``--lock-timeout`` seconds (default 1800), then gives up
with exit 2 having touched nothing.

Exit codes: the worst of the stages run: 0 compliant; 1 synth failed (a control violated at synth time), a
stack is invalid or the gate found a noncompliant control; 2 configuration, usage or tooling error.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.config import KNOWN_ENVIRONMENTS
from policies import depfile

REPO_ROOT = depfile.REPO_ROOT
CACHE_DIR = REPO_ROOT / ".cache"
STAGES_DIR = CACHE_DIR / "stages"
CHECKOV_CACHE = CACHE_DIR / "checkov"
LOCK_FILE = REPO_ROOT / "requirements.lock"
LOCK_PATH = CACHE_DIR / "compliance.lock"
DEFAULT_LOCK_TIMEOUT = 1800.0
STAGES = ("synth", "validate", "gate", "all")
EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


class LockTimeout(Exception):
    """Another run kept the tree's lock for longer than this run would wait."""


@contextlib.contextmanager
def tree_lock(path: Path = LOCK_PATH, timeout: float = DEFAULT_LOCK_TIMEOUT, say=print):
    """Hold the tree's compliance lock (``fcntl.flock``, released by the kernel if the holder dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        deadline, told = time.monotonic() + timeout, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    handle.seek(0)
                    holder = handle.read(40).strip() or "unknown"
                    say(f"another make compliance is running on this tree (pid {holder}, lock {path}); waiting "
                        f"up to {timeout:g} s for it to finish", flush=True)
                    told = True
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"another make compliance (pid {holder}) still holds {path} after {timeout:g} s;"
                                      " nothing was run") from None
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class StageResult:
    name: str
    exit_code: int
    seconds: float
    reused: bool
    detail: str = ""
    output: list[str] = field(default_factory=list)


def tree_digest(directory: Path) -> str:
    """Hash of every file below a directory: relative paths and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _stamp_file(stage: str, directory: Path) -> Path:
    return STAGES_DIR / f"{stage}-{hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]}.json"


def _read_stamp(path: Path) -> dict | None:
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _write_stamp(path: Path, stamp: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    depfile.write_record(path, {**stamp, "finished_at": dt.datetime.now(dt.timezone.utc).isoformat()})


def expired_exceptions(today: dt.date) -> list[int] | str:
    """Register entries the PCI aspect no longer accepts today (the only way the date changes a synth)."""
    from policies.register import RegisterError, load_register

    try:
        register = load_register()
    except RegisterError as error:
        return f"unreadable register: {error}"
    # Past its expiry, or approved on a date still to come: both change with the date alone.
    return [entry.index for entry in register.entries
            if (entry.expires is not None and entry.expires < today)
            or (entry.approved is not None and entry.approved > today)]


def synth_key(environments: list[str], today: dt.date) -> dict:
    return {"environments": environments, "lock": _file_digest(LOCK_FILE), "python": sys.version,
            "expired_exceptions": expired_exceptions(today)}


def synth_is_current(stamp: dict | None, key: dict, synth_dir: Path, root: Path = REPO_ROOT) -> list[str]:
    """Why the synth must run again (empty: the stamped output is current)."""
    if stamp is None:
        return ["no previous synth"]
    if stamp.get("key") != key:
        return [f"{name} changed" for name in key if stamp.get("key", {}).get(name) != key[name]]
    if not (synth_dir / "manifest.json").is_file() or tree_digest(synth_dir) != stamp.get("output"):
        return [f"{synth_dir} is missing or was modified"]
    return depfile.changed(stamp.get("inputs", {}), root)


def run_synth(synth_dir: Path, environments: list[str], force: bool, today: dt.date) -> StageResult:
    started = time.monotonic()
    stamp_file = _stamp_file("synth", synth_dir)
    key = synth_key(environments, today)
    reasons = ["--force"] if force else synth_is_current(_read_stamp(stamp_file), key, synth_dir)
    if not reasons:
        return StageResult("synth", EXIT_OK, time.monotonic() - started, True, "inputs unchanged")
    stamp_file.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="synth-inputs-") as workdir:
        record_file = Path(workdir) / "inputs.json"
        command = [sys.executable, "-m", "policies.depfile", str(record_file), "app.main",
                   "--outdir", str(synth_dir.resolve())]
        for environment in environments:
            command += ["--env", environment]
        print(f"synth: {_reasons(reasons)}", flush=True)
        code = subprocess.run(command, cwd=REPO_ROOT, check=False).returncode
        if code == EXIT_OK:
            _write_stamp(stamp_file, {"key": key, "inputs": json.loads(record_file.read_text()),
                                      "output": tree_digest(synth_dir)})
    return StageResult("synth", code, time.monotonic() - started, False, _reasons(reasons))


def _reasons(reasons: list[str]) -> str:
    return ", ".join(reasons[:3]) + (f" and {len(reasons) - 3} more" if len(reasons) > 3 else "")


def run_validate(synth_dir: Path, force: bool) -> StageResult:
    from tools import terraform_cli
    from tools.validate_stacks import report, validate_all

    started = time.monotonic()
    try:
        results = validate_all(synth_dir, use_cache=not force)
    except (FileNotFoundError, ValueError, terraform_cli.TerraformUnavailable) as error:
        return StageResult("validate", EXIT_ERROR, time.monotonic() - started, False, str(error),
                           [f"error: {error}"])
    lines: list[str] = []
    code = report(results, lines.append)
    fresh = sum(not result.cached for result in results)
    detail = f"{fresh} of {len(results)} stacks validated" if fresh else f"{len(results)} stacks unchanged"
    return StageResult("validate", code, time.monotonic() - started, fresh == 0, detail,
                       lines if fresh or code else [lines[-1]])


def gate_key(synth_dir: Path, report_dir: Path, baseline: Path | None, pdf: bool, today: dt.date,
             environments: tuple[str, ...] = (), require_provenance: bool = False) -> dict:
    return {"date": today.isoformat(), "synth_dir": str(synth_dir.resolve()), "synth": tree_digest(synth_dir),
            "report_dir": str(report_dir.resolve()), "pdf": pdf,
            "baseline": _file_digest(baseline) if baseline else None, "lock": _file_digest(LOCK_FILE),
            "python": sys.version, "environments": list(environments), "require_provenance": require_provenance}


def gate_is_current(stamp: dict | None, key: dict, report_dir: Path, root: Path = REPO_ROOT) -> list[str]:
    """Why the gate must run again (empty: the stamped verdict and reports are current)."""
    if stamp is None:
        return ["no previous gate run"]
    if stamp.get("key") != key:
        return [f"{name} changed" for name in key if stamp.get("key", {}).get(name) != key[name]]
    if any(_file_digest(report_dir / name) != digest for name, digest in stamp.get("reports", {}).items()):
        return [f"reports in {report_dir} are missing or were modified"]
    return depfile.changed(stamp.get("inputs", {}), root)


def run_gate(synth_dir: Path, report_dir: Path, baseline: Path | None, pdf: bool, force: bool,
             today: dt.date, environments: tuple[str, ...] = (), require_provenance: bool = False) -> StageResult:
    """The gate stage; ``environments`` and ``require_provenance`` are passed on to the gate (make compliance:
    every synthesized environment, and only a synth exactly as the synth stage wrote it)."""
    started = time.monotonic()
    if not (synth_dir / "manifest.json").is_file():
        return StageResult("gate", EXIT_ERROR, 0.0, False, "no synth", [f"error: no synth in {synth_dir}"])
    stamp_file = _stamp_file("gate", report_dir)
    key = gate_key(synth_dir, report_dir, baseline, pdf, today, environments, require_provenance)
    stamp = _read_stamp(stamp_file)
    reasons = ["--force"] if force else gate_is_current(stamp, key, report_dir)
    if not reasons:
        summary = (report_dir / "summary.md").read_text()
        return StageResult("gate", stamp["exit_code"], time.monotonic() - started, True,
                           f"inputs unchanged since {stamp['finished_at']}",
                           [summary.rstrip(), f"\nreports in {report_dir} are current (same synth, policies, "
                            f"options and date as the run finished at {stamp['finished_at']})"])
    stamp_file.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="gate-inputs-") as workdir:
        record_file = Path(workdir) / "inputs.json"
        # Absolute paths: the gate runs in the repository, the caller may be anywhere.
        command = [sys.executable, "-m", "policies", "gate", "--synth-dir", str(synth_dir.resolve()),
                   "--report-dir", str(report_dir.resolve()), "--record-inputs", str(record_file)]
        command += [] if force else ["--checkov-cache", str(CHECKOV_CACHE)]
        command += (["--baseline", str(baseline.resolve())] if baseline else []) + (["--pdf"] if pdf else [])
        command += (["--environments", ",".join(environments)] if environments else []) + (
            ["--require-provenance"] if require_provenance else [])
        completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        if completed.returncode in (EXIT_OK, EXIT_FAILED) and record_file.exists():
            written = json.loads((report_dir / "results.json").read_text())
            reports = {path.name: _file_digest(path) for path in sorted(report_dir.iterdir())
                       if path.is_file() and path.name != "README.md"}
            if written["run"]["exit_code"] == completed.returncode:
                _write_stamp(stamp_file, {"key": key, "inputs": json.loads(record_file.read_text()),
                                          "exit_code": completed.returncode, "reports": reports})
    output = [completed.stdout.rstrip()] + ([completed.stderr.rstrip()] if completed.stderr.strip() else [])
    return StageResult("gate", completed.returncode, time.monotonic() - started, False, _reasons(reasons), output)


def run(stage: str, synth_dir: Path, report_dir: Path, environments: list[str], baseline: Path | None = None,
        pdf: bool = False, force: bool = False, today: dt.date | None = None) -> list[StageResult]:
    today = today or dt.datetime.now(dt.timezone.utc).date()
    synth = run_synth(synth_dir, environments, force, today)
    results = [synth]
    if synth.exit_code != EXIT_OK or stage == "synth":
        return results
    parallel: dict[str, StageResult] = {}
    workers = []
    if stage in ("validate", "all"):
        workers.append(threading.Thread(target=lambda: parallel.update(validate=run_validate(synth_dir, force))))
    if stage in ("gate", "all"):
        expected = tuple(environments) or KNOWN_ENVIRONMENTS
        workers.append(threading.Thread(target=lambda: parallel.update(
            gate=run_gate(synth_dir, report_dir, baseline, pdf, force, today, expected, require_provenance=True))))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results + [parallel[name] for name in ("validate", "gate") if name in parallel]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.compliance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=STAGES, default="all")
    parser.add_argument("--synth-dir", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--report-dir", type=Path, default=Path("compliance_reports"))
    parser.add_argument("--env", action="append", dest="environments", default=[],
                        help="environment to synthesize (repeatable; default: all)")
    parser.add_argument("--baseline", type=Path, help="a previous results.json to compare with (informational)")
    parser.add_argument("--pdf", action="store_true", help="also print report.pdf (headless Chromium)")
    parser.add_argument("--force", action="store_true", help="ignore every cache: synth, validate and scan again")
    parser.add_argument("--timings", type=Path, help="also write the stage timings as JSON to this file")
    parser.add_argument("--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT, metavar="SECONDS",
                        help="how long to wait for another run on this tree (default: %(default)g)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_ERROR if exit_.code else EXIT_OK
    if args.baseline and not args.baseline.is_file():
        print(f"error: --baseline {args.baseline}: no such file (give a results.json of a previous run)",
              file=sys.stderr)
        return EXIT_ERROR
    started = time.monotonic()
    try:
        with tree_lock(LOCK_PATH, timeout=args.lock_timeout):
            results = run(args.stage, args.synth_dir, args.report_dir, args.environments, args.baseline, args.pdf,
                          args.force)
    except LockTimeout as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    for result in results[1:]:
        print("\n".join(line for line in result.output if line))
    total = time.monotonic() - started
    stages = ", ".join(f"{r.name} {r.seconds:.1f}s ({'reused: ' if r.reused else ''}{r.detail})" for r in results)
    print(f"\n{args.stage}: {stages}; total {total:.1f}s")
    if args.timings:
        args.timings.write_text(json.dumps({"total": total, **{r.name: {"seconds": r.seconds, "reused": r.reused,
                                                                        "exit_code": r.exit_code}
                                                               for r in results}}, indent=1) + "\n")
    return max(result.exit_code for result in results)


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.exit(main())
