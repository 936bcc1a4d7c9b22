"""One validator per section of an environment file (app/config/validators/): each accepts its section of every
shipped environment file, refuses a violation of its own rules with the house message
(``file: field: value is not allowed; expected ...``), and on any hostile value either builds its model with no
problem or records at least one problem about its own section, never raising."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from app.config import ENVIRONMENTS_DIR, KNOWN_ENVIRONMENTS, ConfigError, default_thresholds, parse_environment
from app.config.reader import FieldReader
from app.config.validators.account import validate_account
from app.config.validators.api import validate_api
from app.config.validators.audit_archive import validate_audit_archive
from app.config.validators.aurora import validate_aurora
from app.config.validators.backend import validate_backend
from app.config.validators.baseline import validate_baseline
from app.config.validators.compute import validate_compute
from app.config.validators.data import validate_data
from app.config.validators.kms import validate_kms
from app.config.validators.logging import validate_logging
from app.config.validators.migration import validate_migration
from app.config.validators.monitoring import validate_monitoring
from app.config.validators.network import validate_network
from app.config.validators.placement import validate_placement
from app.config.validators.runtime import validate_runtime
from app.config.validators.tags import validate_tags
from app.config.validators.traffic import validate_traffic_slot

THRESHOLDS = default_thresholds()
DOCUMENTS = {name: yaml.safe_load((ENVIRONMENTS_DIR / f"{name}.yaml").read_text()) for name in KNOWN_ENVIRONMENTS}

# section (its dotted path in the file) -> how its validator is called on (reader, section value, environment)
Validator = Callable[[FieldReader, Any, str], object]
VALIDATORS: dict[str, Validator] = {
    "tags": validate_tags,
    "backend": lambda reader, raw, _: validate_backend(reader, raw),
    "network": lambda reader, raw, _: validate_network(reader, raw, "network"),
    "logging": lambda reader, raw, _: validate_logging(reader, raw),
    "kms": lambda reader, raw, _: validate_kms(reader, raw),
    "data": validate_data,
    "data.aurora": validate_aurora,
    "data.audit_archive": lambda reader, raw, _: validate_audit_archive(reader, raw),
    "data.migration": lambda reader, raw, _: validate_migration(reader, raw),
    "runtime": lambda reader, raw, _: validate_runtime(reader, raw),
    "compute": lambda reader, raw, _: validate_compute(reader, raw),
    "compute.traffic.blue": lambda reader, raw, _: validate_traffic_slot(reader, raw, "blue"),
    "compute.traffic.green": lambda reader, raw, _: validate_traffic_slot(reader, raw, "green"),
    "api": lambda reader, raw, _: validate_api(reader, raw),
    "monitoring": lambda reader, raw, _: validate_monitoring(reader, raw),
    "account": lambda reader, raw, _: validate_account(reader, raw),
    "baseline": validate_baseline,
}


def section_of(document: dict[str, Any], section: str) -> Any:
    node: Any = document
    for key in section.split("."):
        node = node[key]
    return node


def run(section: str, raw: Any, environment: str) -> tuple[object, list[str]]:
    reader = FieldReader(Path(f"{environment}.yaml"), THRESHOLDS)
    return VALIDATORS[section](reader, raw, environment), reader.problems


@pytest.mark.parametrize("environment", KNOWN_ENVIRONMENTS)
@pytest.mark.parametrize("section", VALIDATORS)
def test_each_section_validator_accepts_the_shipped_environment_files(section, environment):
    model, problems = run(section, section_of(DOCUMENTS[environment], section), environment)
    assert problems == []
    assert model is not None


def test_the_placement_validator_accepts_the_shipped_environment_files():
    for environment, document in DOCUMENTS.items():
        reader = FieldReader(Path(f"{environment}.yaml"), THRESHOLDS)
        placement = validate_placement(reader, document, environment)
        assert reader.problems == []
        assert placement is not None and placement.region == document["region"]


# One violation of each section's own rules: (section, key inside it, bad value, environment, expected message).
VIOLATIONS = [
    ("tags", "PciScope", "everything", "dev",
     "dev.yaml: tags.PciScope: 'everything' is not allowed; expected one of " + ", ".join(THRESHOLDS.pci_scopes)),
    ("backend", "type", "etcd", "dev", "dev.yaml: backend.type: 'etcd' is not allowed; expected one of local, s3"),
    ("network", "nat_gateways", 2, "dev", "dev.yaml: network.nat_gateways: 2 is not allowed; expected 1 (one shared "
     "NAT gateway) or 3 (one per availability zone)"),
    ("logging", "retention_days", 90, "dev", "dev.yaml: logging.retention_days: 90 is not allowed; expected a "
     f"CloudWatch retention of at least {THRESHOLDS.min_log_retention_days} days: "
     + ", ".join(map(str, THRESHOLDS.log_retention_days))),
    ("kms", "deletion_window_days", 31, "dev",
     "dev.yaml: kms.deletion_window_days: 31 is not allowed; expected an integer from 7 to 30 (days)"),
    ("data", "secret_rotation_days", THRESHOLDS.max_secret_rotation_days + 1, "dev",
     f"dev.yaml: data.secret_rotation_days: {THRESHOLDS.max_secret_rotation_days + 1} is not allowed; expected 1 to "
     f"{THRESHOLDS.max_secret_rotation_days} days (PCI DSS 8.3.9 / 8.6.3)"),
    ("data.aurora", "deletion_protection", False, "prod",
     "prod.yaml: data.aurora.deletion_protection: False is not allowed; expected true in prod"),
    ("data.audit_archive", "object_lock_mode", "NONE", "dev", "dev.yaml: data.audit_archive.object_lock_mode: "
     "'NONE' is not allowed; expected one of COMPLIANCE, GOVERNANCE"),
    ("data.migration", "allocated_storage_gb", 10, "dev",
     "dev.yaml: data.migration.allocated_storage_gb: 10 is not allowed; expected 20 to 6144 GB"),
    ("runtime", "powertools_layer_version", 0, "dev", "dev.yaml: runtime.powertools_layer_version: 0 is not "
     "allowed; expected the version number of the AWS-managed Powertools for AWS Lambda (Python) v3 layer"),
    ("compute", "functions", {}, "dev", "dev.yaml: compute.functions.payment_validation: missing; this field is "
     "required"),
    ("compute.traffic.green", "kind", "canary", "dev",
     "dev.yaml: compute.traffic.green.kind: 'canary' is not allowed; expected one of lambda, onprem"),
    ("api", "authorization", "NONE", "dev", "dev.yaml: api.authorization: 'NONE' is not allowed; expected one of "
     + ", ".join(THRESHOLDS.api_authorizations) + " (never NONE)"),
    ("monitoring", "evaluation_periods", 61, "dev",
     "dev.yaml: monitoring.evaluation_periods: 61 is not allowed; expected 1 to 60"),
    ("account", "id", "12345", "dev",
     "dev.yaml: account.id: '12345' is not allowed; expected a 12-digit AWS account id as a quoted string"),
    ("baseline", "account_owner", "yes", "dev",
     "dev.yaml: baseline.account_owner: 'yes' is not allowed; expected true or false"),
]


def test_every_section_validator_has_a_violation_case():
    assert {section for section, *_ in VIOLATIONS} | {"data.aurora", "compute.traffic.blue"} >= set(VALIDATORS)


@pytest.mark.parametrize(("section", "key", "value", "environment", "message"), VIOLATIONS,
                         ids=[f"{case[0]}.{case[1]}" for case in VIOLATIONS])
def test_each_section_validator_refuses_a_violation_of_its_section(section, key, value, environment, message):
    raw = copy.deepcopy(section_of(DOCUMENTS[environment], section))
    raw[key] = value
    _, problems = run(section, raw, environment)
    assert message in problems
    # The loader runs this validator: the whole file reports the same problem.
    document = copy.deepcopy(DOCUMENTS[environment])
    section_of(document, section)[key] = value
    with pytest.raises(ConfigError) as raised:
        parse_environment(Path(f"{environment}.yaml"), yaml.safe_dump(document))
    assert message in raised.value.problems


def test_the_placement_validator_refuses_a_zone_of_another_region():
    document = copy.deepcopy(DOCUMENTS["dev"])
    document["availability_zones"][2] = "eu-west-1c"
    reader = FieldReader(Path("dev.yaml"), THRESHOLDS)
    assert validate_placement(reader, document, "dev") is None
    assert reader.problems == ["dev.yaml: availability_zones[2]: 'eu-west-1c' is not allowed; expected an "
                               "availability zone of region us-east-1, e.g. us-east-1a"]


HOSTILE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats(allow_nan=True) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12,
)


def leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    return [path, *(p for key, child in children for p in leaf_paths(child, (*path, key)))]


@seed(19)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_hostile_value_anywhere_in_a_section_is_a_model_or_problems_about_that_section(data):
    section = data.draw(st.sampled_from(sorted(VALIDATORS)))
    environment = data.draw(st.sampled_from(KNOWN_ENVIRONMENTS))
    raw = copy.deepcopy(section_of(DOCUMENTS[environment], section))
    path = data.draw(st.sampled_from(leaf_paths(raw)))
    value = data.draw(HOSTILE)
    if path:
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    else:
        raw = value
    model, problems = run(section, raw, environment)
    assert model is not None or problems, "a validator that returns nothing records why (the loader relies on it)"
    for problem in problems:
        assert problem.startswith(f"{environment}.yaml: {section}"), problem
        assert len(problem) < 2000, "values and field names are quoted to a bounded length"


def test_the_package_re_exports_every_model_class_and_constant_from_app_config():
    """Callers import from ``app.config`` only: a model class or constant left out of ``__init__`` breaks them."""
    import importlib
    import pkgutil

    import app.config as package

    assert sorted(package.__all__) == sorted(set(package.__all__))
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    for module_info in pkgutil.walk_packages(package.__path__, "app.config."):
        module = importlib.import_module(module_info.name)
        public = {name for name, value in vars(module).items()
                  if getattr(value, "__module__", module.__name__) == module.__name__
                  and not name.startswith("_")
                  and (name.isupper() or (isinstance(value, type) and name[0].isupper()))}
        assert public <= set(package.__all__), (module.__name__, public - set(package.__all__))


def test_importing_the_config_loads_neither_cdktf_nor_the_provider_bindings_nor_checkov():
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    heavy = ("cdktf", "cdktf_cdktf_provider_aws", "checkov", "constructs")
    probe = f"import sys, app.config; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=120, check=True)
    assert completed.stdout.strip() == "[]"


def address_as_integer(text: str) -> int:
    import ipaddress

    return int(ipaddress.IPv4Address(text))


# YAML reads an unquoted number or true/false as such, and ipaddress reads an integer (a boolean is one) as an
# address: each of these was accepted and reached the synth as a raw number.
NUMERIC_ADDRESSES = [
    ("network.public_subnets", 0, address_as_integer("10.20.0.0"), "dev",
     "an IPv4 network in CIDR notation with no host bits set, e.g. 10.20.0.0/24"),
    ("data.migration.source.cidrs", 0, True, "prod",
     "a non-empty list of on-prem IPv4 CIDRs (never 0.0.0.0/0)"),
    ("compute.vpn.onprem_cidrs", 0, address_as_integer("172.16.0.0"), "prod",
     "a non-empty list of private IPv4 CIDRs"),
    ("compute.traffic.blue.targets", 0, address_as_integer("172.16.1.10"), "prod",
     "a non-empty list of private IPv4 addresses of the on-prem payment service"),
    ("compute.vpn", "customer_gateway_ip", address_as_integer("198.51.100.20"), "prod",
     "the public IPv4 address of the on-prem VPN device"),
]


@pytest.mark.parametrize(("where", "key", "number", "environment", "expected"), NUMERIC_ADDRESSES,
                         ids=[case[0] for case in NUMERIC_ADDRESSES])
def test_an_address_or_cidr_written_as_a_number_is_refused(where, key, number, environment, expected):
    document = copy.deepcopy(DOCUMENTS[environment])
    section_of(document, where)[key] = number
    with pytest.raises(ConfigError) as raised:
        parse_environment(Path(f"{environment}.yaml"), yaml.safe_dump(document))
    field = where if isinstance(key, int) else f"{where}.{key}"
    [problem] = [p for p in raised.value.problems if p.startswith(f"{environment}.yaml: {field}")]
    assert problem.endswith(f"is not allowed; expected {expected}")
