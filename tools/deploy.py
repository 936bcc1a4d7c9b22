"""``make plan ENV=<env>`` / ``make deploy ENV=<env>``: the one path from a gated synth to applied stacks.

    python -m tools.deploy plan   --env prod [--synth-dir cdktf.out] [--report-dir compliance_reports]
    python -m tools.deploy deploy --env prod [--auto-approve] [...]

1. ``make compliance`` (content-cached: synth, terraform validate, policy gate); any failure stops here.
2. ``make preflight`` (tools/preflight.py): the environment file's values are real; not ready stops here.
3. Every stack of the environment in dependency order (cdktf's manifest), in a fresh working copy under
   ``.deploy/<env>/<stack>/`` (the synth is never touched, so the compliance caches stay valid): ``terraform
   init``, ``terraform plan -out``, a summary (adds, changes, destroys, and replacements called out), and the
   gate's rules run again over the plan's values (tools/plan_gate.py). ``deploy`` then asks for confirmation
   (``--auto-approve``, ``AUTO_APPROVE=1`` in make, for pipelines) and applies exactly the saved plan before the
   next stack is planned: later stacks read earlier stacks' outputs. ``plan`` plans every stack and applies
   nothing; on an empty account, stacks whose dependencies are not applied yet cannot be planned (said so).

The emulator rehearsal (tools/rehearse.py) runs steps 2 and 3 through the same ``Deployment``.

Exit codes: 0 planned (plan) or applied (deploy); 1 compliance, preflight, a plan, the plan gate or an apply
failed, or the apply was not confirmed; 2 usage error (unknown environment, nothing synthesized, no terminal to
confirm on without --auto-approve, a working directory this tool did not create, terraform missing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.config import ConfigError, load_environments
from tools import preflight, terraform_cli
from tools.arguments import add_environment_option
from tools.plan_gate import PlanFinding, PlanGate
from tools.rehearsal.stacks import Stack, UsageError, load_stacks
from tools.terraform_runner import PLAN_FILE, Terraform

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
REPO_ROOT = Path(__file__).resolve().parent.parent
# Three levels below the repository, like cdktf.out/stacks/<stack>: the synthesized local backend path
# (../../../.terraform-state) then names the same state file.
DEPLOY_DIR = REPO_ROOT / ".deploy"
COPY_MARKER = ".payments-deploy-copy"
# A real apply waits for a lock another operator holds rather than failing at once.
LOCK_TIMEOUT = "5m"


@dataclass
class PlanSummary:
    stack: str
    creates: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    replaces: list[tuple[str, str]] = field(default_factory=list)  # (address, why)
    outputs_changed: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.creates or self.updates or self.deletes or self.replaces or self.outputs_changed)

    @property
    def headline(self) -> str:
        if not self.has_changes:
            return "no changes"
        return (f"{len(self.creates)} to add, {len(self.updates)} to change, {len(self.deletes)} to destroy, "
                f"{len(self.replaces)} to replace")

    def lines(self) -> list[str]:
        out = [f"{self.stack}: {self.headline}"]
        out += [f"  -/+ {address}   REPLACED ({why}): destroyed and created again" for address, why in self.replaces]
        out += [f"  -   {address}   DESTROYED" for address in self.deletes]
        out += [f"  ~   {address}" for address in self.updates]
        out += [f"  +   {address}" for address in self.creates]
        if self.outputs_changed:
            out.append(f"  outputs changed: {', '.join(self.outputs_changed)}")
        if self.replaces or self.deletes:
            out.append(f"  ATTENTION: {len(self.deletes)} destroy(s) and {len(self.replaces)} replacement(s) above; "
                       "data in a replaced store is lost unless it is restored")
        return out


def _replace_reason(change: dict) -> str:
    paths = [".".join(str(part) for part in path) for path in change.get("change", {}).get("replace_paths") or []]
    reason = change.get("action_reason", "")
    if paths:
        return f"{', '.join(paths)} cannot be changed in place"
    return {"replace_because_tainted": "tainted", "replace_by_request": "requested with -replace",
            "replace_by_triggers": "replace_triggered_by"}.get(reason, reason or "the provider requires it")


def summarize(stack: str, plan: dict) -> PlanSummary:
    """The changes of a ``terraform show -json`` plan, by kind; reads and no-ops are not changes."""
    summary = PlanSummary(stack)
    for change in plan.get("resource_changes", []):
        actions = change.get("change", {}).get("actions", [])
        address = change["address"]
        if sorted(actions) == ["create", "delete"]:
            summary.replaces.append((address, _replace_reason(change)))
        elif actions == ["create"]:
            summary.creates.append(address)
        elif actions == ["update"]:
            summary.updates.append(address)
        elif actions == ["delete"]:
            summary.deletes.append(address)
    summary.outputs_changed = sorted(name for name, change in plan.get("output_changes", {}).items()
                                     if change.get("actions") not in (["no-op"], ["read"]))
    return summary


@dataclass
class StackPlan:
    stack: Stack
    terraform: Terraform
    summary: PlanSummary | None = None
    findings: list[PlanFinding] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not self.findings

    def lines(self) -> list[str]:
        if self.error:
            return [f"{self.stack.name}: PLAN FAILED", *("  " + line for line in self.error.splitlines())]
        out = self.summary.lines()
        if self.findings:
            out.append(f"  PLAN GATE FAILED: {len(self.findings)} finding(s) the synth could not show:")
            out += [f"    {finding.line()}" for finding in self.findings]
        return out


class Deployment:
    """Plans and applies stacks one at a time; ``workspace`` gives the terraform of a stack's working copy."""

    def __init__(self, stacks: list[Stack], workspace: Callable[[Stack], Terraform], gate: PlanGate,
                 lock_timeout: str = LOCK_TIMEOUT):
        self.stacks = stacks
        self.workspace = workspace
        self.gate = gate
        self.lock_timeout = lock_timeout

    def plan(self, stack: Stack) -> StackPlan:
        terraform = self.workspace(stack)
        planned = StackPlan(stack, terraform)
        init = terraform.init()
        if not init.ok:
            planned.error = f"terraform init failed:\n{init.errors()}"
            return planned
        result = terraform.plan("plan", PLAN_FILE, lock_timeout=self.lock_timeout)
        if result.returncode not in (0, 2):
            planned.error = f"terraform plan failed:\n{result.errors()}"
            return planned
        try:
            document = terraform.show_json("plan-json", PLAN_FILE)
        except (RuntimeError, ValueError) as error:  # show failed, or printed something that is not JSON
            planned.error = f"terraform show -json of the saved plan failed: {error}"
            return planned
        planned.summary = summarize(stack.name, document)
        planned.findings = self.gate.check(stack.name, document)
        return planned

    @staticmethod
    def apply(planned: StackPlan):
        if not planned.ok:
            raise ValueError(f"{planned.stack.name}: a failed plan is never applied")
        return planned.terraform.apply_plan(PLAN_FILE)


