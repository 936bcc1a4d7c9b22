"""Every control fails on its fail_* fixtures — in exactly the checks listed, covering every checkov check and
JMESPath rule the catalog gives it — and passes on its pass_* fixtures, in every one of those checks."""

from __future__ import annotations

import pytest

from policies.catalog import default_catalog
from tests.policies.support import all_fixtures, compliant_checks, failing_checks

FIXTURES = all_fixtures()
CATALOG = default_catalog()


def post_synth_checks(control_id: str) -> set[str]:
    layers = CATALOG.control(control_id).layers
    return set(layers.checkov_ids) | set(layers.jmespath)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
def test_fixture(fixture, fixture_evaluations):
    evaluation = fixture_evaluations[fixture.id]
    failing = failing_checks(evaluation, fixture.control)
    if fixture.must_fail:
        assert fixture.expected_failures, f"{fixture.id}: expect.yaml must list the checks that fail"
        assert failing == fixture.expected_failures
        assert evaluation.control_status(CATALOG.control(fixture.control)) == "FAIL"
    else:
        assert failing == set()
        expected = fixture.expected_passes
        if expected is None:
            expected = post_synth_checks(fixture.control)
        assert expected <= compliant_checks(evaluation, fixture.control)


@pytest.mark.parametrize("control", CATALOG.controls, ids=lambda c: c.id)
def test_every_check_of_every_control_is_shown_to_fail_and_to_pass(control):
    fixtures = [f for f in FIXTURES if f.control == control.id]
    assert any(f.must_fail for f in fixtures) and any(not f.must_fail for f in fixtures), control.id
    shown_failing = set().union(*(f.expected_failures or set() for f in fixtures if f.must_fail))
    assert shown_failing == post_synth_checks(control.id), "checks never shown to fail (or unknown ones)"


def test_fixture_directories_name_known_controls_and_outcomes():
    assert {f.control for f in FIXTURES} == set(CATALOG.ids)
    assert all(f.name.startswith(("pass_", "fail_")) for f in FIXTURES)
