"""Deploy rehearsal: apply one environment's synthesized (and gated) stacks, unchanged, to an AWS emulator.

    python -m tools.rehearse [--env dev] [--synth-dir cdktf.out] [--backend local|s3] [--work-dir DIR] [--keep]
                             [--skip-real-account-checks]

Runs the deploy path of ``make deploy`` (tools/deploy.py) with moto as the target: the preflight, then for every
stack in dependency order init, plan -out, the plan summary, the gate's rules over the plan, and an apply of the
saved plan. The preflight's real-account checks (placeholders, account and region of ARNs, CA bundles) cannot
pass against an emulator: ``--skip-real-account-checks`` leaves them out, and the report says so and lists them.
Starts moto on 127.0.0.1 (random free port), applies every stack of the environment in dependency order,
runs smoke checks against the emulator's APIs, plans every stack again (any change not explained by an
emulator quirk in tools/rehearsal_quirks.yaml is drift), destroys the stacks in reverse order and checks
that nothing is left. With ``--backend s3`` state lives in an emulated, KMS-encrypted bucket and the
rehearsal also proves that a second terraform on a stack is refused while the first holds the lock.
The emulator is stopped on every exit path. See README "Deploy rehearsal".

Exit codes: 0 rehearsal passed; 1 rehearsal failed (preflight, plan, plan gate, apply, smoke check, drift,
destroy, leftovers, locking, or an interruption); 2 usage or tooling error (nothing synthesized, terraform or moto
unavailable).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

from app.config import ConfigError, EnvironmentConfig, load_environments
from tools import preflight, terraform_cli
from tools.arguments import add_environment_option
from tools.deploy import Deployment
from tools.plan_gate import PlanGate
from tools.rehearsal import drift, leftovers, remote_state, smoke
from tools.rehearsal.emulator import Emulator, EmulatorError, EmulatorUnavailable
from tools.rehearsal.stacks import Stack, UsageError, external_references, load_stacks
from tools.rehearsal.workspace import (
    LocalBackend,
    S3Backend,
    Terraform,
    managed_resources,
    prepare_working_copy,
)
from tools.terraform_runner import Result

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def since(started: float) -> float:
    return time.monotonic() - started


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP: unwind through every ``finally`` so that the emulator is stopped."""


def _raise_interrupted(signum, _frame) -> None:
    raise Interrupted(signal.Signals(signum).name)


@dataclass
class Phase:
    name: str
    stack: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Report:
    phases: list[Phase] = field(default_factory=list)
    resources: dict[str, int] = field(default_factory=dict)
    checks: list[smoke.CheckResult] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    preflight: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)

    def record(self, name: str, stack: str, seconds: float, ok: bool, detail: str = "") -> bool:
        self.phases.append(Phase(name, stack, seconds, ok, detail))
        if not ok:
            self.failures.append(f"{name} {stack}: {detail}".rstrip())
        return ok

    @property
    def passed(self) -> bool:
        return not self.failures


