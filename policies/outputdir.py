"""Output directories that a tool replaces whole (the synth's ``cdktf.out/``): never one it did not make.

A tool builds its output in a staging sibling, ``.<name>.<owner>-<pid>-<random>``, writes a marker file into
it and publishes it with :func:`publish`. It may replace only a directory that does not exist, is empty, or
carries its own marker (:func:`check_replaceable`); the working directory, the project, its ``app/`` and
``policies/`` and every ancestor of the project are refused whatever they hold.

:func:`publish` swaps the two directories in one ``renameat2(RENAME_EXCHANGE)`` system call (Linux >= 3.15,
glibc >= 2.28), so the destination is never missing. Where that call is unavailable it falls back to two
renames (the old directory parked as ``.<name>.old-<pid>-<random>``, the new one renamed into place) and
renames the old one back if the second rename fails; if the process dies between the two renames,
:func:`clean_stale`, run by the next publish of the same directory, puts the parked directory back. It also
removes the staging directories of processes that are gone (a killed synth).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MARKER = ".pipeline-output"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class OutputDirError(Exception):
    """The output directory cannot be replaced (it holds files the tool did not make, or is protected): exit 2."""


def _protected(project_root: Path) -> dict[Path, str]:
    protected = {Path.cwd().resolve(): "the current directory"}
    protected.update({ancestor: "an ancestor of the project" for ancestor in project_root.parents})
    protected.update({project_root: "the project itself", project_root / "app": "the app's source (app/)",
                      project_root / "policies": "the policy gate's source (policies/)"})
    return protected


def check_replaceable(directory: Path, owner: str, project_root: Path = PROJECT_ROOT) -> Path:
    """The directory's absolute path if ``owner`` may replace it whole; :class:`OutputDirError` otherwise."""
    given = Path(directory)
    if given.is_symlink():
        raise OutputDirError(f"{given}: is a symbolic link; give the directory itself")
    target = given.resolve()
    reason = _protected(Path(project_root).resolve()).get(target)
    if reason is not None:
        raise OutputDirError(f"{given}: refusing to replace {reason} ({target}); give a directory of its own, "
                             "such as cdktf.out")
    if not target.exists():
        return target
    if not target.is_dir():
        raise OutputDirError(f"{given}: exists and is not a directory; remove it or give another directory")
    entries = os.listdir(target)
    if not entries or (MARKER in entries and _marker_owner(target) == owner):
        return target
    raise OutputDirError(f"{given}: exists and holds files the {owner} did not make (no {MARKER} marker of the "
                         f"{owner}), which replacing it would delete; move them away, or give an empty or new "
                         "directory")


def _marker_owner(directory: Path) -> str | None:
    try:
        with open(directory / MARKER, encoding="utf-8", errors="replace") as stream:
            return stream.readline(200).strip() or None
    except OSError:
        return None


def staging_dir(destination: Path, owner: str) -> Path:
    """A new empty staging directory beside ``destination``, named after this process."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{destination.name}.{owner}-{os.getpid()}-", dir=destination.parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_pid(path: Path, prefix: str) -> int | None:
    head = path.name[len(prefix):].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def clean_stale(destination: Path, owner: str) -> list[Path]:
    """Put back a directory parked by a publish that died between its renames; remove the staging and parked
    directories of processes that are gone. Returns what was removed."""
    destination = Path(destination)
    removed: list[Path] = []
    if not destination.parent.is_dir():
        return removed
    parked_prefix, staging_prefix = f".{destination.name}.old-", f".{destination.name}.{owner}-"
    for candidate in sorted(destination.parent.iterdir()):
        for prefix in (parked_prefix, staging_prefix):
            pid = _owner_pid(candidate, prefix) if candidate.name.startswith(prefix) else None
            if pid is None or (_alive(pid) and pid != os.getpid()) or candidate.is_symlink():
                continue
            parked = candidate / destination.name
            if prefix == parked_prefix and not os.path.lexists(destination) and parked.is_dir():
                os.rename(parked, destination)
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _exchange(first: Path, second: Path) -> None:
    """Swap two paths atomically: renameat2(RENAME_EXCHANGE)."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first), None, str(second))


def publish(staging: Path, destination: Path, owner: str) -> None:
    """Mark ``staging`` as the owner's and put it in the place of ``destination`` (see the module docstring);
    the old content is deleted."""
    staging, destination = Path(staging), Path(destination)
    (staging / MARKER).write_text(f"{owner}\nThis directory is made and replaced whole by the {owner}; do not keep "
                                  "other files in it.\n", encoding="utf-8")
    if not os.path.lexists(destination):
        os.rename(staging, destination)
        return
    try:
        _exchange(staging, destination)
    except OSError as error:
        if error.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM):
            raise
        _publish_by_two_renames(staging, destination)
        return
    shutil.rmtree(staging, ignore_errors=True)  # now the old content


def _publish_by_two_renames(staging: Path, destination: Path) -> None:
    parked = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-{os.getpid()}-", dir=destination.parent))
    os.rename(destination, parked / destination.name)
    try:
        os.rename(staging, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(parked / destination.name, destination)
        raise
    finally:
        if os.path.lexists(destination):
            shutil.rmtree(parked, ignore_errors=True)
