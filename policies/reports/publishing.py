"""Publishing one gate run's reports as one set: all of them or none, readable by everyone, with checksums.

Every file is first written completely to a hidden temporary sibling (same directory, so the rename cannot
cross file systems), flushed to disk and given mode 0644; only when every file of the set is staged are they
renamed over the old ones, ``SHA256SUMS`` (``sha256sum -c`` format, over every file of the set) last. A
failure while staging leaves the previous set exactly as it was. Files an earlier set had and this one does
not (``report.pdf`` without Chromium, ``diff.json`` without a baseline) are removed, so a stale file never sits
beside fresh ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from types import TracebackType

# Reports are read by people other than the account that ran the gate, whatever its umask: exactly 0644.
REPORT_MODE = 0o644
SUMS_FILE = "SHA256SUMS"


def sha256sums(files: dict[str, bytes]) -> bytes:
    lines = [f"{hashlib.sha256(content).hexdigest()}  {name}\n" for name, content in sorted(files.items())]
    return "".join(lines).encode()


class ReportSet:
    """Stage files into ``directory``, then ``publish`` them together; used as a context manager, whatever was
    staged and not published is deleted on the way out."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._staged: dict[str, Path] = {}

    def __enter__(self) -> ReportSet:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.discard()

    def stage(self, name: str, content: bytes) -> Path:
        """Write content to a hidden temporary file beside ``directory/name`` (same extension, so a browser
        opening it reads it as what it is); return its path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=f".tmp{Path(name).suffix}",
                                             dir=self.directory)
        self._staged[name] = Path(temporary)
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, REPORT_MODE)
        return Path(temporary)

    def path(self, name: str) -> Path:
        return self._staged[name]

    def drop(self, name: str) -> None:
        self._staged.pop(name).unlink(missing_ok=True)

    def publish(self, retired: tuple[str, ...] = ()) -> list[Path]:
        """Rename every staged file into place, then SHA256SUMS over them; remove ``retired`` names this set
        does not contain. Returns the published paths in a stable order."""
        contents = {}
        for name, temporary in self._staged.items():
            os.chmod(temporary, REPORT_MODE)  # a program that wrote into it (Chromium) may have re-created it
            contents[name] = temporary.read_bytes()
        self.stage(SUMS_FILE, sha256sums(contents))
        published = []
        for name in [*sorted(contents), SUMS_FILE]:
            os.replace(self._staged.pop(name), self.directory / name)
            published.append(self.directory / name)
        for name in retired:
            if name not in contents:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / name).unlink()
        return published

    def discard(self) -> None:
        for temporary in self._staged.values():
            temporary.unlink(missing_ok=True)
        self._staged.clear()
