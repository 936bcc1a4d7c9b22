"""Fixtures of the policy tests: small synthesized-JSON stacks per control, and how to read a gate's verdicts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from policies.catalog import AREA_FIXTURES, CONTROLS_DIR, area_of
from policies.gate import COMPLIANT, Evaluation
from policies.model import StackFile, load_synth

# Each control's fixtures live in its area directory (README "One home per control").
FIXTURES_GLOB = f"*/{AREA_FIXTURES}/PCI-*/*_*"


@dataclass(frozen=True)
class Fixture:
    """policies/controls/<area>/fixtures/<CONTROL-ID>/<pass|fail>_<what>/stacks/<stack>/cdk.tf.json (+ expect.yaml).

    expect.yaml of a fail_* fixture lists exactly the checks (checkov ids, JMESPath rule ids) of the control
    that must fail on it; of a pass_* fixture, optionally, the checks that must report it compliant (by
    default every check of the control)."""

    control: str
    name: str
    directory: Path
    expected_failures: frozenset[str] | None
    expected_passes: frozenset[str] | None

    @property
    def id(self) -> str:
        return f"{self.control}/{self.name}"

    @property
    def must_fail(self) -> bool:
        return self.name.startswith("fail_")

    def stacks(self) -> list[StackFile]:
        return load_synth(self.directory)


def fixture_directory(control_id: str) -> Path:
    """policies/controls/<area>/fixtures/<control id>."""
    return CONTROLS_DIR / area_of(control_id) / AREA_FIXTURES / control_id


def all_fixtures() -> list[Fixture]:
    found = []
    for directory in sorted(CONTROLS_DIR.glob(FIXTURES_GLOB), key=lambda path: (path.parent.name, path.name)):
        expect = yaml.safe_load((directory / "expect.yaml").read_text()) if (directory / "expect.yaml").exists() else {}
        fails, passes = expect.get("fails"), expect.get("passes")
        found.append(Fixture(control=directory.parent.name, name=directory.name, directory=directory,
                             expected_failures=frozenset(fails) if fails is not None else None,
                             expected_passes=frozenset(passes) if passes is not None else None))
    return found


def verdicts_by_check(evaluation: Evaluation, control_id: str) -> dict[str, set[str]]:
    """check id -> the verdicts its evidence gave on the control's rows."""
    found: dict[str, set[str]] = defaultdict(set)
    for row in evaluation.rows_of(control_id):
        for evidence in row.evidence:
            found[evidence.check].add(evidence.verdict)
    return found


def failing_checks(evaluation: Evaluation, control_id: str) -> set[str]:
    return {check for check, verdicts in verdicts_by_check(evaluation, control_id).items() if verdicts - {COMPLIANT}}


def compliant_checks(evaluation: Evaluation, control_id: str) -> set[str]:
    return {check for check, verdicts in verdicts_by_check(evaluation, control_id).items() if COMPLIANT in verdicts}


# control id -> why the app has no resource for the control (its mutations find no target and the gate reports
# it NOT_APPLICABLE). Empty: every control is exercised. The mutation test fails as soon as the resources exist.
PENDING_INFRASTRUCTURE: dict[str, str] = {
    "PCI-ENC-006": "no SQS queue: the payment functions' DLQs were removed, as they are only ever invoked "
    "synchronously (Lambda sends only asynchronous invocations to a DLQ)",
}
