"""`make preflight` (tools/preflight.py): the shipped example configs are not deployable and say exactly why; a
filled-in config passes; hostile input is a usage error (exit 2) with a message, never a traceback."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import ENVIRONMENTS_DIR
from tools import preflight

REAL_ACCOUNT = "498765432109"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
S3_BACKEND = f"""backend:
  type: s3
  s3:
    bucket: acme-payments-terraform-state
    key_prefix: payments/prod
    region: us-east-1
    kms_key_id: arn:aws:kms:us-east-1:{REAL_ACCOUNT}:key/5a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d
    locking: lockfile
"""


@pytest.fixture
def ca_bundle(tmp_path, monkeypatch) -> Path:
    """The rotation function's source with a CA bundle in it (the shipped tree may not have one yet)."""
    source = tmp_path / "secret_rotation"
    source.mkdir()
    (source / "rds-ca-bundle.pem").write_text(PEM)
    monkeypatch.setattr(preflight, "ROTATION_SOURCE", source)
    return source


def filled_prod(config_dir: Path, text: str | None = None) -> Path:
    """prod.yaml with every placeholder replaced by a real-looking value in one real-looking account."""
    text = text or (ENVIRONMENTS_DIR / "prod.yaml").read_text()
    for sample in ("333333333333", "111111111111"):
        text = text.replace(sample, REAL_ACCOUNT)
    text = text.replace("onprem.example.internal", "dc1.acme-payments.io").replace("example.com", "acme-payments.io")
    text = text.replace("198.51.100.20", "52.95.110.1")
    text = text.replace("backend:\n  type: local\n", S3_BACKEND)
    config_dir.mkdir(exist_ok=True)
    path = config_dir / "prod.yaml"
    path.write_text(text)
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = preflight.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def numbered(out: str) -> list[str]:
    return [re.sub(r"^\s*\d+\. ", "", line) for line in out.splitlines() if re.match(r"^\s*\d+\. ", line)]


def test_shipped_prod_config_is_not_ready_and_says_what_to_change_where(capsys, ca_bundle):
    code, out, _ = run(capsys, "--env", "prod")
    assert code == preflight.EXIT_NOT_READY
    assert "preflight prod: NOT READY" in out
    items = numbered(out)
    assert [int(n) for n in re.findall(r"^\s*(\d+)\. ", out, re.MULTILINE)] == list(range(1, len(items) + 1))
    assert all(item.startswith("app/environments/prod.yaml: ") for item in items)
    expected = {
        "account.id": "333333333333 is a sample account id",
        "compute.vpn.customer_gateway_ip": "is in 198.51.100.0/24, an IP range reserved for documentation",
        # the finding: prod's DMS secret and CA live in dev's (sample) account
        "data.migration.source.credentials_secret_arn": "is in account 111111111111, not in this environment's "
                                                         "account 333333333333",
        "data.migration.source.ca_certificate_arn": "is in account 111111111111",
        "compute.alb.certificate_arn": "is in sample account 333333333333",
        "api.certificate_arn": "is in sample account 333333333333",
        "api.domain_name": "uses example.com, a reserved example name",
        "compute.alb.internal_hostname": "uses example.com",
        "data.migration.source.host": "uses example.internal",
        "monitoring.subscriptions.failed_transactions[0].endpoint": "uses example.com",
        "monitoring.subscriptions.system_errors[0].endpoint": "uses example.com",
        "tags.Owner": "uses example.com",
        "backend.type": "'local': prod state would live on one machine",
    }
    for field, problem in expected.items():
        matching = [item for item in items if item.startswith(f"app/environments/prod.yaml: {field}: ")]
        assert len(matching) == 1 and problem in matching[0], (field, matching)
    assert len(items) == len(expected)
    assert "set `type: s3`" in out and "account.cross_account_arns" in out  # each item says how to fix it


@pytest.mark.parametrize("environment, remote_state", [("dev", False), ("staging", True)])
def test_shipped_dev_and_staging_configs_are_not_ready(capsys, ca_bundle, environment, remote_state):
    code, out, _ = run(capsys, "--env", environment)
    assert code == preflight.EXIT_NOT_READY
    items = numbered(out)
    assert any(f"account.id: {'1' * 12 if environment == 'dev' else '2' * 12} is a sample" in i for i in items)
    assert any("api.domain_name" in item for item in items)
    assert any("backend.type" in item for item in items) is remote_state


def test_a_missing_rotation_ca_bundle_is_named(capsys, tmp_path, monkeypatch):
    empty = tmp_path / "secret_rotation"
    empty.mkdir()
    (empty / "not-a-cert.pem").write_text("hello")
    monkeypatch.setattr(preflight, "ROTATION_SOURCE", empty)
    filled_prod(tmp_path / "envs")
    code, out, _ = run(capsys, "--env", "prod", "--config-dir", str(tmp_path / "envs"))
    assert code == preflight.EXIT_NOT_READY
    [item] = numbered(out)
    assert "no CA bundle" in item and "us-east-1-bundle.pem" in item


def test_a_filled_in_config_is_ready(capsys, tmp_path, ca_bundle):
    filled_prod(tmp_path)
    code, out, err = run(capsys, "--env", "prod", "--config-dir", str(tmp_path))
    assert (code, err) == (preflight.EXIT_READY, ""), out
    assert out.strip() == "preflight prod: ready to deploy"


