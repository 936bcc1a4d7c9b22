"""The ``tags`` section: the catalog's required tags, with the values its tag_values allow."""

from __future__ import annotations

from typing import Any

from app.config.reader import FieldReader, is_text


def validate_tags(reader: FieldReader, raw: Any, environment: Any) -> dict[str, str] | None:
    required = reader.pci.required_tags
    data = reader.mapping(raw, "tags", required)
    for key in required:
        if key in data and not is_text(data[key]):
            reader.problem(f"tags.{key}", data[key], "a non-empty string")
    if environment is not None and is_text(data.get("Environment")) and data["Environment"] != environment:
        reader.problem("tags.Environment", data["Environment"], f"the environment name {environment!r}")
    classifications, scopes = reader.pci.data_classifications, reader.pci.pci_scopes
    if is_text(data.get("DataClassification")) and data["DataClassification"] not in classifications:
        reader.problem("tags.DataClassification", data["DataClassification"], "one of " + ", ".join(classifications))
    if is_text(data.get("PciScope")) and data["PciScope"] not in scopes:
        reader.problem("tags.PciScope", data["PciScope"], "one of " + ", ".join(scopes))
    if not isinstance(raw, dict) or any(not is_text(raw.get(k)) for k in required):
        return None
    return {key: raw[key] for key in required}
