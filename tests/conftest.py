"""Session fixtures. The AWS provider bindings take ~10 s and ~600 MB to load, so the real app is
synthesized exactly once per test session, in this process, and every test reads that one synth."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.config import load_environments

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parent.parent


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
