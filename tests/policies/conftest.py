"""Shared, expensive results of the policy tests, computed once per session: the fixtures' checkov run (one
batch for every fixture stack) and the real app's checkov run (on the session synth of tests/conftest.py)."""

from __future__ import annotations

import dataclasses

import pytest

from policies.checkov_layer import run_checkov
from policies.evaluation import evaluate_stacks, load_policies
from policies.model import load_synth
from policies.register import REGISTER_FILE, Register
from tests.policies.support import all_fixtures

EMPTY_REGISTER = Register(entries=(), source=REGISTER_FILE)


@pytest.fixture(scope="session")
def policies():
    return load_policies()


@pytest.fixture(scope="session")
def fixture_stacks():
    """fixture id -> its stacks."""
    return {fixture.id: fixture.stacks() for fixture in all_fixtures()}


@pytest.fixture(scope="session")
def fixture_records(policies, fixture_stacks):
    """checkov's records for every fixture stack: one run for all of them."""
    return run_checkov([s.path for stacks in fixture_stacks.values() for s in stacks], policies.checkov_ids).records


def evaluate_fixture(policies, stacks, records, register=EMPTY_REGISTER):
    paths = {stack.path: stack.name for stack in stacks}
    policies = dataclasses.replace(policies, register=register)
    return evaluate_stacks(policies, stacks, [r for r in records if r.file in paths], paths)[0]


@pytest.fixture(scope="session")
def fixture_evaluations(policies, fixture_stacks, fixture_records):
    """fixture id -> the gate's Evaluation of it, with an empty exceptions register (the committed one names
    resources of the real app)."""
    return {fixture_id: evaluate_fixture(policies, stacks, fixture_records)
            for fixture_id, stacks in fixture_stacks.items()}


@pytest.fixture(scope="session")
def real_stacks(synth_dir):
    return load_synth(synth_dir)
