"""Each test module gets one emulated AWS account with the three functions wired together (building it takes
about a second, so it is shared by the module's tests; tests use fresh customers and cards to stay apart)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("tests.lambdas.support")

from tests.lambdas.support import CapturedLogs, Platform, capture_logs, payments_platform  # noqa: E402


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    with payments_platform() as built:
        yield built


@pytest.fixture(scope="module")
def logs(platform: Platform) -> Iterator[CapturedLogs]:
    with capture_logs(platform) as captured:
        yield captured
