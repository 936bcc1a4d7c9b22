"""Mutation testing: every control of the catalog must fail when the real, compliant synth is broken in its way.

The mutants come from the catalog (``mutations`` of each control) and run through the gate's own evaluation
(JMESPath in-process per mutant, checkov once for the whole batch). A control none of whose mutations finds a
target in the app is *pending infrastructure*: it must be listed below with the reason, and the test fails
as soon as its resources exist, so the list cannot go stale.
"""

from __future__ import annotations

import pytest

from policies.catalog import default_catalog
from policies.mutate import render, run_mutations
from tests.policies.support import PENDING_INFRASTRUCTURE

CATALOG = default_catalog()


@pytest.fixture(scope="module")
def mutation_report(policies, real_stacks, tmp_path_factory):
    return run_mutations(policies, real_stacks, tmp_path_factory.mktemp("mutants"))


def test_the_real_synth_is_compliant_before_mutation(mutation_report):
    assert mutation_report.baseline_failures == []


def test_every_mutant_is_killed_and_every_control_is_exercised(mutation_report, real_stacks, capsys):
    with capsys.disabled():
        print("\n" + render(mutation_report))
    assert [(r.control, r.description) for r in mutation_report.survivors] == []
    assert set(mutation_report.unexercised) == set(PENDING_INFRASTRUCTURE)
    present = {rtype for stack in real_stacks for rtype in stack.document.get("resource", {})}
    for control_id in PENDING_INFRASTRUCTURE:
        types = CATALOG.expand(CATALOG.control(control_id).resource_types)
        assert types is not None and not types & present, f"{control_id} is pending but its resources exist now"
    assert mutation_report.kill_rate == 1.0


def test_each_post_synth_layer_of_a_control_kills_one_of_its_mutants(mutation_report):
    detected: dict[str, set[str]] = {}
    for result in mutation_report.results:
        detected.setdefault(result.control, set()).update(result.detected_by)
    missing = {control.id: sorted({layer for layer in ("checkov", "jmespath") if getattr(control.layers, layer)}
                                  - detected.get(control.id, set()))
               for control in CATALOG.controls if control.id not in PENDING_INFRASTRUCTURE}
    assert {control: layers for control, layers in missing.items() if layers} == {}

