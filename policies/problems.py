"""Problem collection shared by every loader that validates a file (environment config, catalog, JMESPath rules,
coverage matrix): each problem is one line ``<file>: <field>: <message>``, all of a file's problems are
collected before anything is raised, so one run reports every mistake at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from policies.yamlfile import QUOTE_CHARS, quote


class ProblemsError(Exception):
    """One or more problems found in input files; ``str()`` lists every one of them, a line each."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def field_path(name: str) -> str:
    """A field path as quoted in a message: a hostile file's keys can be as long as the file."""
    return name if len(name) <= QUOTE_CHARS else f"{name[: QUOTE_CHARS - 3]}..."


class Problems:
    """The problems of one source file, in the order found."""

    def __init__(self, source: Path):
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{self.source}: {field_path(where)}: {message}")

    def not_allowed(self, where: str, value: Any, expected: str) -> None:
        self.add(where, f"{quote(value)} is not allowed; expected {expected}")

    def missing(self, where: str, why: str = "this field is required") -> None:
        self.add(where, f"missing; {why}")
