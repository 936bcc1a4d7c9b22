"""The synth's source map (``<synth>/source-map.json``): for every resource and data source, the ``app/`` file
and line of the construct call that created it, keyed by construct path (the ``//`` metadata path of its block).
Written by the synth (app/source_map.py) before its provenance record, so the provenance hashes it and a copied
synth keeps it; read by the SARIF report to put a finding on the Python line a developer changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

SOURCE_MAP_FILE = "source-map.json"
SOURCE_MAP_FORMAT = 1


class Place(TypedDict):
    file: str  # repository-relative, under app/
    line: int  # 1-based


def load_source_map(synth_dir: Path) -> dict[str, Place]:
    """construct path -> {"file": repository-relative path, "line": 1-based}; empty when the synth has no map
    (an older synth) or the map is not of this format (then findings point at the stack file only)."""
    try:
        document = json.loads((Path(synth_dir) / SOURCE_MAP_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("format") != SOURCE_MAP_FORMAT:
        return {}
    constructs = document.get("constructs")
    if not isinstance(constructs, dict):
        return {}
    return {path: {"file": place["file"], "line": place["line"]} for path, place in constructs.items()
            if isinstance(place, dict) and isinstance(place.get("file"), str) and place["file"].startswith("app/")
            and isinstance(place.get("line"), int) and place["line"] >= 1}
