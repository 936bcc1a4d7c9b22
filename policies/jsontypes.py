"""The one place the gate admits values of no static shape: what it parses from JSON or YAML (the synth's
stacks, results documents, configuration files) before it has checked them.

Readers narrow such values with ``isinstance`` (or validate them against a schema) before relying on a shape;
everything the gate builds itself has a precise type (``policies.model.View``, ``policies.iam.Statement``, ...).
A recursive union would not make the reads safer, only longer: a synth value's shape is a fact of the input,
which the rules check at run time and fail closed on (an expression that raises is an ERROR, never a pass).
"""

from __future__ import annotations

from typing import Any, TypeAlias

# Any parsed JSON/YAML value: null, bool, number, string, list or object, nested.
JsonValue: TypeAlias = Any
# A parsed JSON/YAML object (a Terraform block's attributes, a results document, a configuration mapping).
JsonObject: TypeAlias = dict[str, JsonValue]
