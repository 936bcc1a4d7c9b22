"""Which environment a resource belongs to: its stack's, never anything the resource declares about itself.

Stacks are named ``<project>-<environment>-<domain>`` (README, "Architecture"), and the synth's
``manifest.json`` lists them: the environment of a block is read from the name of the stack that holds it.
A resource's own ``Environment`` tag is a claim to check against that (PCI-TAG-002), not a scope: trusting
it would let a production resource tagged ``staging`` escape every production-only control.
"""

from __future__ import annotations

import re
from pathlib import PurePath

STACK_NAME = re.compile(r"^(?P<project>.+)-(?P<environment>[^-]+)-(?P<domain>[^-]+)$")


def environment_of(stack: str) -> str:
    """``payments-prod-data`` -> ``prod``; a stack outside the naming scheme is its own environment (so it is
    never mistaken for a non-production one)."""
    match = STACK_NAME.match(stack)
    return match.group("environment") if match else stack


def environment_of_stack_file(path: str | PurePath) -> str:
    """The environment of ``.../stacks/<stack>/cdk.tf.json`` (how checkov names the file it scans)."""
    return environment_of(PurePath(path).parent.name)
