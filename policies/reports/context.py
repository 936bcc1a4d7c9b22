"""Everything one set of reports is rendered from, gathered once so every format tells the same story."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from policies.jsontypes import JsonObject
from policies.reports.posture import Posture
from policies.reports.provenance import Revision
from policies.reports.synth import SynthFacts
from policies.reports.topology import Topology


@dataclass(frozen=True)
class ReportContext:
    posture: Posture
    synth: SynthFacts
    topologies: dict[str, Topology]
    revision: Revision
    versions: dict[str, str]  # every tool that produced the evidence or the reports
    generated_at: dt.datetime
    synth_dir: Path
    diff: JsonObject | None
    files: tuple[str, ...]  # the sibling reports of this run, for cross-references

    @property
    def document(self) -> JsonObject:
        return self.posture.document
