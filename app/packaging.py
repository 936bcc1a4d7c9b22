"""Deterministic Lambda deployment packages.

The same sources always give byte-identical zips (sorted entries, fixed timestamps and permissions, no
bytecode), so the ``source_code_hash`` in the synth only changes when code changes and a re-synth never
redeploys an unchanged function. Third-party code is vendored from the installed distributions, and only
pure-Python ones are accepted: functions run on arm64, this build may run anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SRC = REPO_ROOT / "lambda_src"
BUILD_DIR = REPO_ROOT / ".build" / "lambda"
SHARED_PACKAGE = "payments_common"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache"}
_NATIVE_SUFFIXES = (".so", ".pyd", ".dylib")


@dataclass(frozen=True)
class LambdaPackage:
    path: Path
    source_code_hash: str  # base64 sha256, the form Lambda reports as CodeSha256


def _source_files(root: Path, prefix: str) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not _SKIPPED_PARTS & set(path.parts) and path.suffix != ".pyc":
            files[f"{prefix}{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return files


def _requirement_names(distribution: importlib.metadata.Distribution) -> list[str]:
    names = []
    for requirement in distribution.requires or []:
        if ";" in requirement and "extra ==" in requirement.split(";", 1)[1]:
            continue
        names.append(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0])
    return names


def _vendored_files(distributions: tuple[str, ...]) -> dict[str, bytes]:
    """Files of the named distributions and their runtime requirements, as installed in this environment."""
    files: dict[str, bytes] = {}
    pending, seen = list(distributions), set()
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        distribution = importlib.metadata.distribution(name)
        for entry in distribution.files or []:
            parts = entry.parts
            if (
                parts[0].endswith(".dist-info")
                or ".." in parts
                or _SKIPPED_PARTS & set(parts)
                or entry.suffix == ".pyc"
            ):
                continue
            if entry.suffix in _NATIVE_SUFFIXES:
                raise ValueError(f"{name} ships native code ({entry}); Lambda packages vendor pure Python only")
            files[entry.as_posix()] = Path(str(distribution.locate_file(entry))).read_bytes()
        pending.extend(_requirement_names(distribution))
    return files


def build_lambda_package(
    function: str, *, vendor: tuple[str, ...] = (), shared: bool = True, extra_files: Mapping[str, Path] | None = None
) -> LambdaPackage:
    """Zip ``lambda_src/<function>/`` at the archive root, plus ``payments_common``, vendored distributions and
    ``extra_files`` (name in the archive -> file; a missing file is an error, never a silently smaller zip)."""
    source = LAMBDA_SRC / function
    if not (source / "handler.py").is_file():
        raise FileNotFoundError(
            f"{source}/handler.py not found: every function's entry point is handler.lambda_handler"
        )
    files = _source_files(source, "")
    if shared and (LAMBDA_SRC / SHARED_PACKAGE).is_dir():
        files.update(_source_files(LAMBDA_SRC / SHARED_PACKAGE, f"{SHARED_PACKAGE}/"))
    files.update(_vendored_files(vendor))
    for name, path in (extra_files or {}).items():
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path} not found: it must be shipped in the {function} package as {name}")
        files[name] = Path(path).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    content = buffer.getvalue()
    digest = hashlib.sha256(content).digest()
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    path = BUILD_DIR / f"{function}-{digest.hex()[:16]}.zip"
    if not path.exists():
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(content)
        temporary.replace(path)
    return LambdaPackage(path=path, source_code_hash=base64.b64encode(digest).decode())
