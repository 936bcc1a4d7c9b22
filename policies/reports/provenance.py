"""Where a report came from: the git commit of the checkout (policies/checkout.py) and the versions of the
tools that made it."""

from __future__ import annotations

import json
import platform
import subprocess

from policies.checkout import Revision, repository_path, revision

__all__ = ["Revision", "chromium_version", "reporter_python", "repository_path", "revision",
           "terraform_version"]


def terraform_version() -> str | None:
    """The terraform CLI that ``make validate`` uses (tools/terraform_cli.py), or None when there is none."""
    from tools.terraform_cli import TerraformUnavailable, terraform_binary

    try:
        done = subprocess.run([terraform_binary(), "version", "-json"], capture_output=True, text=True, timeout=30,
                              check=False)
        return json.loads(done.stdout)["terraform_version"] if done.returncode == 0 else None
    except (TerraformUnavailable, OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return None


def chromium_version(binary: str) -> str | None:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else None


def reporter_python() -> str:
    return platform.python_version()
