"""The synthesized stacks of one environment: discovery, apply order, and the external ARNs they reference."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from app.config import DOMAINS


class UsageError(Exception):
    """The rehearsal cannot start: bad arguments, nothing synthesized, or a tool missing (exit code 2)."""


@dataclass(frozen=True)
class Stack:
    name: str
    directory: Path  # the synthesized stack directory (cdk.tf.json, assets/)
    dependencies: tuple[str, ...]

    @property
    def config_file(self) -> Path:
        return self.directory / "cdk.tf.json"

    def document(self) -> dict:
        return json.loads(self.config_file.read_text())

    def resource_types(self) -> set[str]:
        return set(self.document().get("resource", {}))


def _domain_rank(name: str) -> int:
    domain = name.rsplit("-", 1)[-1]
    return DOMAINS.index(domain) if domain in DOMAINS else len(DOMAINS)


# A stack name becomes a directory name under the work directory: one path component, nothing else.
_STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def _confined(synth_dir: Path, entry: object, name: str, manifest_file: Path) -> Path:
    """The stack's directory from the manifest, which must name a stack safely and stay inside the synth."""
    if not _STACK_NAME.match(name):
        raise UsageError(f"{manifest_file}: stack name {name[:80]!r} is not a plain name (letters, digits, - and _): "
                         "it would be a path outside the work directory")
    working = entry.get("workingDirectory") if isinstance(entry, dict) else None
    if not isinstance(working, str) or not working:
        raise UsageError(f"{manifest_file}: stack {name}: workingDirectory missing or not a string")
    root = synth_dir.resolve()
    directory = (root / working).resolve()
    if directory == root or not directory.is_relative_to(root):
        raise UsageError(f"{manifest_file}: stack {name}: workingDirectory {working[:80]!r} is outside {synth_dir}")
    return directory


def load_stacks(synth_dir: Path, environment: str) -> list[Stack]:
    """The environment's stacks in apply order: dependencies (cdktf's manifest) first, then domain order."""
    manifest_file = synth_dir / "manifest.json"
    if not manifest_file.is_file():
        raise UsageError(f"{manifest_file} not found: run `make synth` (or `make compliance`) first")
    try:
        manifest = json.loads(manifest_file.read_text())["stacks"]
        if not isinstance(manifest, dict):
            raise TypeError("stacks is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{manifest_file}: not a cdktf manifest ({error}); run `make synth` again") from None
    prefix = f"payments-{environment}-"
    selected = {name: entry for name, entry in manifest.items() if name.startswith(prefix)}
    if not selected:
        raise UsageError(f"no stacks named {prefix}* in {manifest_file}")
    stacks = {
        name: Stack(
            name=name,
            directory=_confined(synth_dir, entry, name, manifest_file),
            dependencies=tuple(dep for dep in entry.get("dependencies", []) if dep in selected),
        )
        for name, entry in selected.items()
    }
    for stack in stacks.values():
        if not stack.config_file.is_file():
            raise UsageError(f"{stack.config_file} not found: the synth in {synth_dir} is incomplete")
    ordered: list[Stack] = []
    pending = dict(stacks)
    while pending:
        ready = sorted(
            (s for s in pending.values() if all(d not in pending for d in s.dependencies)),
            key=lambda s: (_domain_rank(s.name), s.name),
        )
        if not ready:
            raise UsageError(f"dependency cycle between stacks: {', '.join(sorted(pending))}")
        ordered.append(ready[0])
        del pending[ready[0].name]
    return ordered


_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+")
_LAYER_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+")


def external_references(stacks: list[Stack]) -> dict:
    """ARNs of things the stacks use but no stack creates (certificates, public layers): the emulator's seed."""
    text = "\n".join(json.dumps(stack.document().get("resource", {})) for stack in stacks)
    return {
        "certificates": sorted(set(_CERTIFICATE_ARN.findall(text))),
        "layers": sorted(set(_LAYER_ARN.findall(text))),
    }
