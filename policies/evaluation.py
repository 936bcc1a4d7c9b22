"""The policies of one gate run, and evaluating stacks with them (shared by the gate and mutation testing)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from policies import report
from policies.catalog import Catalog, CatalogError, check_file_problems, default_catalog
from policies.checkov_layer import CheckovRecord
from policies.coverage import load_coverage
from policies.engine import Engine, RuleOutcome, load_rules
from policies.gate import Evaluation, evaluate
from policies.iam import default_allowlist
from policies.model import Model, StackFile
from policies.register import REGISTER_FILE, Register, load_register


@dataclass(frozen=True)
class Policies:
    catalog: Catalog
    engine: Engine
    register: Register

    @property
    def checkov_ids(self) -> list[str]:
        return sorted({check for control in self.catalog.controls for check in control.layers.checkov_ids})


def load_policies(register_file: Path = REGISTER_FILE) -> Policies:
    catalog = default_catalog()
    default_allowlist()  # read now, so that a broken allow-list is a configuration error before any work
    load_coverage(catalog)  # every rule of the AWS Config PCI DSS pack accounted for, every control known
    if problems := check_file_problems(catalog):  # each custom check in its control's area
        raise CatalogError(problems)
    return Policies(catalog=catalog, engine=Engine(catalog, load_rules(catalog)), register=load_register(register_file))


def today() -> dt.date:
    return report.now().date()


def evaluate_stacks(policies: Policies, stacks: list[StackFile], records: list[CheckovRecord],
                    stack_of_file: dict[Path, str]) -> tuple[Evaluation, list[RuleOutcome], float]:
    """Model + JMESPath + merge + register for stacks whose checkov records are already known."""
    started = time.monotonic()
    model = Model(stacks)
    outcomes = policies.engine.evaluate(model)
    engine_seconds = time.monotonic() - started
    evaluation = evaluate(policies.catalog, model, outcomes, records, stack_of_file, policies.register, today())
    return evaluation, outcomes, engine_seconds
