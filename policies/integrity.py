"""Whether a synth directory is still what the synth wrote: its own ``provenance.json`` (written by app/synth.py,
read here without importing app/) lists the hash of every file it wrote, the commit and the configuration it
came from and the cdktf and provider versions.

A synth that differs from its provenance (a hand-edited stack, a stack added or removed, a changed manifest) is
still evaluated, since mutation testing depends on that, but every report says it was modified after synth, and
``--require-provenance`` (make compliance, CI) refuses it; so does a synth without provenance.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from policies.jsontypes import JsonObject

PROVENANCE_FILE = "provenance.json"
VERIFIED, MODIFIED, MISSING = "verified", "modified after synth", "no provenance"


def check_synth(synth_dir: Path) -> JsonObject:
    """``{state, problems, provenance}``: the synth's own record, and how the directory differs from it now."""
    synth_dir = Path(synth_dir)
    source = synth_dir / PROVENANCE_FILE
    try:
        record = json.loads(source.read_text())
        recorded = record["files"]
        if not isinstance(recorded, dict):
            raise TypeError("files is not a mapping")
    except FileNotFoundError:
        return {"state": MISSING, "problems": [f"{source} is missing: nothing says which synth wrote these files"],
                "provenance": None}
    except (OSError, ValueError, KeyError, TypeError) as error:
        return {"state": MISSING, "problems": [f"{source} is unreadable ({error.__class__.__name__}: {error})"],
                "provenance": None}
    present = {path.relative_to(synth_dir).as_posix() for path in synth_dir.rglob("*")
               if path.is_file() and path.name != PROVENANCE_FILE}
    problems = [f"{name}: missing" for name in sorted(set(recorded) - present)]
    problems += [f"{name}: not written by the synth" for name in sorted(present - set(recorded))
                 if name.endswith(".json")]
    problems += [f"{name}: changed since synth" for name in sorted(set(recorded) & present)
                 if hashlib.sha256((synth_dir / name).read_bytes()).hexdigest() != recorded[name]]
    return {"state": MODIFIED if problems else VERIFIED, "problems": problems, "provenance": record}
