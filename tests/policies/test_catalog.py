"""The catalog is the single source of truth: it validates, and every layer and parameter agrees with it."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import yaml

from app import config
from app.aspects.tagging import TAGGABLE_TYPES_FILE
from policies.catalog import (
    CATALOG_FILE,
    REPO_ROOT,
    CatalogError,
    Requirements,
    assemble,
    default_catalog,
    load_requirements,
    parse_catalog,
)
from policies.checkov_layer import checks_dirs

CATALOG = default_catalog()


def custom_python_checks() -> dict[str, tuple[Path, set[str]]]:
    """check id -> (file, supported resource types), importing each check module as checkov would."""
    found = {}
    for path in sorted(p for directory in checks_dirs() for p in directory.glob("pci_*.py")):
        spec = importlib.util.spec_from_file_location(f"catalog_test_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[module.check.id] = (path, set(module.check.supported_resources))
    return found


def custom_graph_checks() -> dict[str, tuple[Path, set[str]]]:
    found = {}
    for path in sorted(p for directory in checks_dirs() for p in directory.glob("*.yaml")):
        check = yaml.safe_load(path.read_text())
        [target] = [c["value"] for c in check["definition"]["and"] if c.get("cond_type") == "filter"]
        found[check["metadata"]["id"]] = (path, set(target))
    return found


def test_the_catalog_loads_with_every_control_complete():
    assert len(CATALOG.controls) >= 40
    for control in CATALOG.controls:
        assert control.mutations and control.remediation and control.rationale
        assert all(m.strength in ("full", "partial", "supporting") and m.reason for m in control.mappings)


def test_custom_checks_are_exactly_those_of_the_catalog_with_the_declared_types():
    declared = {check: set(control.layers.checkov_types(check)) for control in CATALOG.controls
                for check in control.layers.checkov_ids if "_PCI_" in check}
    implemented = {**custom_python_checks(), **custom_graph_checks()}
    assert set(implemented) == set(declared)
    assert {check: types for check, (_, types) in implemented.items()} == declared


def test_every_custom_check_is_named_after_its_control():
    for check_id, (path, _) in custom_graph_checks().items():
        control = CATALOG.control_of_check(check_id)
        assert yaml.safe_load(path.read_text())["metadata"]["name"].startswith(f"{control.id}: ")


def test_curated_built_in_checks_exist_and_support_the_declared_types():
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.data.registry import data_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    supported: dict[str, set[str]] = {}
    for registry, prefix in ((resource_registry, ""), (data_registry, "data.")):
        for resource_type, checks in registry.checks.items():
            for check in checks:
                supported.setdefault(check.id, set()).add(prefix + resource_type)
    graph = get_graph_checks_registry("terraform")
    graph.load_checks()
    for check in graph.checks:
        supported.setdefault(check.id, set()).update(check.resource_types)
    for control in CATALOG.controls:
        for check_id, types in control.layers.checkov:
            if "_PCI_" not in check_id:
                assert set(types) <= supported.get(check_id, set()), (control.id, check_id)


def test_parameters_agree_with_the_app_configuration():
    """The thresholds config enforces are read from the catalog (tests/test_config_thresholds.py)."""
    assert set(CATALOG.parameter("non_production_environments")) < set(config.KNOWN_ENVIRONMENTS)
    assert min(config.default_thresholds().log_retention_days) == CATALOG.parameter("min_log_retention_days")
    assert (REPO_ROOT / CATALOG.parameter("taggable_resource_types_file")).resolve() == TAGGABLE_TYPES_FILE


def raw_catalog() -> dict:
    """catalog.yaml with the controls of every area under ``controls``, as load_catalog assembles it."""
    document, layout = assemble(yaml.safe_load(CATALOG_FILE.read_text()), CATALOG_FILE)
    assert not layout.problems
    return document


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda raw: raw["controls"].append(copy.deepcopy(raw["controls"][0])), "control PCI-ENC-001 is already used"),
    (lambda raw: raw["controls"][0].update(layers={"aspect": ["rds_cluster_storage_encrypted_with_cmk"]}),
     "no post-synth layer"),
    (lambda raw: raw["controls"][0].update(mutations=[]), "every control needs a mutation"),
    (lambda raw: raw["controls"][0].update(requirements=["three point five"]), "requirements[0]"),
    # a control written in the format before v4.0.1 mappings (as another branch may add) says what to write
    (lambda raw: raw["controls"][0].update(requirements=["3.5.1"]),
     "requirements[0]: '3.5.1' needs a strength and a reason; write {id: '3.5.1', strength: partial"),
    (lambda raw: raw["controls"][0].update(requirements=[{"id": "3.5.1", "strength": "strong", "reason": "x"}]),
     "requirements[0].strength: 'strong' is not allowed; expected one of full, partial, supporting"),
    (lambda raw: raw["controls"][0].update(requirements=[{"id": "3.5.1", "strength": "full"}]),
     "requirements[0].reason: missing; this field is required"),
    (lambda raw: raw["controls"][0].update(requirements=[{"id": "3.5.1", "strength": "full", "reason": "a"},
                                                         {"id": "3.5.1", "strength": "partial", "reason": "b"}]),
     "requirement 3.5.1 is mapped twice"),
    (lambda raw: raw["controls"][0].update(requirements=[{"id": "10.4.1", "strength": "partial", "reason": "x"}]),
     "PCI-ENC-001.requirements.10.4.1: partial is not allowed: requirements.yaml lists it as not evidenced"),
    (lambda raw: raw["controls"][0].update(requirements=[{"id": "9.4.1", "strength": "partial", "reason": "x"}]),
     "no paraphrase of 9.4.1 in requirements.yaml; add one"),
    (lambda raw: raw["controls"][0].update(severity="dire"), "severity"),
    (lambda raw: raw["controls"][0].update(owner="me"), "no such field"),
    (lambda raw: raw["controls"][1]["layers"]["checkov"].update(CKV_PCI_001=["aws_rds_cluster"]),
     "checkov check CKV_PCI_001 is already used by PCI-ENC-001"),
    (lambda raw: raw["controls"][0]["mutations"][0]["edits"][0]["ops"][0].update(op="explode"), "op is one of"),
    (lambda raw: raw.update(version=2), "this gate reads version 1"),
])
def test_an_invalid_catalog_is_rejected_naming_the_problem(damage, problem):
    raw = raw_catalog()
    damage(raw)
    with pytest.raises(CatalogError) as error:
        parse_catalog(raw, Path("catalog.yaml"))
    assert any(problem in line for line in error.value.problems), error.value.problems


# The mappings issue 17 names as ones a QSA would reject: none may give its requirement a verdict.
REJECTED_MAPPINGS = [("10.4.1", "PCI-LAM-003"), ("10.3.3", "PCI-DDB-001"), ("6.5.1", "PCI-ALB-003"),
                     ("12.10.5", "PCI-MON-001")]


@pytest.mark.parametrize(("requirement", "control_id"), REJECTED_MAPPINGS)
def test_mappings_a_qsa_would_reject_give_no_verdict(requirement, control_id):
    control = CATALOG.control(control_id)
    assert requirement not in control.requirements
    assert all(m.strength == "supporting" for m in control.mappings if m.requirement == requirement)


def test_encryption_at_rest_is_not_mapped_to_authentication_factor_cryptography():
    """8.3.2 is about authentication factors: no encryption-at-rest control may count toward it."""
    at_rest = [c for c in CATALOG.controls if c.id.startswith("PCI-ENC-")]
    assert len(at_rest) >= 10
    assert not [c.id for c in at_rest if "8.3.2" in {m.requirement for m in c.mappings}]
    assert not [c.id for c in CATALOG.controls if "8.3.2" in c.requirements and c.id != "PCI-SEC-002"]


def test_every_mapped_requirement_has_a_paraphrase_of_our_own_and_the_version_is_4_0_1():
    requirements = load_requirements()
    assert requirements.version == "4.0.1"
    for requirement in CATALOG.cited_requirements:
        text = requirements.paraphrase(requirement)
        assert 20 <= len(text) <= 160, (requirement, text)
    kinds = {n.kind for n in requirements.not_evidenced}
    assert kinds == {"process", "people", "runtime"}


def test_a_requirement_both_paraphrased_and_not_evidenced_is_rejected(tmp_path):
    path = tmp_path / "requirements.yaml"
    path.write_text('version: "4.0.1"\nparaphrases: {"3.5.1": stored PAN unreadable}\n'
                    'not_evidenced: [{id: "3.5.1", kind: process, paraphrase: x}]\n')
    with pytest.raises(CatalogError, match="not also under paraphrases"):
        load_requirements(path)
    path.write_text('version: "4.0"\nparaphrases: {}\nnot_evidenced: []\n')
    with pytest.raises(CatalogError, match=r"maps PCI DSS 4\.0\.1"):
        load_requirements(path)
    assert isinstance(load_requirements(), Requirements)
