"""Publishing report files so that a reader never sees one half-written.

Every file is first written completely to a temporary sibling (same directory, so the rename cannot cross
file systems), flushed to disk, then renamed over the old one: readers see the old file or the new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

# Reports are read by people other than the account that ran the gate; mkstemp's 0600 would lock them out.
_REPORT_MODE = 0o644


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def stage(directory: Path, name: str, content: bytes) -> Path:
    """Write content to a hidden temporary file beside ``directory/name``; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _REPORT_MODE & ~_umask())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def publish(files: dict[str, bytes], directory: Path) -> list[Path]:
    """Stage every file first and rename only when all are staged: a failure leaves the old set intact."""
    staged: dict[str, Path] = {}
    try:
        for name, content in files.items():
            staged[name] = stage(directory, name, content)
    except BaseException:
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
        raise
    published = []
    for name, temporary in staged.items():
        os.replace(temporary, directory / name)
        published.append(directory / name)
    return published


def adopt(temporary: Path, directory: Path, name: str) -> Path:
    """Publish a staged file that another program wrote (and may have re-created with its own mode)."""
    os.chmod(temporary, _REPORT_MODE & ~_umask())
    os.replace(temporary, directory / name)
    return directory / name


def retract(directory: Path, name: str) -> None:
    """Remove a report this run does not produce, so a stale one is never read beside fresh ones."""
    with contextlib.suppress(FileNotFoundError):
        (directory / name).unlink()