def test_arns_must_be_in_the_account_and_region_unless_listed_as_cross_account(capsys, tmp_path, ca_bundle):
    foreign = "arn:aws:secretsmanager:us-east-1:555566667777:secret:payments/prod/onprem-source-AbCdEf"
    text = filled_prod(tmp_path).read_text()
    text = text.replace(f"arn:aws:secretsmanager:us-east-1:{REAL_ACCOUNT}:secret:payments/prod/onprem-source-AbCdEf",
                        foreign)
    text = text.replace(f"arn:aws:dms:us-east-1:{REAL_ACCOUNT}:", f"arn:aws:dms:eu-west-1:{REAL_ACCOUNT}:")
    (tmp_path / "prod.yaml").write_text(text)
    code, out, _ = run(capsys, "--env", "prod", "--config-dir", str(tmp_path))
    assert code == preflight.EXIT_NOT_READY
    items = numbered(out)
    assert len(items) == 2
    assert "credentials_secret_arn" in items[0] and "in account 555566667777" in items[0]
    assert "ca_certificate_arn" in items[1] and "in region eu-west-1, not in us-east-1" in items[1]

    listed = text.replace("  cross_account_arns: []", f"  cross_account_arns:\n    - arn: {foreign}\n"
                          "      reason: the on-prem team's shared secrets account")
    (tmp_path / "prod.yaml").write_text(listed)
    code, out, _ = run(capsys, "--env", "prod", "--config-dir", str(tmp_path))
    [item] = numbered(out)
    assert code == preflight.EXIT_NOT_READY and "eu-west-1" in item


def test_skipping_real_account_checks_is_stated_and_keeps_the_other_checks(capsys, ca_bundle):
    code, out, _ = run(capsys, "--env", "dev", "--skip-real-account-checks")
    assert code == preflight.EXIT_READY
    assert "real-account checks SKIPPED (--skip-real-account-checks)" in out
    assert "account.id: 111111111111 is a sample account id" in out  # listed, not counted
    code, out, _ = run(capsys, "--env", "prod", "--skip-real-account-checks")
    assert code == preflight.EXIT_NOT_READY
    assert numbered(out) == [numbered(out)[0]] and "backend.type" in numbered(out)[0]  # remote state still required


DOCUMENTATION = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=st.one_of(
    st.sampled_from(DOCUMENTATION).flatmap(lambda net: st.integers(1, 254).map(lambda h: str(net[h]))),
    st.ip_addresses(v=4).filter(lambda ip: ip.is_global and not ip.is_multicast).map(str),
))
def test_a_documentation_address_is_always_found_and_a_real_one_never(tmp_path_factory, ca_bundle, address):
    config_dir = tmp_path_factory.mktemp("envs")
    path = filled_prod(config_dir)
    path.write_text(path.read_text().replace("52.95.110.1", address))
    config = preflight.load_environment(path)
    verdict = preflight.check(config)
    flagged = [f for f in verdict.findings if f.field == "compute.vpn.customer_gateway_ip"]
    in_documentation = any(ipaddress.ip_address(address) in net for net in DOCUMENTATION)
    assert len(flagged) == int(in_documentation), (address, verdict.findings)
    assert len(verdict.findings) == len(flagged)


@pytest.mark.parametrize("name", ["example.com", "example.org", "example.net", "pay.example", "db.test",
                                  "host.invalid", "Payments.EXAMPLE.com"])
def test_every_reserved_name_is_found(tmp_path, ca_bundle, name):
    path = filled_prod(tmp_path)
    path.write_text(path.read_text().replace("payments-api.prod.acme-payments.io", f"payments-api.{name}".lower()))
    flagged = [f for f in preflight.check(preflight.load_environment(path)).findings if f.field == "api.domain_name"]
    assert len(flagged) == 1 and "reserved example name" in flagged[0].problem


HOSTILE = {
    "not YAML": "environment: prod\n  : - [\n",
    "account id as a number": None,  # built below from the filled config
    "account id too short": None,
    "unknown account field": None,
    "cross-account entry without reason": None,
    "not UTF-8": b"environment: prod\n\xff\xfe",
    "empty": "",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_config_is_a_usage_error_with_a_message(capsys, tmp_path, ca_bundle, case):
    path = filled_prod(tmp_path)
    text = path.read_text()
    replacements = {
        "account id as a number": (f'id: "{REAL_ACCOUNT}"', f"id: {REAL_ACCOUNT}"),
        "account id too short": (f'id: "{REAL_ACCOUNT}"', 'id: "1234"'),
        "unknown account field": ("  cross_account_arns: []", "  cross_account_arns: []\n  alias: prod"),
        "cross-account entry without reason": ("  cross_account_arns: []",
                                               f"  cross_account_arns: [{{arn: 'arn:aws:s3:::b{'x' * 300}'}}]"),
    }
    if case in replacements:
        old, new = replacements[case]
        assert old in text
        path.write_text(text.replace(old, new))
    elif isinstance(HOSTILE[case], bytes):
        path.write_bytes(HOSTILE[case])
    else:
        path.write_text(HOSTILE[case])
    code, out, err = run(capsys, "--env", "prod", "--config-dir", str(tmp_path))
    assert code == preflight.EXIT_USAGE, (out, err)
    assert "Traceback" not in err and "prod.yaml" in err and "nothing was checked" in err
    assert out == ""


@pytest.mark.parametrize("args", [[], ["--env"], ["--env", "../prod"], ["--env", "qa"], ["--env", "prod", "--bogus"]])
def test_bad_arguments_are_a_usage_error(capsys, args):
    code, out, err = run(capsys, *args)
    assert code == preflight.EXIT_USAGE and out == "" and err