def fresh_working_copy(stack: Stack, work_root: Path) -> Path:
    """A copy of the synthesized stack in ``work_root/<stack>``, replacing only a copy this tool made."""
    target = work_root / stack.name
    if target.exists() and not (target / COPY_MARKER).is_file():
        raise UsageError(f"{target} exists and was not made by tools.deploy (no {COPY_MARKER}); move it away")
    local = stack.document().get("terraform", {}).get("backend", {}).get("local", {}).get("path")
    if local and (stack.directory.resolve() / local).resolve() != (target / local).resolve():
        raise UsageError(f"the local state of {stack.name} ({local}, relative to its directory) would be another "
                         f"file from {target}: use a work directory three levels below the repository (.deploy/)")
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(stack.directory, target, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan"))
    (target / COPY_MARKER).write_text("made by tools.deploy; replaced on the next run\n")
    return target


def _confirm(stack: str, summary: PlanSummary) -> bool:
    answer = input(f"Apply the plan above to {stack}? Only 'yes' applies: ")
    return answer.strip() == "yes"


def main(argv: list[str] | None = None, confirm: Callable[[str, PlanSummary], bool] = _confirm) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("plan", "deploy"))
    add_environment_option(parser, required=True)
    parser.add_argument("--synth-dir", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--report-dir", type=Path, default=Path("compliance_reports"))
    parser.add_argument("--work-dir", type=Path, default=DEPLOY_DIR, help="where the working copies go "
                        "(default .deploy/; keep it three levels above the stacks for the local backend)")
    parser.add_argument("--auto-approve", action="store_true", help="apply without asking (pipelines)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    if args.action == "deploy" and not args.auto_approve and not sys.stdin.isatty():
        print("error: deploy asks before each apply, and there is no terminal to ask on; run it interactively or "
              "set AUTO_APPROVE=1 (--auto-approve) in a pipeline", file=sys.stderr)
        return EXIT_USAGE
    try:
        terraform_cli.terraform_binary()
        config = load_environments(names=(args.env,))[0]
    except (ConfigError, terraform_cli.TerraformUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE

    from tools import compliance

    print("== 1/3 make compliance (synth, terraform validate, policy gate)", flush=True)
    results = compliance.run("all", args.synth_dir, args.report_dir, [])
    worst = max(result.exit_code for result in results)
    print("; ".join(f"{r.name}: {'reused' if r.reused else 'ran'}, exit {r.exit_code}" for r in results))
    if worst:
        for result in results:
            print("\n".join(line for line in result.output if line))
        print(f"{args.action} stopped: `make compliance` failed (exit {worst}); nothing was planned")
        return EXIT_USAGE if worst == compliance.EXIT_ERROR else EXIT_FAILED

    print(f"== 2/3 preflight {args.env}", flush=True)
    try:
        verdict = preflight.check(config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(verdict.lines(args.env)))
    if not verdict.ready:
        print(f"{args.action} stopped: preflight is not ready; nothing was planned")
        return EXIT_FAILED

    try:
        stacks = load_stacks(args.synth_dir, args.env)
        gate = PlanGate([stack.config_file for stack in stacks])
        work_root = args.work_dir.resolve() / args.env
        (work_root / "logs").mkdir(parents=True, exist_ok=True)
        os.chmod(work_root, 0o700)  # saved plans hold the planned values, sensitive ones included
        deployment = Deployment(stacks, lambda stack: Terraform(fresh_working_copy(stack, work_root),
                                                                work_root / "logs"), gate)
        return run(deployment, args.action, args.auto_approve, confirm)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE


def run(deployment: Deployment, action: str, auto_approve: bool,
        confirm: Callable[[str, PlanSummary], bool]) -> int:
    print(f"== 3/3 {action}: {', '.join(s.name for s in deployment.stacks)}", flush=True)
    failed = []
    for stack in deployment.stacks:
        planned = deployment.plan(stack)
        print("\n".join(planned.lines()), flush=True)
        if not planned.ok:
            failed.append(stack.name)
            if action == "deploy":
                print(f"deploy stopped at {stack.name}: nothing of it or after it was applied "
                      f"(logs: {planned.terraform.log_dir})")
                return EXIT_FAILED
            continue
        if action == "plan" or not planned.summary.has_changes:
            continue
        if not auto_approve and not confirm(stack.name, planned.summary):
            print(f"deploy stopped at {stack.name}: not confirmed; nothing of it or after it was applied")
            return EXIT_FAILED
        applied = deployment.apply(planned)
        print(f"{stack.name}: {'applied' if applied.ok else 'APPLY FAILED'} (log: {applied.log})", flush=True)
        if not applied.ok:
            print(applied.errors())
            return EXIT_FAILED
    if failed:
        print(f"plan failed for: {', '.join(failed)} (a stack whose dependencies are not applied yet cannot be "
              "planned on an empty account: deploy applies them in order)")
        return EXIT_FAILED
    print(f"{action} finished: {len(deployment.stacks)} stack(s) {'planned' if action == 'plan' else 'deployed'}")
    return EXIT_OK


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.exit(main())
