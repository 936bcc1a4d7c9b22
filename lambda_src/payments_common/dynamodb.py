"""Conversion between plain Python items and DynamoDB attribute values for the low-level client.

The functions use the client rather than the boto3 Table resource because resources are not thread-safe and
the client is; numbers come back as `Decimal`, as they do from the resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attribute_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute values for an item; None means "no such attribute", which keeps it out of sparse indexes."""
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def from_attribute_values(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in attributes.items()}
