"""Every PCI threshold environment validation enforces comes from the catalog's parameters, its only home:
tightening a catalog parameter makes the committed environment file invalid at that field, loosening it makes a
value valid that the committed catalog refuses, and the config package (app/config/) holds no literal copy of a
catalog value."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import ENVIRONMENTS_DIR, ConfigError, PciThresholds, parse_environment
from policies.catalog import default_catalog
from tests.conftest import REPO_ROOT

CATALOG = default_catalog()
DEV = yaml.safe_load((ENVIRONMENTS_DIR / "dev.yaml").read_text())


def thresholds(**changed: Any) -> PciThresholds:
    unknown = set(changed) - set(CATALOG.parameters)
    assert not unknown, f"not catalog parameters: {unknown}"
    return PciThresholds.from_catalog(dataclasses.replace(CATALOG, parameters={**CATALOG.parameters, **changed}))


def edited(**values: Any) -> str:
    """dev.yaml with the given dotted paths (``__`` for ``.``, ``_0`` for a list index) set."""
    document = yaml.safe_load(yaml.safe_dump(DEV))
    for dotted, value in values.items():
        *parents, leaf = dotted.split("__")
        node = document
        for key in parents:
            node = node[int(key[1:])] if key.startswith("_") else node[key]
        node[int(leaf[1:]) if leaf.startswith("_") else leaf] = value
    return yaml.safe_dump(document)


def problems(text: str, pci: PciThresholds) -> list[str]:
    try:
        parse_environment(Path("dev.yaml"), text, thresholds=pci)
    except ConfigError as error:
        return list(error.problems)
    return []


TAG_VALUES = CATALOG.parameter("tag_values")
ARCHIVE = DEV["data"]["audit_archive"]

# catalog parameter, its tightened value, the fields of the committed dev.yaml it must reject
TIGHTENED = [
    ("alb_tls_policies", ["ELBSecurityPolicy-TLS13-1-3-2021-06"], ["compute.alb.ssl_policy"]),
    ("api_method_authorizations", ["COGNITO_USER_POOLS"], ["api.authorization"]),
    ("min_hot_tier_days", ARCHIVE["transitions"][0]["days"] + 1, ["data.audit_archive.transitions[0].days"]),
    ("max_secret_rotation_days", DEV["data"]["secret_rotation_days"] - 1, ["data.secret_rotation_days"]),
    ("min_backup_retention_days", DEV["baseline"]["backup"]["daily_retention_days"] + 1,
     ["baseline.backup.daily_retention_days"]),
    ("min_log_retention_days", 400, ["network.flow_logs.retention_days", "logging.retention_days"]),
    ("min_object_lock_retention_days", ARCHIVE["object_lock_retention_days"] + 1,
     ["data.audit_archive.object_lock_retention_days"]),
    ("min_current_object_expiration_days", ARCHIVE["noncurrent_version_expiration_days"] + 1,
     ["data.audit_archive.noncurrent_version_expiration_days"]),
    ("required_tags", [*CATALOG.parameter("required_tags"), "Team"], ["tags.Team"]),
    ("tag_values", {**TAG_VALUES, "DataClassification": ["restricted"]}, ["tags.DataClassification"]),
    ("tag_values", {**TAG_VALUES, "PciScope": ["connected"]}, ["tags.PciScope"]),
    ("tag_values", {**TAG_VALUES, "Environment": ["staging", "prod"]}, ["environment"]),
]


@pytest.mark.parametrize(("parameter", "value", "fields"), TIGHTENED,
                         ids=[f"{p}-{'-'.join(f)}" for p, _, f in TIGHTENED])
def test_a_tightened_catalog_parameter_rejects_the_committed_file_at_its_field(parameter, value, fields):
    assert problems(yaml.safe_dump(DEV), thresholds()) == []
    found = problems(yaml.safe_dump(DEV), thresholds(**{parameter: value}))
    assert sorted(problem.split(": ")[1] for problem in found) == sorted(fields), found


# catalog parameter, its loosened value, edits of dev.yaml the committed catalog refuses and the loosened one allows
LOOSENED = [
    ("alb_tls_policies", ["ELBSecurityPolicy-TLS-1-2-2017-01"],
     {"compute__alb__ssl_policy": "ELBSecurityPolicy-TLS-1-2-2017-01"}),
    ("api_method_authorizations", ["NONE"], {"api__authorization": "NONE"}),
    ("min_hot_tier_days", 30, {"data__audit_archive__transitions___0__days": 31}),
    ("max_secret_rotation_days", 45, {"data__secret_rotation_days": 45}),
    ("min_log_retention_days", 180, {"network__flow_logs__retention_days": 180, "logging__retention_days": 180}),
    ("min_object_lock_retention_days", 200, {"data__audit_archive__object_lock_retention_days": 200}),
    ("min_current_object_expiration_days", 200, {"data__audit_archive__noncurrent_version_expiration_days": 300}),
    ("tag_values", {**TAG_VALUES, "PciScope": [*TAG_VALUES["PciScope"], "pending"]}, {"tags__PciScope": "pending"}),
]


@pytest.mark.parametrize(("parameter", "value", "edits"), LOOSENED, ids=[p for p, _, _ in LOOSENED])
def test_a_loosened_catalog_parameter_admits_what_the_committed_catalog_refuses(parameter, value, edits):
    text = edited(**edits)
    refused = problems(text, thresholds())
    assert refused and len(refused) == len(edits), refused
    assert problems(text, thresholds(**{parameter: value})) == []


def test_the_committed_catalog_admits_every_tls_policy_it_lists():
    """Before the catalog was the only list, config knew 4 of its 6 TLS policies and refused the FIPS ones."""
    for policy in CATALOG.parameter("alb_tls_policies"):
        assert problems(edited(compute__alb__ssl_policy=policy), thresholds()) == []


def config_package_trees() -> list[ast.Module]:
    """Every module of the config package (app/config/, once a single app/config.py)."""
    sources = sorted((REPO_ROOT / "app" / "config").rglob("*.py"))
    assert len(sources) > 10, "the config package moved: point this scan at its new home"
    return [ast.parse(source.read_text()) for source in sources]


def test_config_holds_no_literal_copy_of_a_catalog_value():
    parameters = CATALOG.parameters
    copied_values = {
        *parameters["alb_tls_policies"],
        *parameters["api_method_authorizations"],
        *parameters["tag_values"]["DataClassification"],
        *parameters["tag_values"]["PciScope"],
    } - {"public"}  # also the name of a subnet tier
    trees = config_package_trees()
    literals = {node.value for tree in trees for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert literals & copied_values == set()
    assigned = {target.id for tree in trees for node in ast.walk(tree) if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    old_copies = {"ALB_TLS_POLICIES", "API_AUTHORIZATIONS", "MIN_HOT_DAYS", "MIN_RETENTION_DAYS", "PCI_SCOPES",
                  "MAX_SECRET_ROTATION_DAYS", "REQUIRED_TAGS", "DATA_CLASSIFICATIONS", "LOG_RETENTION_DAYS"}
    assert assigned & old_copies == set()


class _Recording(dict):
    def __init__(self, parameters):
        super().__init__(parameters)
        self.read: set[str] = set()

    def __getitem__(self, name):
        self.read.add(name)
        return super().__getitem__(name)


def test_every_catalog_parameter_config_reads_is_tightened_above():
    """A threshold config starts reading from the catalog gets its case in TIGHTENED, or this fails."""
    recording = _Recording(CATALOG.parameters)
    PciThresholds.from_catalog(dataclasses.replace(CATALOG, parameters=recording))
    assert recording.read == {parameter for parameter, _, _ in TIGHTENED}
