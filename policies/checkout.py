"""The git checkout the synth and the gate ran in: its commit and whether it differs from it.

Outside ``policies/reports`` on purpose: the synth (app/synth.py) records the same facts in its provenance,
and must not load the report renderers to do so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from policies.catalog import REPO_ROOT


@dataclass(frozen=True)
class Revision:
    commit: str | None
    dirty: bool | None

    def describe(self) -> str:
        if self.commit is None:
            return "unknown (not a git checkout, or git is not installed)"
        return self.commit + (" with uncommitted changes" if self.dirty else "")


def _git(*args: str) -> str | None:
    if shutil.which("git") is None:
        return None
    # GIT_OPTIONAL_LOCKS=0: reading the status must not rewrite the index of a checkout someone is using.
    try:
        done = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=20,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def revision() -> Revision:
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return Revision(None, None)
    # Untracked files count: a new, uncommitted file (a rule, a stack module) changes what is checked.
    status = _git("status", "--porcelain", "--untracked-files=normal")
    return Revision(commit.strip(), None if status is None else bool(status.strip()))


def repository_path(path: Path) -> str | None:
    """A path relative to the repository root, when it lies inside it."""
    try:
        return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return None
