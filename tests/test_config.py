"""Environment configuration: every class of bad input is rejected before synth, naming file, field,
value and what is allowed; the CLI exits 2 and leaves the output directory untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.config import ENVIRONMENTS_DIR, ConfigError, load_environments, parse_environment

DEV = ENVIRONMENTS_DIR / "dev.yaml"


def dev_document() -> dict:
    return yaml.safe_load(DEV.read_text())


def problems_of(document: dict | str, name: str = "dev.yaml") -> list[str]:
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    with pytest.raises(ConfigError) as raised:
        parse_environment(Path(name), text)
    return list(raised.value.problems)


def test_committed_environments_load_as_frozen_typed_objects():
    configs = {c.environment: c for c in load_environments()}
    assert set(configs) == {"dev", "staging", "prod"}
    assert configs["prod"].network.nat_gateways == 3
    assert configs["dev"].availability_zones == ("us-east-1a", "us-east-1b", "us-east-1c")
    with pytest.raises(AttributeError):
        configs["dev"].region = "eu-west-1"  # type: ignore[misc]


def mutate(path: str, value):
    document = dev_document()
    *parents, leaf = path.split(".")
    node = document
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return document


DELETE = object()

BAD_INPUTS = [
    pytest.param(
        "network.vpc_cidr",
        "10.20.0.0/33",
        "dev.yaml: network.vpc_cidr: '10.20.0.0/33' is not allowed; expected an IPv4 network in CIDR "
        "notation, e.g. 10.20.0.0/16",
        id="invalid-vpc-cidr",
    ),
    pytest.param(
        "network.vpc_cidr",
        "10.20.0.0/8",
        "dev.yaml: network.vpc_cidr: '10.20.0.0/8' is not allowed; expected an IPv4 network in CIDR "
        "notation, e.g. 10.20.0.0/16",
        id="vpc-cidr-host-bits",
    ),
    pytest.param(
        "network.private_subnets",
        ["10.20.16.0/20", "10.20.32.0/20", "10.99.48.0/20"],
        "dev.yaml: network.private_subnets[2]: '10.99.48.0/20' is not allowed; expected a CIDR inside "
        "the VPC CIDR 10.20.0.0/16",
        id="subnet-outside-vpc",
    ),
    pytest.param(
        "network.database_subnets",
        ["10.20.64.0/24", "10.20.65.0/24", "10.20.16.0/24"],
        "dev.yaml: network.database_subnets[2]: '10.20.16.0/24' is not allowed; expected a CIDR that "
        "does not overlap network.private_subnets[0] (10.20.16.0/20)",
        id="overlapping-subnets",
    ),
    pytest.param(
        "network.public_subnets",
        ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.300/24"],
        "dev.yaml: network.public_subnets[2]: '10.20.2.300/24' is not allowed; expected an IPv4 network "
        "in CIDR notation with no host bits set, e.g. 10.20.0.0/24",
        id="invalid-subnet-cidr",
    ),
    pytest.param(
        "network.public_subnets",
        ["10.20.0.0/24", "10.20.1.0/24"],
        "dev.yaml: network.public_subnets: ['10.20.0.0/24', '10.20.1.0/24'] is not allowed; expected a "
        "list of exactly 3 CIDRs, one per availability zone",
        id="two-subnets-in-tier",
    ),
    pytest.param(
        "availability_zones",
        ["us-east-1a", "us-east-1b"],
        "dev.yaml: availability_zones: ['us-east-1a', 'us-east-1b'] is not allowed; expected a list of "
        "exactly 3 distinct availability zones",
        id="two-azs",
    ),
    pytest.param(
        "availability_zones",
        ["us-east-1a", "us-east-1a", "us-east-1b"],
        "dev.yaml: availability_zones: ['us-east-1a', 'us-east-1a', 'us-east-1b'] is not allowed; "
        "expected a list of exactly 3 distinct availability zones",
        id="duplicate-azs",
    ),
    pytest.param(
        "availability_zones",
        ["us-east-1a", "us-east-1b", "eu-west-1c"],
        "dev.yaml: availability_zones[2]: 'eu-west-1c' is not allowed; expected an availability zone "
        "of region us-east-1, e.g. us-east-1a",
        id="az-of-other-region",
    ),
    pytest.param(
        "network.nat_gateways",
        2,
        "dev.yaml: network.nat_gateways: 2 is not allowed; expected 1 (one shared NAT gateway) or 3 "
        "(one per availability zone)",
        id="nat-count",
    ),
    pytest.param("tags.Owner", DELETE, "dev.yaml: tags.Owner: missing; this field is required", id="missing-tag"),
    pytest.param(
        "tags.CostCenter",
        "  ",
        "dev.yaml: tags.CostCenter: '  ' is not allowed; expected a non-empty string",
        id="blank-tag",
    ),
    pytest.param(
        "tags.Environment",
        "prod",
        "dev.yaml: tags.Environment: 'prod' is not allowed; expected the environment name 'dev'",
        id="environment-tag-mismatch",
    ),
    pytest.param(
        "tags.PciScope",
        "maybe",
        "dev.yaml: tags.PciScope: 'maybe' is not allowed; expected one of in-scope, connected, out-of-scope",
        id="pci-scope",
    ),
    pytest.param(
        "network.flow_logs.retention_days",
        90,
        "dev.yaml: network.flow_logs.retention_days: 90 is not allowed; expected a CloudWatch retention "
        "of at least 365 days: 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        id="short-log-retention",
    ),
    pytest.param(
        "region",
        "us-east",
        "dev.yaml: region: 'us-east' is not allowed; expected an AWS region name such as us-east-1",
        id="region",
    ),
    pytest.param(
        "kms.deletion_window_days",
        3,
        "dev.yaml: kms.deletion_window_days: 3 is not allowed; expected an integer from 7 to 30 (days)",
        id="kms-window",
    ),
    pytest.param(
        "network.nat_gatways",
        1,
        "dev.yaml: network.nat_gatways: 1 is not allowed; expected no such "
        "field (known: vpc_cidr, public_subnets, private_subnets, database_subnets, nat_gateways, "
        "flow_logs)",
        id="unknown-field",
    ),
    pytest.param(
        "backend",
        {
            "type": "s3",
            "s3": {"key_prefix": "p", "region": "us-east-1", "kms_key_id": "alias/state", "locking": "lockfile"},
        },
        "dev.yaml: backend.s3.bucket: missing; this field is required",
        id="s3-backend-without-bucket",
    ),
    pytest.param(
        "backend",
        {
            "type": "s3",
            "s3": {
                "bucket": "b",
                "key_prefix": "p",
                "region": "us-east-1",
                "kms_key_id": "alias/state",
                "locking": "dynamodb",
            },
        },
        "dev.yaml: backend.s3.dynamodb_table: None is not allowed; expected a table name when "
        "backend.s3.locking is dynamodb",
        id="dynamodb-locking-without-table",
    ),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUTS)
def test_bad_value_is_rejected_with_file_field_value_and_allowed(field, value, message):
    assert message in problems_of(mutate(field, value))


def test_every_problem_of_a_file_is_reported_at_once():
    document = mutate("network.nat_gateways", 5)
    document["region"] = "nowhere"
    problems = problems_of(document)
    assert any("network.nat_gateways: 5" in p for p in problems)
    assert any("region: 'nowhere'" in p for p in problems)


def test_duplicate_yaml_keys_are_rejected():
    text = DEV.read_text().replace("region: us-east-1", "region: us-east-1\nregion: us-west-2")
    [problem] = problems_of(text)
    assert problem.startswith("dev.yaml: not valid YAML") and "duplicate key 'region'" in problem


def test_file_name_must_match_environment():
    assert (
        "staging.yaml: environment: 'dev' is not allowed; expected the file's name without extension ('staging')"
    ) in problems_of(dev_document(), name="staging.yaml")


def test_valid_s3_backend_is_accepted():
    document = mutate(
        "backend",
        {
            "type": "s3",
            "s3": {
                "bucket": "tfstate",
                "key_prefix": "payments",
                "region": "us-east-1",
                "kms_key_id": "alias/tfstate",
                "locking": "lockfile",
            },
        },
    )
    config = parse_environment(Path("dev.yaml"), yaml.safe_dump(document))
    assert config.backend.s3.bucket == "tfstate" and config.backend.s3.locking == "lockfile"


def write_environments(directory: Path, broken: dict | None = None) -> None:
    directory.mkdir()
    for source in ENVIRONMENTS_DIR.glob("*.yaml"):
        (directory / source.name).write_text(source.read_text())
    if broken is not None:
        (directory / "dev.yaml").write_text(yaml.safe_dump(broken))


def test_cli_exits_2_and_leaves_existing_output_untouched(tmp_path, synth_cli):
    config_dir = tmp_path / "environments"
    write_environments(config_dir, broken=mutate("network.nat_gateways", 2))
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks").mkdir(parents=True)
    sentinel = outdir / "manifest.json"
    sentinel.write_text("previous synth")
    before = sorted(p.relative_to(outdir) for p in outdir.rglob("*"))

    result = synth_cli("--config-dir", str(config_dir), "--outdir", str(outdir))

    assert result.returncode == 2, result.stderr
    assert f"{config_dir / 'dev.yaml'}: network.nat_gateways: 2 is not allowed" in result.stderr
    assert sentinel.read_text() == "previous synth"
    assert sorted(p.relative_to(outdir) for p in outdir.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out", "environments"]


def test_cli_exits_2_without_creating_output(tmp_path, synth_cli):
    config_dir = tmp_path / "environments"
    write_environments(config_dir)
    (config_dir / "prod.yaml").write_text("environment: prod\nregion: [\n")
    result = synth_cli("--config-dir", str(config_dir), "--outdir", str(tmp_path / "cdktf.out"))
    assert result.returncode == 2
    assert "prod.yaml: not valid YAML" in result.stderr
    assert not (tmp_path / "cdktf.out").exists()


def prod_document() -> dict:
    return yaml.safe_load((DEV.parent / "prod.yaml").read_text())


def test_staging_and_prod_must_keep_state_remote():
    document = prod_document()
    document["backend"] = {"type": "local"}
    assert (
        "prod.yaml: backend.type: 'local' is not allowed; expected s3 for prod: remote, encrypted, locked state "
        "(local is for dev only)"
    ) in problems_of(document, name="prod.yaml")
    assert parse_environment(Path("prod.yaml"), (DEV.parent / "prod.yaml").read_text()).backend.type == "s3"


def test_a_migrating_environment_says_who_owns_the_account_dms_roles():
    document = prod_document()
    del document["data"]["migration"]["account_dms_roles"]
    [problem] = problems_of(document, name="prod.yaml")
    assert problem.startswith("prod.yaml: data.migration.account_dms_roles: missing; required when migration is")
    document["data"]["migration"]["account_dms_roles"] = "mine"
    assert problems_of(document, name="prod.yaml") == [
        "prod.yaml: data.migration.account_dms_roles: 'mine' is not allowed; expected one of create, existing"
    ]


@pytest.mark.parametrize("path", ["/etc/ssl/ca.pem", "../outside.pem", "certificates/bundle.crt"])
def test_the_ca_bundle_is_a_pem_inside_the_repository(path):
    assert any("data.aurora.ca_bundle_file" in problem for problem in problems_of(mutate("data.aurora.ca_bundle_file",
                                                                                         path)))


def test_only_a_lambda_blue_slot_pins_downstream_versions():
    pinned = {"kind": "lambda", "weight": 0, "downstream_versions": {"payment_validation": 4, "fraud_detection": 5}}
    config = parse_environment(Path("dev.yaml"), yaml.safe_dump(mutate("compute.traffic.blue", pinned)))
    assert config.compute.blue.downstream_versions == {"payment_validation": 4, "fraud_detection": 5}
    assert any("compute.traffic.green.downstream_versions" in problem
               for problem in problems_of(mutate("compute.traffic.green", {**pinned, "weight": 100})))
    wrong = {**pinned, "downstream_versions": {"transaction_processing": 3}}
    assert any("expected a mapping of payment_validation and/or fraud_detection" in problem
               for problem in problems_of(mutate("compute.traffic.blue", wrong)))
