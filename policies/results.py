"""The rows of the gate's results document (``results.json``), typed as ``policies/results.schema.json`` defines
them: written by policies/report.py, read by the auditor reports (policies/reports/posture.py). Every field is
required by the schema, in every schema version the reports read, so every key here is required too."""

from __future__ import annotations

from typing import TypedDict

from policies.jsontypes import JsonObject, JsonValue


class ResourceRecord(TypedDict):
    address: str  # <stack>:<type>.<name> (data sources <stack>:data.<type>.<name>); exceptions name this
    stack: str
    type: str
    name: str
    construct_path: str


class EvidenceRecord(TypedDict):
    layer: str  # checkov or jmespath
    check: str  # checkov check id or JMESPath rule id
    verdict: str  # COMPLIANT, NON_COMPLIANT or ERROR
    attribute: str
    observed: JsonValue  # the value(s) behind the verdict; null: not set
    expected: str
    message: str


class ResultRecord(TypedDict):
    """One control x resource row; ``resource`` is None for a rule that could not run at all."""

    control: str
    requirements: list[str]
    verdict: str  # COMPLIANT, NON_COMPLIANT, EXCEPTED or ERROR
    resource: ResourceRecord | None
    layers: list[str]
    evidence: list[EvidenceRecord]
    exception: JsonObject | None  # the register entry (policies/register.py ExceptionEntry.as_dict)
