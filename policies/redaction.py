"""The one redactor of the evidence: every value that leaves the gate (results.json, summary.md and every
report rendered from them or from the synth) passes through it.

A string is a secret when the secret scan of PCI-SEC-002 flags it (:func:`policies.functions.find_leaves`:
shaped like an access key or a private key, or a literal under an attribute named like a secret). A secret
is shown as ``<redacted: N chars, sha256 PREFIX>``: enough to tell two findings apart or match a value an
owner holds, never enough to use. Secrets are collected from the stacks themselves, so a secret copied into
any other value (an error message, a checkov observation, a tag listing) is found there too; and any string
that still has a secret's shape is redacted whole (fail closed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from policies.functions import find_leaves
from policies.jsontypes import JsonValue
from policies.model import string_leaves

# Shorter secrets are redacted where they are a whole value, not searched for inside longer texts (a
# four-character password would otherwise blank every word that contains it).
MIN_EMBEDDED_LENGTH = 6
PREFIX_LENGTH = 12


def marker(secret: str) -> str:
    digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()[:PREFIX_LENGTH]
    return f"<redacted: {len(secret)} chars, sha256 {digest}>"


class Redactor:
    def __init__(self, secrets: Iterable[str], value_pattern: str):
        self.secrets = frozenset(secret for secret in secrets if secret)
        self._embedded = sorted((s for s in self.secrets if len(s) >= MIN_EMBEDDED_LENGTH), key=lambda s: (-len(s), s))
        self._shape = re.compile(value_pattern)

    @classmethod
    def for_documents(cls, documents: Iterable[JsonValue], parameters: Mapping[str, JsonValue]) -> Redactor:
        """The redactor of a synth: every secret the scan finds in its stack documents."""
        keys, values = parameters["secret_attribute_pattern"], parameters["secret_value_pattern"]
        secrets = {leaf["value"] for document in documents for leaf in find_leaves(string_leaves(document), keys,
                                                                                     values)}
        return cls(secrets, values)

    def text(self, text: str) -> str:
        if text in self.secrets:
            return marker(text)
        for secret in self._embedded:
            if secret in text:
                text = text.replace(secret, marker(secret))
        return marker(text) if self._shape.search(text) else text

    def lines(self, text: str) -> str:
        """A rendered text redacted line by line (a leftover secret shape blanks its line, not the whole text)."""
        return "\n".join(self.text(line) for line in text.split("\n"))

    def value(self, value: JsonValue) -> JsonValue:
        """A copy of a JSON-like value with every string (and every mapping key) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(key) if isinstance(key, str) else key: self.value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value
