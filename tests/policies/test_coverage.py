"""The coverage matrix accounts for every rule of the AWS Config PCI DSS v4.0 conformance pack exactly once;
enforced rules name known controls that have failing fixtures and mutations; a broken matrix stops the gate
(exit 2, nothing written)."""

from __future__ import annotations

import csv

import pytest
import yaml

from policies import cli, evaluation
from policies.catalog import default_catalog
from policies.coverage import (
    COVERAGE_FILE,
    DISPOSITIONS,
    PACK_FILE,
    CoverageError,
    input_parameters,
    load_coverage,
    load_pack,
    parse_coverage,
)
from tests.policies.support import all_fixtures

CATALOG = default_catalog()


def pack_identifiers() -> list[str]:
    rows = list(csv.reader(PACK_FILE.read_text(encoding="utf-8").splitlines(), delimiter="\t"))
    return [row[0] for row in rows[1:]]


def matrix() -> dict:
    return yaml.safe_load(COVERAGE_FILE.read_text(encoding="utf-8"))


def problems(raw: dict) -> list[str]:
    with pytest.raises(CoverageError) as raised:
        parse_coverage(raw, COVERAGE_FILE, load_pack(), CATALOG)
    return list(raised.value.problems)


def test_every_pack_rule_has_exactly_one_disposition():
    identifiers = pack_identifiers()
    assert len(identifiers) == len(set(identifiers)) == 127
    coverage = load_coverage(CATALOG)
    assert [d.rule.source_identifier for d in coverage.rules] == identifiers
    assert all(d.disposition in DISPOSITIONS for d in coverage.rules)
    assert sum(coverage.counts().values()) == 127
    # Each entry carries only its own disposition's fields: an enforced rule has controls and no reason...
    for disposition in coverage.rules:
        assert bool(disposition.controls) == (disposition.disposition == "enforced")
        assert bool(disposition.reason) == (disposition.disposition != "enforced")


def test_a_rule_listed_twice_is_refused_by_the_loader(tmp_path):
    text = COVERAGE_FILE.read_text(encoding="utf-8")
    duplicate = tmp_path / "coverage.yaml"
    duplicate.write_text(text + "  ACCESS_KEYS_ROTATED:\n    disposition: not-applicable\n    reason: twice\n")
    with pytest.raises(CoverageError, match="duplicate key 'ACCESS_KEYS_ROTATED'"):
        load_coverage(CATALOG, path=duplicate)


def test_enforced_controls_are_shown_to_fail_and_have_mutations():
    fixtures = all_fixtures()
    for disposition in load_coverage(CATALOG).rules:
        for control_id in disposition.controls:
            control = CATALOG.control(control_id)
            assert control.mutations, f"{control_id}: no mutation"
            assert any(f.control == control_id and f.must_fail for f in fixtures), f"{control_id}: no fail_ fixture"


def test_a_missing_pack_rule_is_named():
    raw = matrix()
    del raw["rules"]["S3_BUCKET_VERSIONING_ENABLED"]
    assert problems(raw) == [
        f"{COVERAGE_FILE}: S3_BUCKET_VERSIONING_ENABLED: pack rule missing from the matrix: give it one of "
        "enforced, runtime-only, not-applicable"
    ]


def test_an_unknown_control_or_rule_is_named():
    raw = matrix()
    raw["rules"]["S3_BUCKET_VERSIONING_ENABLED"]["controls"] = ["PCI-S3-001", "PCI-S3-999"]
    raw["rules"]["NOT_A_PACK_RULE"] = {"disposition": "not-applicable", "reason": "x"}
    found = problems(raw)
    assert f"{COVERAGE_FILE}: S3_BUCKET_VERSIONING_ENABLED: unknown control 'PCI-S3-999' (not in catalog.yaml)" in found
    assert any(p.startswith(f"{COVERAGE_FILE}: NOT_A_PACK_RULE: not a rule of the conformance pack") for p in found)
    assert len(found) == 2


@pytest.mark.parametrize(
    ("rule", "entry", "message"),
    [
        ("ACCESS_KEYS_ROTATED", {"disposition": "runtime-only", "reason": "x"}, "names the PCI DSS requirements"),
        ("ACCESS_KEYS_ROTATED", {"disposition": "ignored"}, "disposition 'ignored' is not one of"),
        ("ACCESS_KEYS_ROTATED", {"disposition": ["enforced"]}, "disposition ['enforced'] is not one of"),
        ("ACCESS_KEYS_ROTATED", {"disposition": {"enforced": None}}, "disposition {'enforced': None} is not one of"),
        ("ACM_PCA_ROOT_CA_DISABLED", {"disposition": "not-applicable"}, "says why (reason)"),
        ("S3_BUCKET_VERSIONING_ENABLED", {"disposition": "enforced"}, "names the catalog controls"),
        (
            "CW_LOGGROUP_RETENTION_PERIOD_CHECK",
            {"disposition": "enforced", "controls": ["PCI-LOG-001"], "parameters": {"MinRetentionTime": "@nope"}},
            "'@nope' names no catalog parameter",
        ),
        (
            "S3_BUCKET_VERSIONING_ENABLED",
            {"disposition": "enforced", "controls": ["PCI-S3-001"], "reason": "why not"},
            "reason is not a field of a enforced rule",
        ),
        (
            "S3_BUCKET_DEFAULT_LOCK_ENABLED",
            {"disposition": "enforced", "controls": ["PCI-S3-005"], "scope": "every_bucket"},
            "scope 'every_bucket' is not one of",
        ),
    ],
)
def test_malformed_entries_are_named(rule, entry, message):
    raw = matrix()
    raw["rules"][rule] = entry
    found = problems(raw)
    assert len(found) == 1 and found[0].startswith(f"{COVERAGE_FILE}: {rule}: ") and message in found[0], found


