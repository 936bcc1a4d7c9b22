"""The top-level ``environment``, ``region`` and ``availability_zones`` of an environment file: where it deploys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config.reader import FieldReader, matches, one_of

AZ_COUNT = 3
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


@dataclass(frozen=True)
class Placement:
    environment: str
    region: str
    availability_zones: tuple[str, ...]


def validate_environment_name(reader: FieldReader, data: dict[Any, Any], source: Path) -> Any:
    """The environment name: one of the catalog's Environment tag values, and the file's own name."""
    environments = reader.pci.environments
    environment = reader.value(data, "", "environment", *one_of(environments))
    if environment is not None and source.stem != environment:
        reader.problem("environment", environment, f"the file's name without extension ({source.stem!r})")
    return environment


def validate_placement(reader: FieldReader, data: dict[Any, Any], environment: Any) -> Placement | None:
    region = reader.value(data, "", "region", matches(_REGION_RE), "an AWS region name such as us-east-1")
    azs = data.get("availability_zones")
    if "availability_zones" in data:
        if not isinstance(azs, list) or len(azs) != AZ_COUNT or len(set(map(str, azs))) != AZ_COUNT:
            reader.problem("availability_zones", azs, f"a list of exactly {AZ_COUNT} distinct availability zones")
            azs = None
        elif region is not None:
            for index, zone in enumerate(azs):
                if not (isinstance(zone, str) and re.fullmatch(re.escape(region) + r"[a-z]", zone)):
                    reader.problem(
                        f"availability_zones[{index}]", zone, f"an availability zone of region {region}, e.g. {region}a"
                    )
                    azs = None
    if environment is None or region is None or azs is None:
        return None
    return Placement(environment=environment, region=region, availability_zones=tuple(azs))
