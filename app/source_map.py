"""Record, while the app is built, where in ``app/`` each Terraform resource and data source was created.

Every generated provider class constructs its object through ``jsii.create``; wrapping it for the duration of
the build sees each construction with the Python stack that made it. The innermost frame in an ``app/`` file
(other than this module and the synth driver) is the construct call a developer would change. The map is
written into the synth directory as ``source-map.json`` (policies/sourcemap.py reads it)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import jsii

from policies.sourcemap import SOURCE_MAP_FILE, SOURCE_MAP_FORMAT

APP_DIR = Path(__file__).resolve().parent
REPO_ROOT = APP_DIR.parent
# Frames of these files are machinery, not the construct call; log_groups.py is a factory every component calls,
# so a log group's place is the call naming it (its component), not the factory.
_MACHINERY = {Path(__file__).resolve(), APP_DIR / "synth.py", APP_DIR / "components" / "log_groups.py"}


class SourceRecorder:
    def __init__(self) -> None:
        self._created: list[tuple[Any, str, int]] = []

    @contextmanager
    def recording(self) -> Iterator[SourceRecorder]:
        from cdktf import TerraformDataSource, TerraformResource

        original = jsii.create

        def create(klass: type, obj: Any, args: Any = None) -> Any:
            reference = original(klass, obj, args)
            if isinstance(klass, type) and issubclass(klass, (TerraformResource, TerraformDataSource)):
                place = self._caller()
                if place is not None:
                    self._created.append((obj, *place))
            return reference

        jsii.create = create
        try:
            yield self
        finally:
            jsii.create = original

    @staticmethod
    def _caller() -> tuple[str, int] | None:
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            path = Path(frame.f_code.co_filename).resolve()
            if path.is_relative_to(APP_DIR) and path not in _MACHINERY:
                return path.relative_to(REPO_ROOT).as_posix(), frame.f_lineno
            frame = frame.f_back
        return None

    def write(self, synth_dir: Path) -> None:
        constructs = {obj.node.path: {"file": file, "line": line} for obj, file, line in self._created}
        document = {"format": SOURCE_MAP_FORMAT, "constructs": dict(sorted(constructs.items()))}
        (Path(synth_dir) / SOURCE_MAP_FILE).write_text(json.dumps(document, indent=1) + "\n")
