"""Depfiles: which project files a process actually read, with their content hashes (like ``gcc -MD``).

A cache of a stage's result is valid exactly while every file the stage read is unchanged, so rather than
maintaining lists of "inputs" by hand (and missing one), the stage records what it opened with a Python audit
hook: ``open`` events (which include every module the import system loads, as source or as a cached ``.pyc``)
and ``os.listdir``/``os.scandir`` events (a directory listing is an input too: packaging a Lambda or globbing
rules picks up a file added next to the ones read before). Only paths under the project's source roots are
kept; third-party code is keyed by the lock file, outputs and caches are not inputs.

    python -m policies.depfile RECORD_FILE MODULE [ARGS...]

runs ``python -m MODULE ARGS...`` with the recorder installed and writes the record to RECORD_FILE when it
exits (whatever the exit code: the caller decides whether the result is worth caching).
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TypedDict

from policies.jsontypes import JsonValue

REPO_ROOT = Path(__file__).resolve().parent.parent
# What the project's own stages read; everything else (the venv, caches, generated output) is not an input.
SOURCE_ROOTS = ("app", "lambda_src", "policies", "tools", "cdktf.json", "requirements.lock", "pyproject.toml")
WATCHED_EVENTS = {"open", "os.listdir", "os.scandir"}


class Record(TypedDict):
    """What a process read: content hash of each file and of each directory listing (None: it is gone)."""

    files: dict[str, str | None]
    listings: dict[str, str | None]


def _source_of(path: str) -> str:
    """The module source a cached bytecode file stands for (``pkg/__pycache__/mod.cpython-311.pyc``)."""
    directory, name = os.path.split(path)
    if os.path.basename(directory) == "__pycache__" and name.endswith(".pyc"):
        return os.path.join(os.path.dirname(directory), name.split(".", 1)[0] + ".py")
    return path


class Recorder:
    """Collects the files opened for reading and the directories listed under ``root``'s source roots."""

    def __init__(self, root: Path = REPO_ROOT, roots: Iterable[str] = SOURCE_ROOTS):
        self.root = str(Path(root).resolve())
        self.prefixes = tuple(os.path.join(self.root, entry) for entry in roots)
        self.files: set[str] = set()
        self.listings: set[str] = set()

    def _relative(self, path: object) -> str | None:
        if not isinstance(path, (str, bytes, os.PathLike)):  # a file descriptor, or no path at all
            return None
        absolute = os.path.abspath(os.fsdecode(path))
        if not any(absolute == prefix or absolute.startswith(prefix + os.sep) for prefix in self.prefixes):
            return None
        return os.path.relpath(_source_of(absolute), self.root)

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if event not in WATCHED_EVENTS:
            return
        if event == "open":
            path, mode = args[0], args[1]
            if mode is not None and any(flag in str(mode) for flag in "wax+"):
                return
            relative = self._relative(path)
            if relative is not None and "__pycache__" not in relative:
                self.files.add(relative)
        else:
            relative = self._relative(args[0] if args else ".")
            if relative is not None and "__pycache__" not in relative:
                self.listings.add(relative)

    def install(self) -> Recorder:
        """Start recording; modules imported before now (this one's package) are recorded as read."""
        sys.addaudithook(self.hook)  # audit hooks cannot be removed: one recorder per process
        for module in list(sys.modules.values()):
            if getattr(module, "__file__", None):
                self.hook("open", (module.__file__, "r", 0))
        return self

    def record(self) -> Record:
        return snapshot(self.files, self.listings, Path(self.root))


_process_recorder: Recorder | None = None


def process_recorder() -> Recorder:
    """This process's recorder over the project, installed on first use (a hook cannot be uninstalled)."""
    global _process_recorder
    if _process_recorder is None:
        _process_recorder = Recorder().install()
    return _process_recorder


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _listing_digest(path: Path) -> str | None:
    try:
        names = sorted(name for name in os.listdir(path) if name != "__pycache__")
    except (FileNotFoundError, NotADirectoryError):
        return None
    return hashlib.sha256("\0".join(names).encode()).hexdigest()


def snapshot(files: Iterable[str], listings: Iterable[str], root: Path = REPO_ROOT) -> Record:
    """Content hashes of files and of directory listings (relative to root); a missing one hashes to None."""
    return {"files": {name: _file_digest(root / name) for name in sorted(set(files))},
            "listings": {name: _listing_digest(root / name) for name in sorted(set(listings))}}


def changed(record: Mapping[str, JsonValue], root: Path = REPO_ROOT) -> list[str]:
    """What differs between a record (a :class:`Record` as read back from disk) and the tree now (empty: every
    recorded input is unchanged)."""
    current = snapshot(record.get("files", {}), record.get("listings", {}), root)
    return ([name for name, digest in record.get("files", {}).items() if current["files"][name] != digest]
            + [f"{name}/" for name, digest in record.get("listings", {}).items()
               if current["listings"][name] != digest])


def merge(*records: Mapping[str, JsonValue]) -> Record:
    """One record of what several processes read (records as read back from disk)."""
    merged: Record = {"files": {}, "listings": {}}
    for record in records:
        merged["files"].update(record.get("files", {}))
        merged["listings"].update(record.get("listings", {}))
    return merged


def write_record(path: Path, record: Mapping[str, JsonValue]) -> None:
    """Atomically (concurrent runs may write the same record)."""
    with tempfile.NamedTemporaryFile("w", dir=Path(path).parent, prefix=f".{Path(path).name}.", delete=False) as out:
        out.write(json.dumps(record, indent=1, sort_keys=True) + "\n")
    os.replace(out.name, path)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    record_file, module, arguments = Path(argv[0]), argv[1], argv[2:]
    recorder = process_recorder()
    sys.argv = [module, *arguments]
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        write_record(record_file, recorder.record())
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
