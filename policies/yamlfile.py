"""The one YAML loader of the project (environment files, catalog, rules, register, allow-list): strict and bounded.

Strict: duplicate keys are errors, never silently merged, and keys must be plain scalars (``? [a, b]``
is refused). Bounded, so that a hostile or careless file is refused in milliseconds instead of hanging the
caller or exhausting memory:

- a file over :data:`MAX_YAML_BYTES` is refused before it is parsed;
- nesting deeper than :data:`MAX_DEPTH` is refused (PyYAML composes recursively: 5,000 levels would be a
  ``RecursionError``);
- the document is counted as if every alias were expanded; over :data:`MAX_NODES` is refused (a few KB of
  nested aliases, the "billion laughs", otherwise expand into gigabytes wherever the value is walked or
  printed); an alias of an anchor that contains it is refused too.

Every failure is a :class:`YamlFileError` naming the file, and the line where it is known.
"""

from __future__ import annotations

import reprlib
from collections.abc import Hashable
from pathlib import Path
from typing import Protocol

import yaml

from policies.jsontypes import JsonValue

MAX_YAML_BYTES = 1024 * 1024  # the largest file we load, the catalog, is ~50 KB
MAX_DEPTH = 64
MAX_NODES = 200_000
QUOTE_CHARS = 80


class YamlFileError(Exception):
    """A configuration file is missing, unreadable, too large or not valid YAML; the message names the file."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = QUOTE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8
_REPR.maxlevel = 3


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, in time bounded by the limit, not by the value."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


class _Mark(Protocol):
    """Where an event starts (PyYAML's pure and libyaml marks alike)."""

    line: int
    column: int


class _BudgetError(yaml.YAMLError):
    def __init__(self, problem: str, mark: _Mark | None):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark

    def __str__(self) -> str:
        where = f" (line {self.problem_mark.line + 1}, column {self.problem_mark.column + 1})" \
            if self.problem_mark else ""
        return f"{self.problem}{where}"


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader with the budgets of the module docstring, unique scalar keys."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._expanded = 0
        self._weights: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the PyYAML stubs
        if self._depth >= MAX_DEPTH:
            raise _BudgetError(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        before = self._expanded
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(event, yaml.AliasEvent):
            weight = self._weights.get(id(node))
            if weight is None:
                raise _BudgetError(f"alias *{event.anchor} refers to an anchor that contains it", event.start_mark)
            self._expanded += weight
        else:
            self._expanded += 1
            self._weights[id(node)] = self._expanded - before
        if self._expanded > MAX_NODES:
            raise _BudgetError(f"more than {MAX_NODES} values once aliases are expanded (an alias bomb?)",
                               event.start_mark)
        return node


def _construct_mapping(loader: BoundedLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, JsonValue]:
    seen = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value, not a list or mapping",
                                                    key_node.start_mark)
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {quote(key)}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


BoundedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_text(path: Path, limit: int = MAX_YAML_BYTES, what: str = "file") -> str:
    """A UTF-8 text file of at most ``limit`` bytes; :class:`YamlFileError` (naming the file and line) otherwise."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        raise YamlFileError(f"{path}: cannot read {what}: {error.strerror or error}") from None
    if len(data) > limit:
        raise YamlFileError(f"{path}: {what} is larger than the limit of {limit} bytes; refused unread")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlFileError(f"{path}: {what} is UTF-16 (byte-order mark); save it as UTF-8", line=1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise YamlFileError(f"{path}: line {line}: {what} is not UTF-8 (byte {data[error.start]:#04x} at offset "
                            f"{error.start}); save it as UTF-8", line=line) from None


def parse_yaml(path: Path, text: str) -> JsonValue:
    """Parse YAML text read from ``path`` with :class:`BoundedLoader`; errors name the file and line."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    except (yaml.YAMLError, ValueError, OverflowError) as error:  # ValueError: a date such as 2030-02-30
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise YamlFileError(f"{path}: not valid YAML: {error}", line=line) from None
    finally:
        loader.dispose()


def load_yaml(path: Path, limit: int = MAX_YAML_BYTES) -> JsonValue:
    return parse_yaml(path, read_text(path, limit, "YAML file"))
