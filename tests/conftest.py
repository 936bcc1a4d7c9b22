"""Session fixtures. The AWS provider bindings take ~10 s and ~600 MB to load, so the real app is
synthesized exactly once per test session, in this process, and every test reads that one synth.

Test tiers (README "Test tiers"): a test is marked by the expensive fixtures it uses, directly or through
other fixtures, so a new test is placed in its tier by what it asks for; `make test-fast` deselects them.
Module-level imports here and in test modules stay cheap (no provider bindings, no checkov): collecting the
fast tier must not pay for what it deselects.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from app.config import load_environments

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parent.parent

# marker -> the fixtures that put a test under it (pyproject.toml registers the markers).
TIER_FIXTURES = {
    "synth": ("synth_dir", "app_synth"),
    "synth_subprocess": ("synth_cli",),
    "terraform": ("terraform",),
    "postgres": ("postgres",),
    "chromium": ("chromium",),
}


# The fuzz budget, for @settings that leave max_examples unset: the full suite runs 1,000 examples per fuzz
# test; `make test-fast` passes --hypothesis-profile=fast, which loads after this module.
settings.register_profile("full", max_examples=1000)
settings.register_profile("fast", max_examples=100)
settings.load_profile("full")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in TIER_FIXTURES.items():
            if used.intersection(fixtures):
                item.add_marker(marker)


@pytest.fixture(scope="session")
def configs():
    return {config.environment: config for config in load_environments()}


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory, configs) -> Path:
    from app.synth import synthesize

    outdir = tmp_path_factory.mktemp("synth") / "cdktf.out"
    synthesize(list(configs.values()), outdir)
    return outdir


@pytest.fixture(scope="session")
def synth(synth_dir):
    from tests.synth_view import SynthView

    return SynthView(synth_dir)


@pytest.fixture(scope="session")
def terraform() -> str:
    binary = shutil.which(os.environ.get("TERRAFORM", "terraform"))
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("terraform CLI not found, and CI must have it (.ci/run installs it)")
        pytest.skip("terraform CLI not found on PATH")
    return binary


def _run_synth_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.main", *arguments],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def synth_cli() -> Callable[..., subprocess.CompletedProcess]:
    """Runs the synth CLI, `python -m app.main <arguments>`, in a subprocess (a run that gets past the
    configuration loads the provider bindings); a fixture rather than a function so that its users are marked
    `synth_subprocess`."""
    return _run_synth_cli


@pytest.fixture
def app_synth() -> ModuleType:
    """`app.synth`, for tests that build or synthesize the real app in this process (importing it loads the
    provider bindings); a fixture rather than an import so that its users are marked `synth`."""
    import app.synth

    return app.synth
