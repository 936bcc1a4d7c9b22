"""Read-only views of a synthesized ``cdktf.out/`` for assertions: stacks, resources by type, references."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REFERENCE = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_][a-z0-9_.\[\]]*)\}")
REMOTE = re.compile(
    r"\$\{data\.terraform_remote_state\.cross-stack-reference-input-([A-Za-z0-9-]+)\.outputs\.([A-Za-z0-9_-]+)\}"
)


@dataclass(frozen=True)
class Resource:
    stack: str
    type: str
    name: str
    body: dict

    @property
    def address(self) -> str:
        return f"{self.stack}:{self.type}.{self.name}"

    @property
    def path(self) -> str:
        return self.body.get("//", {}).get("metadata", {}).get("path", self.name)

    def ref(self, attribute: str = "id") -> str:
        return f"${{{self.type}.{self.name}.{attribute}}}"


class Stack:
    def __init__(self, name: str, document: dict):
        self.name = name
        self.document = document

    def resources(self, resource_type: str | None = None) -> list[Resource]:
        return [
            Resource(self.name, rtype, name, body)
            for rtype, by_name in self.document.get("resource", {}).items()
            if resource_type in (None, rtype)
            for name, body in by_name.items()
        ]

    def one(self, resource_type: str) -> Resource:
        found = self.resources(resource_type)
        assert len(found) == 1, f"{self.name}: expected exactly one {resource_type}, found {len(found)}"
        return found[0]

    def by_ref(self, reference: str) -> Resource:
        match = REFERENCE.fullmatch(reference)
        assert match, f"not a resource reference: {reference!r}"
        rtype, name, _ = match.groups()
        return Resource(self.name, rtype, name, self.document["resource"][rtype][name])

    @property
    def outputs(self) -> dict:
        return self.document.get("output", {})

    def data(self, data_type: str) -> dict:
        return self.document.get("data", {}).get(data_type, {})


class SynthView:
    def __init__(self, synth_dir: Path):
        self.synth_dir = Path(synth_dir)
        self.stacks = {
            path.parent.name: Stack(path.parent.name, json.loads(path.read_text()))
            for path in sorted(self.synth_dir.glob("stacks/*/cdk.tf.json"))
        }

    def stack(self, environment: str, domain: str) -> Stack:
        return self.stacks[f"payments-{environment}-{domain}"]

    def resolve(self, stack: Stack, expression: str) -> tuple[Resource, str]:
        """The resource (and attribute) an expression refers to, following cross-stack references."""
        remote = REMOTE.fullmatch(expression)
        if remote:
            producer = self.stacks[remote.group(1)]
            return self.resolve(producer, producer.outputs[remote.group(2)]["value"])
        match = REFERENCE.fullmatch(expression)
        assert match, f"{stack.name}: not a resource reference: {expression!r}"
        return stack.by_ref(expression), match.group(3)

    def all_resources(self) -> Iterator[Resource]:
        for stack in self.stacks.values():
            yield from stack.resources()