def test_runtime_parameters_resolve_catalog_and_deploy_time_values():
    coverage = {d.rule.source_identifier: d for d in load_coverage(CATALOG).rules}
    values = {"vpc_id": "vpc-0123"}
    assert input_parameters(coverage["CW_LOGGROUP_RETENTION_PERIOD_CHECK"], CATALOG, values) == {
        "MinRetentionTime": str(CATALOG.parameter("min_log_retention_days"))
    }
    assert input_parameters(coverage["INTERNET_GATEWAY_AUTHORIZED_VPC_ONLY"], CATALOG, values) == {
        "AuthorizedVpcIds": "vpc-0123"
    }
    alarm = input_parameters(coverage["CLOUDWATCH_ALARM_ACTION_CHECK"], CATALOG, values)
    assert alarm == {
        "alarmActionRequired": "true",
        "insufficientDataActionRequired": "false",
        "okActionRequired": "false",
    }
    # A pack default with commas inside its value stays one value.
    assert load_pack()[
        [r.source_identifier for r in load_pack()].index("API_GW_ENDPOINT_TYPE_CHECK")
    ].default_parameters == {"endpointConfigurationTypes": "REGIONAL, PRIVATE, EDGE"}


def test_the_gate_stops_on_a_broken_matrix(tmp_path, monkeypatch, capsys):
    broken = tmp_path / "coverage.yaml"
    raw = matrix()
    del raw["rules"]["ACCESS_KEYS_ROTATED"]
    broken.write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(evaluation, "load_coverage", lambda catalog: load_coverage(catalog, path=broken))
    report_dir = tmp_path / "reports"
    assert cli.run_gate(tmp_path / "no-synth", report_dir) == cli.EXIT_ERROR
    assert "ACCESS_KEYS_ROTATED: pack rule missing from the matrix" in capsys.readouterr().err
    assert not report_dir.exists() or not any(report_dir.iterdir())


def test_runtime_rules_use_only_parameters_the_managed_rules_declare():
    """AWS's managed-rule metadata (as shipped with moto, which validates PutConfigRule against it): every
    deployed rule exists, names only declared input parameters and gives every required one."""
    import gzip
    import json
    from pathlib import Path

    import moto

    metadata = Path(moto.__file__).parent / "config" / "resources" / "aws_managed_rules.json.gz"
    managed = json.loads(gzip.decompress(metadata.read_bytes()))["ManagedRules"]
    for disposition in load_coverage(CATALOG).deployed():
        identifier = disposition.rule.source_identifier
        assert identifier in managed, f"{identifier}: not an AWS managed rule"
        declared = {p["Name"]: p for p in managed[identifier].get("Parameters", [])}
        given = input_parameters(disposition, CATALOG, {"vpc_id": "vpc-0123"})
        assert set(given) <= set(declared), f"{identifier}: undeclared {set(given) - set(declared)}"
        required = {name for name, p in declared.items() if not p.get("Optional", False)}
        assert required <= set(given), f"{identifier}: missing required {required - set(given)}"
        # Config rule input parameters are strings (the console and API take a JSON map of strings).
        assert all(isinstance(value, str) for value in given.values())


def test_the_matrix_report_shows_each_rule_with_the_gate_verdict_per_environment():
    from policies.coverage import render_matrix

    def row(control: str, stack: str, verdict: str) -> dict:
        return {"control": control, "verdict": verdict, "resource": {"stack": stack}}

    document = {
        "results": [
            row("PCI-S3-001", "payments-dev-data", "COMPLIANT"),
            row("PCI-S3-001", "payments-prod-data", "COMPLIANT"),
            row("PCI-S3-001", "payments-prod-data", "NON_COMPLIANT"),
            row("PCI-RDS-003", "payments-prod-data", "EXCEPTED"),
        ]
    }
    text = render_matrix(load_coverage(CATALOG), document)
    lines = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert lines["pack rule"].endswith("| dev | prod |")
    assert lines["S3_BUCKET_VERSIONING_ENABLED"] == (
        "| S3_BUCKET_VERSIONING_ENABLED | enforced | PCI-S3-001 | COMPLIANT | NON_COMPLIANT |"
    )
    assert lines["RDS_CLUSTER_IAM_AUTHENTICATION_ENABLED"].endswith("| PCI-RDS-003 | no resource | EXCEPTED |")
    assert lines["ACCESS_KEYS_ROTATED"].endswith("| runtime | runtime |")
    assert lines["ACM_PCA_ROOT_CA_DISABLED"].endswith("| - | - |")
    assert len([name for name in lines if name != "pack rule" and not name.startswith("---")]) == 127
    counts = load_coverage(CATALOG).counts()
    assert f"{counts['enforced']} enforced, {counts['runtime-only']} runtime-only" in text