class Rehearsal:
    def __init__(self, stacks: list[Stack], config: EnvironmentConfig, backend: str, run_dir: Path, *,
                 quirks: list[drift.Quirk], skip_real_account_checks: bool = False):
        self.stacks = stacks
        self.quirks = quirks
        self.config = config
        self.skip_real_account_checks = skip_real_account_checks
        self.backend_kind = backend
        self.run_dir = run_dir
        self.work_dir = run_dir / "stacks"
        self.log_dir = run_dir / "logs"
        self.report = Report()
        self.emulator = Emulator(run_dir, external_references(stacks), config.region)
        self.terraform: dict[str, Terraform] = {}

    def run(self) -> Report:
        for directory in (self.work_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
        if not self._preflight():
            return self.report
        started = time.monotonic()
        self.emulator.start()  # EmulatorUnavailable: nothing to stop, exit code 2
        print(f"emulator: pid {self.emulator.pid} on {self.emulator.endpoint}", flush=True)
        self.report.record("emulator start", "", since(started), True, self.emulator.endpoint)
        try:
            backend = self._backend()
            applied = self._apply_all(backend)
            complete = self.report.passed and len(applied) == len(self.stacks)
            if complete:
                self._plan_all()
                self._smoke()
                if isinstance(backend, S3Backend):
                    self._remote_state(backend)
            self._destroy_all(applied)
            if complete and all(p.ok for p in self.report.phases if p.name == "destroy"):
                self._leftovers(backend)
        except (EmulatorError, RuntimeError, subprocess.TimeoutExpired, ClientError) as error:
            # The rehearsal cannot go on (emulator gone, terraform hung or unreadable): report, then stop it.
            self.report.failures.append(f"{type(error).__name__}: {error}")
        finally:
            self.emulator.stop()
        return self.report

    def _preflight(self) -> bool:
        started = time.monotonic()
        verdict = preflight.check(self.config, skip_real_account_checks=self.skip_real_account_checks)
        self.report.preflight = verdict.lines(self.config.environment)
        detail = (f"{len(verdict.findings)} thing(s) to change" if not verdict.ready else "ready") + (
            f"; real-account checks SKIPPED ({len(verdict.skipped)} finding(s) not counted)"
            if self.skip_real_account_checks else "")
        return self.report.record("preflight", self.config.environment, since(started), verdict.ready, detail)

    def _backend(self) -> LocalBackend | S3Backend:
        if self.backend_kind == "local":
            state_dir = self.run_dir / "state"
            state_dir.mkdir(exist_ok=True)
            return LocalBackend(state_dir)
        started = time.monotonic()
        backend = remote_state.create_state_bucket(self.emulator, self.config)
        detail = f"s3://{backend.bucket} (KMS {backend.kms_key_id})"
        self.report.record("state bucket", "", since(started), True, detail)
        return backend

    def _apply_all(self, backend: LocalBackend | S3Backend) -> list[Stack]:
        """Apply in order, stopping at the first failure (later stacks read its outputs); returns the stacks that
        were (maybe partly) applied, for destroy."""
        applied: list[Stack] = []
        started = time.monotonic()
        gate = PlanGate([stack.config_file for stack in self.stacks])
        self.report.record("plan gate load", "", since(started), True, f"{len(self.stacks)} stack(s) evaluated")

        def workspace(stack: Stack) -> Terraform:
            directory = prepare_working_copy(stack, self.work_dir, self.emulator.endpoint, backend)
            terraform = self.terraform[stack.name] = Terraform(directory, self.log_dir)
            return terraform

        # The lock is the run's own: a held one is a failure, not something to wait for.
        deployment = Deployment(self.stacks, workspace, gate, lock_timeout="0s")
        for stack in self.stacks:
            started = time.monotonic()
            planned = deployment.plan(stack)
            self.emulator.ensure_running()
            self.report.plans.extend(planned.lines())
            detail = planned.summary.headline if planned.ok else "\n".join(planned.lines()[1:])
            if not self.report.record("plan", stack.name, since(started), planned.ok, detail):
                break
            started = time.monotonic()
            apply = deployment.apply(planned)
            terraform = planned.terraform
            self.emulator.ensure_running()
            applied.append(stack)
            if not apply.ok:
                self.report.record("apply", stack.name, since(started), False, apply.errors())
                break
            count = len(managed_resources(terraform.show_json("state")))
            self.report.resources[stack.name] = count
            self.report.record("apply", stack.name, since(started), True, f"{count} resources")
        return applied

    def _plan_all(self) -> None:
        """One plan per stack, in parallel (plans only read), each judged against the quirks."""
        used: set[drift.Quirk] = set()

        def timed_plan(stack: Stack) -> tuple[Result, float]:
            started = time.monotonic()
            return self.terraform[stack.name].plan("drift-plan", "drift.tfplan"), since(started)

        with ThreadPoolExecutor(max_workers=len(self.stacks)) as pool:
            plans = list(pool.map(timed_plan, self.stacks))
        for stack, (plan, seconds) in zip(self.stacks, plans):
            terraform = self.terraform[stack.name]
            if plan.returncode == 0:
                self.report.record("drift plan", stack.name, seconds, True, "no changes")
                continue
            if plan.returncode != 2:
                self.report.record("drift plan", stack.name, seconds, False, plan.errors())
                continue
            verdict = drift.judge(drift.planned_changes(terraform.show_json("plan-json", "drift.tfplan")),
                                  self.quirks)
            used |= verdict.quirks_used
            self.report.tolerated.extend(f"{stack.name}: {line}" for line in verdict.tolerated)
            detail = "; ".join(verdict.drift) or f"only emulator quirks ({len(verdict.tolerated)})"
            self.report.record("drift plan", stack.name, seconds, not verdict.drift, detail)
        applied_types = set().union(*(stack.resource_types() for stack in self.stacks))
        for quirk in self.quirks:
            if quirk.resource_type in applied_types and quirk not in used:
                print(f"note: quirk {quirk.resource_type}.{quirk.attribute} did not occur in this rehearsal; "
                      "remove it from the allow-list if the emulator no longer shows it")

    def _smoke(self) -> None:
        started = time.monotonic()
        results = smoke.run_checks(self.emulator, self.config, self.stacks, self.terraform)
        self.report.checks.extend(results)
        failed = [r for r in results if not r.ok]
        detail = "; ".join(f"{r.name}: {r.message}" for r in failed) or f"{len(results)} checks passed"
        self.report.record("smoke checks", "", since(started), not failed, detail)

    def _remote_state(self, backend: S3Backend) -> None:
        started = time.monotonic()
        problems = remote_state.check_encrypted_state(self.emulator, backend, [s.name for s in self.stacks])
        self.report.record("state encrypted", "", since(started), not problems, "; ".join(problems))
        stack = self.stacks[0].name
        started = time.monotonic()
        problems = remote_state.check_lock_refuses_second_run(self.emulator, backend, self.terraform[stack])
        detail = "; ".join(problems) or "a concurrent plan and apply were refused"
        self.report.record("state lock", stack, since(started), not problems, detail)

    def _destroy_all(self, applied: list[Stack]) -> None:
        for stack in reversed(applied):
            terraform = self.terraform[stack.name]
            started = time.monotonic()
            notes = [self._empty_buckets(terraform)]
            result = terraform.destroy()
            # A log bucket keeps receiving access logs until the bucket it logs is gone, which happens within the
            # same destroy; so, as in a real teardown, it is emptied once more and the destroy run again.
            if not result.ok and "BucketNotEmpty" in result.log.read_text():
                notes += ["destroyed again after the log buckets filled during the first run",
                          self._empty_buckets(terraform)]
                result = terraform.destroy()
            self.emulator.ensure_running()
            detail = "; ".join(n for n in notes if n) if result.ok else result.errors()
            self.report.record("destroy", stack.name, since(started), result.ok, detail)

    def _empty_buckets(self, terraform: Terraform) -> str:
        """Buckets without force_destroy (all of ours, by design) must be emptied before a destroy, as an operator
        would: the service-log bucket holds the S3 access logs the emulator wrote for the rehearsal's own
        requests to the audit bucket. Nothing is deleted past an Object Lock retention."""
        notes = []
        for resource in managed_resources(terraform.show_json("destroy-state")):
            values = resource.get("values", {})
            if resource["type"] == "aws_s3_bucket" and not values.get("force_destroy"):
                deleted = leftovers.empty_bucket(self.emulator, values["bucket"])
                if deleted:
                    notes.append(f"emptied s3://{values['bucket']} ({deleted} objects)")
        return "; ".join(notes)

    def _leftovers(self, backend: LocalBackend | S3Backend) -> None:
        started = time.monotonic()
        owned = remote_state.owned_identifiers(backend) if isinstance(backend, S3Backend) else set()
        found = leftovers.find_leftovers(self.emulator, owned)
        self.report.record("leftovers", "", since(started), not found, "; ".join(found) or "nothing left")


def print_summary(report: Report, run_dir: Path, total: float) -> None:
    print("\n== rehearsal summary ==")
    print("\n".join(report.preflight))
    if report.plans:
        print("\n".join(["plans (applied as saved):", *("  " + line for line in report.plans)]))
    width = max((len(p.stack) for p in report.phases), default=0)
    for phase in report.phases:
        mark = "ok  " if phase.ok else "FAIL"
        detail = phase.detail.splitlines()[0] if phase.detail and phase.ok else ""
        print(f"{mark} {phase.name:15} {phase.stack:{width}} {phase.seconds:7.1f}s  {detail}".rstrip())
    if report.checks:
        passed = sum(1 for c in report.checks if c.ok)
        print(f"\nsmoke checks: {passed}/{len(report.checks)} passed")
        for check in report.checks:
            print(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.message}")
    if report.tolerated:
        print(f"\nemulator quirks tolerated by the drift plans ({len(report.tolerated)}; tools/rehearsal_quirks.yaml):")
        for line in report.tolerated:
            print(f"  {line}")
    print(f"\nstacks: {len(report.resources)} applied, {sum(report.resources.values())} resources; "
          f"total {total:.0f}s; logs and working copies in {run_dir}")
    if report.failures:
        print("\nREHEARSAL FAILED:")
        for failure in report.failures:
            print("  " + failure.replace("\n", "\n    "))
    else:
        print("rehearsal passed")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.rehearse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_environment_option(parser, default="dev")
    parser.add_argument("--synth-dir", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--backend", choices=("local", "s3"), default="local")
    parser.add_argument("--work-dir", type=Path, help="where to put working copies, state and logs (default: a "
                        "new temporary directory, removed after a passing rehearsal unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory after a passing rehearsal")
    parser.add_argument("--skip-real-account-checks", action="store_true", help="leave out the preflight checks "
                        "that only a real AWS account can pass (the report lists what was skipped)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    try:
        stacks = load_stacks(args.synth_dir, args.env)
        config = load_environments(names=(args.env,))[0]
        quirks = drift.load_quirks()
        terraform_cli.terraform_binary()
    except (UsageError, ConfigError, drift.QuirksError, terraform_cli.TerraformUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix=f"rehearsal-{args.env}-", dir=args.work_dir))
    else:
        run_dir = Path(tempfile.mkdtemp(prefix=f"payments-rehearsal-{args.env}-"))
    handlers = {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    started = time.monotonic()
    rehearsal = Rehearsal(stacks, config, args.backend, run_dir.resolve(), quirks=quirks,
                          skip_real_account_checks=args.skip_real_account_checks)
    print(f"rehearsing {', '.join(s.name for s in stacks)} on moto ({args.backend} state) in {run_dir}", flush=True)
    try:
        report = rehearsal.run()
    except Interrupted as interruption:
        rehearsal.report.failures.append(f"interrupted by {interruption}; the emulator was stopped")
        report = rehearsal.report
    except (UsageError, EmulatorUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        rehearsal.emulator.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    print_summary(report, run_dir, time.monotonic() - started)
    if report.passed and not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    return EXIT_OK if report.passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
