"""`--env` of every deployment tool: one parser, and hostile values are refused with exit 2 and a bounded echo."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import KNOWN_ENVIRONMENTS
from tools import deploy, preflight, rehearse, shift_traffic

TOOLS = {
    "deploy": lambda env: deploy.main(["plan", "--env", env]),
    "preflight": lambda env: preflight.main(["--env", env]),
    "rehearse": lambda env: rehearse.main(["--env", env]),
    "shift_traffic": lambda env: shift_traffic.main(["--env", env, "--blue", "50", "--green", "50"]),
}


@pytest.mark.parametrize("tool", TOOLS)
@settings(max_examples=25, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(env=st.text(min_size=1, max_size=5000).filter(lambda value: value not in KNOWN_ENVIRONMENTS
                                                   and not value.startswith("-")))
def test_an_unknown_environment_is_a_usage_error_quoted_and_bounded(tool, env, capsys):
    assert TOOLS[tool](env) == 2
    captured = capsys.readouterr()
    assert "is unknown; expected one of dev, staging, prod" in captured.err
    assert captured.out == ""
    assert len(captured.err) < 2000  # the value is quoted to 80 characters, never echoed whole
    assert not any(ord(c) < 32 and c != "\n" for c in captured.err)  # control characters are escaped


@pytest.mark.parametrize("tool", TOOLS)
def test_an_environment_name_that_differs_only_in_case_or_spacing_is_unknown(tool, capsys):
    for env in ("Dev", " dev", "dev\n", "prod\x00"):
        assert TOOLS[tool](env) == 2
        assert "is unknown" in capsys.readouterr().err
