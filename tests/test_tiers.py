"""Test tiers (README "Test tiers"): tests/conftest.py marks every test by the expensive fixtures it uses, the
fast tier of the Makefile deselects all of them, and collecting the suite loads neither the provider bindings
nor checkov (a module-level import of either made collection alone take most of a minute)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, TIER_FIXTURES

# Collects the suite in a fresh interpreter with the given -m expression and reports, as JSON lines, what
# collection imported and each test's markers, fixtures (the closure pytest computes, fixtures of fixtures
# included) and whether the expression selected it.
COLLECT = """
import json, sys
import pytest

class Report:
    def report(self, items, selected):
        for item in items:
            print("ITEM " + json.dumps([item.nodeid, sorted({m.name for m in item.iter_markers()}),
                                        sorted(item.fixturenames), selected]))

    def pytest_deselected(self, items):
        self.report(items, False)

    def pytest_collection_finish(self, session):
        loaded = sorted(name for name in ("cdktf_cdktf_provider_aws", "checkov") if name in sys.modules)
        print("LOADED " + json.dumps(loaded))
        self.report(session.items, True)

sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-m", sys.argv[1]], plugins=[Report()]))
"""


def fast_tier_expression() -> str:
    [expression] = re.findall(r"^FAST_TIER := (.+)$", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    return expression.strip()


@pytest.fixture(scope="module")
def suite() -> tuple[list[str], dict[str, tuple[set[str], set[str], bool]]]:
    """What collecting the suite for `make test-fast` loaded, and test id -> (markers, fixtures, selected)."""
    completed = subprocess.run([sys.executable, "-c", COLLECT, fast_tier_expression()], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    [loaded] = [json.loads(line[len("LOADED "):]) for line in lines if line.startswith("LOADED ")]
    items = {}
    for line in lines:
        if line.startswith("ITEM "):
            nodeid, markers, fixtures, selected = json.loads(line[len("ITEM "):])
            items[nodeid] = (set(markers), set(fixtures), selected)
    return loaded, items


def test_collecting_the_suite_loads_neither_the_provider_bindings_nor_checkov(suite):
    loaded, items = suite
    assert len(items) > 500
    assert loaded == [], "a test module imports these at module level: import them inside the test"


def test_every_test_carries_exactly_the_markers_of_the_tier_fixtures_it_uses(suite):
    _, items = suite
    for nodeid, (markers, fixtures, _) in items.items():
        expected = {marker for marker, names in TIER_FIXTURES.items() if fixtures & set(names)}
        assert markers & set(TIER_FIXTURES) == expected, nodeid
    # One known test per marker, some through fixtures of fixtures (`security` reads the session synth,
    # `users` needs the PostgreSQL server), and a plain unit test.
    known = {
        "tests/test_security.py::test_keys_rotate_and_have_aliases[dev]": {"synth"},
        "tests/test_synth.py::test_s3_backend_is_selected_by_config": {"synth"},
        "tests/test_output_dirs.py::test_the_synth_cli_refuses_dot_from_the_project": {"synth_subprocess"},
        "tests/test_validate.py::test_every_stack_of_every_environment_validates": {"synth", "terraform"},
        "tests/test_secret_rotation.py::test_no_password_is_ever_logged": {"postgres"},
        "tests/reports/test_fixture_reports.py::test_pdf_is_printed_from_the_html": {"chromium"},
        "tests/test_shift_traffic.py::test_explicit_blue_weight": set(),
    }
    assert {nodeid: items[nodeid][0] & set(TIER_FIXTURES) for nodeid in known} == known


def test_the_fast_tier_deselects_every_tier_marker_and_nothing_else(suite):
    _, items = suite
    for nodeid, (markers, _, selected) in items.items():
        assert selected == (not markers & set(TIER_FIXTURES)), nodeid
    assert 0 < sum(selected for *_, selected in items.values()) < len(items)
