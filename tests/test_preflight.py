"""`make preflight` (tools/preflight.py): the shipped example configs are not deployable and say exactly why; a
filled-in config passes; hostile input is a usage error (exit 2) with a message, never a traceback."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import ENVIRONMENTS_DIR, load_environments
from policies.register import REGISTER_FILE
from tests.postgres_server import make_certificate_authority
from tools import preflight

REAL_ACCOUNT = "498765432109"
# The shipped files' sample accounts: staging's and prod's (each creating its account's DMS roles) and dev's.
SAMPLE_ACCOUNTS = ("111111111111", "222222222222", "333333333333")
CA_BUNDLE_FILE = "certificates/rds-ca-bundle.pem"


@pytest.fixture
def ca_bundle(tmp_path, monkeypatch) -> Path:
    """data.aurora.ca_bundle_file, holding two CA certificates, under a stand-in for the repository root (the
    shipped tree does not have the bundle: an operator downloads it)."""
    root = tmp_path / "repository"
    (root / "certificates").mkdir(parents=True)
    pems = b"".join(make_certificate_authority(f"rds-ca-{n}").certificate_pem for n in (1, 2))
    (root / CA_BUNDLE_FILE).write_bytes(pems)
    monkeypatch.setattr(preflight, "CA_BUNDLE_ROOT", root)
    return root / CA_BUNDLE_FILE


def filled(config_dir: Path, environment: str, account: str = REAL_ACCOUNT) -> Path:
    """The environment's file with every placeholder replaced by a real-looking value in one real-looking account."""
    text = (ENVIRONMENTS_DIR / f"{environment}.yaml").read_text()
    for sample in SAMPLE_ACCOUNTS:
        text = text.replace(sample, account)
    text = text.replace("onprem.example.internal", "dc1.acme-payments.io").replace("example.com", "acme-payments.io")
    text = text.replace("198.51.100.20", "52.95.110.1").replace("198.51.100.30", "52.95.110.2")
    config_dir.mkdir(exist_ok=True)
    path = config_dir / f"{environment}.yaml"
    path.write_text(text)
    return path


def filled_prod(config_dir: Path) -> Path:
    return filled(config_dir, "prod")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = preflight.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def numbered(out: str) -> list[str]:
    return [re.sub(r"^\s*\d+\. ", "", line) for line in out.splitlines() if re.match(r"^\s*\d+\. ", line)]


@pytest.fixture
def no_ca_bundle(tmp_path, monkeypatch) -> Path:
    """The repository as shipped: no RDS CA bundle (whatever an operator's checkout holds)."""
    monkeypatch.setattr(preflight, "CA_BUNDLE_ROOT", tmp_path)
    return tmp_path / CA_BUNDLE_FILE


@pytest.fixture
def committed_register():
    """The committed exceptions register, approved by its example signatory (see `signed_register`)."""
    return REGISTER_FILE


@pytest.fixture(autouse=True)
def signed_register(request, tmp_path, monkeypatch):
    """Unless a test asks for the `committed_register`, the register's entries carry a real-looking signatory,
    so that a filled-in environment is ready; the example signatory is its own finding."""
    if "committed_register" in request.fixturenames:
        return
    signed = tmp_path / "signed-exceptions.yaml"
    signed.write_text(REGISTER_FILE.read_text(encoding="utf-8").replace("Alex Morgan", "Dana Okafor").replace(
        "Head of Information Security (example organisation)", "Chief Information Security Officer"), encoding="utf-8")
    monkeypatch.setattr(preflight, "REGISTER_FILE", signed)


def test_shipped_prod_config_is_not_ready_and_says_what_to_change_where(capsys, no_ca_bundle, committed_register):
    code, out, _ = run(capsys, "--env", "prod")
    assert code == preflight.EXIT_NOT_READY
    assert "preflight prod: NOT READY" in out
    items = numbered(out)
    assert [int(n) for n in re.findall(r"^\s*(\d+)\. ", out, re.MULTILINE)] == list(range(1, len(items) + 1))
    config_items = [item for item in items if not item.startswith("policies/exceptions.yaml: ")]
    assert all(item.startswith("app/environments/prod.yaml: ") for item in config_items)
    # the committed exceptions register is approved by its example signatory: prod's entry must be signed for real
    [approval] = [item for item in items if item.startswith("policies/exceptions.yaml: ")]
    assert re.match(r"policies/exceptions\.yaml: exceptions\[\d+\]\.approver: .* is the example signatory", approval)
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
        # the remote state's placeholder: a state key in the sample account
        "backend.s3.kms_key_id": "is in sample account 333333333333",
        "data.aurora.ca_bundle_file": "'certificates/rds-ca-bundle.pem' does not exist",
    }
    for field, problem in expected.items():
        matching = [item for item in items if item.startswith(f"app/environments/prod.yaml: {field}: ")]
        assert len(matching) == 1 and problem in matching[0], (field, matching)
    assert len(config_items) == len(expected)
    # each item says how to fix it
    assert "account.cross_account_arns" in out
    assert "truststore.pki.rds.amazonaws.com/us-east-1/us-east-1-bundle.pem" in out


@pytest.mark.parametrize("environment, remote_state", [("dev", False), ("staging", True)])
def test_shipped_dev_and_staging_configs_are_not_ready(capsys, ca_bundle, environment, remote_state):
    code, out, _ = run(capsys, "--env", environment)
    assert code == preflight.EXIT_NOT_READY
    items = numbered(out)
    assert any(f"account.id: {'1' * 12 if environment == 'dev' else '2' * 12} is a sample" in i for i in items)
    assert any("api.domain_name" in item for item in items)
    # staging's remote state is a placeholder: its state key is in the sample account; dev keeps local state
    assert any("backend.s3.kms_key_id: 'arn:aws:kms:us-east-1:222222222222:alias/payments-staging-terraform-state' "
               "is in sample account 222222222222" in item for item in items) is remote_state


@pytest.mark.parametrize("content, problem", [
    (None, "does not exist"),
    (b"", "holds no readable PEM certificate"),
    (b"hello", "holds no readable PEM certificate"),
    (b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "holds no readable PEM certificate"),
    (b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "holds no readable PEM certificate"),
])
def test_the_ca_bundle_file_must_exist_and_hold_pem_certificates(capsys, tmp_path, ca_bundle, content, problem):
    """data.aurora.ca_bundle_file is what the functions ship; a PEM file elsewhere does not count."""
    if content is None:
        ca_bundle.unlink()
    else:
        ca_bundle.write_bytes(content)
    (ca_bundle.parent.parent / "lambda_src" / "secret_rotation").mkdir(parents=True)
    (ca_bundle.parent.parent / "lambda_src" / "secret_rotation" / "other.pem").write_bytes(
        make_certificate_authority("elsewhere").certificate_pem)
    filled_prod(tmp_path / "envs")
    code, out, _ = run(capsys, "--env", "prod", "--config-dir", str(tmp_path / "envs"))
    assert code == preflight.EXIT_NOT_READY
    [item] = numbered(out)
    assert "prod.yaml: data.aurora.ca_bundle_file: 'certificates/rds-ca-bundle.pem' " in item, item
    assert problem in item and "us-east-1-bundle.pem" in item


def test_the_ca_bundle_file_is_the_configured_one(capsys, tmp_path, ca_bundle):
    path = filled_prod(tmp_path / "envs")
    path.write_text(path.read_text().replace(CA_BUNDLE_FILE, "certificates/eu-bundle.pem"))
    code, out, _ = run(capsys, "--env", "prod", "--config-dir", str(tmp_path / "envs"))
    [item] = numbered(out)
    assert code == preflight.EXIT_NOT_READY and "'certificates/eu-bundle.pem' does not exist" in item
    (ca_bundle.parent / "eu-bundle.pem").write_bytes(ca_bundle.read_bytes())
    assert run(capsys, "--env", "prod", "--config-dir", str(tmp_path / "envs"))[0] == preflight.EXIT_READY


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


def test_skipping_real_account_checks_is_stated_and_keeps_the_other_checks(capsys, tmp_path, no_ca_bundle):
    code, out, _ = run(capsys, "--env", "dev", "--skip-real-account-checks")
    assert code == preflight.EXIT_READY
    assert "real-account checks SKIPPED (--skip-real-account-checks)" in out
    assert "account.id: 111111111111 is a sample account id" in out  # listed, not counted
    code, out, _ = run(capsys, "--env", "prod", "--skip-real-account-checks")
    assert code == preflight.EXIT_READY and "data.aurora.ca_bundle_file" not in out.split("SKIPPED")[0]
    # the account-wide DMS roles are not a real-account check: still counted
    shipped = (ENVIRONMENTS_DIR / "prod.yaml").read_text()
    (tmp_path / "prod.yaml").write_text(shipped.replace("account_dms_roles: create", "account_dms_roles: existing"))
    code, out, _ = run(capsys, "--env", "prod", "--config-dir", str(tmp_path), "--skip-real-account-checks")
    assert code == preflight.EXIT_NOT_READY
    [item] = numbered(out)
    assert "data.migration.account_dms_roles: no environment of account 333333333333" in item


def test_staging_and_prod_state_must_be_remote(capsys, tmp_path, ca_bundle):
    """The config loader refuses local state outside dev; preflight reports it as an invalid file (exit 2)."""
    path = filled_prod(tmp_path)
    text = path.read_text()
    start, end = text.index("backend:\n"), text.index("\nnetwork:")
    path.write_text(text[:start] + "backend:\n  type: local\n" + text[end:])
    code, out, err = run(capsys, "--env", "prod", "--config-dir", str(tmp_path))
    assert (code, out) == (preflight.EXIT_USAGE, "")
    assert "backend.type" in err and "s3 for prod" in err


def _roles(path: Path, ownership: str) -> None:
    text = path.read_text()
    assert "account_dms_roles: create" in text
    path.write_text(text.replace("account_dms_roles: create", f"account_dms_roles: {ownership}"))


@pytest.mark.parametrize("staging_account, staging_roles, prod_roles, flagged", [
    (REAL_ACCOUNT, "create", "create", "'create' in 2 environments of account 498765432109 (prod, staging)"),
    (REAL_ACCOUNT, "existing", "existing", "no environment of account 498765432109 that runs the migration "
                                           "(prod, staging) creates"),
    (REAL_ACCOUNT, "existing", "create", None),
    (REAL_ACCOUNT, "create", "existing", None),
    ("498765432110", "create", "create", None),  # one pair per account: two accounts, two creators
])
def test_exactly_one_environment_per_account_creates_the_dms_roles(capsys, tmp_path, ca_bundle, staging_account,
                                                                   staging_roles, prod_roles, flagged):
    _roles(filled(tmp_path, "staging", staging_account), staging_roles)
    _roles(filled(tmp_path, "prod"), prod_roles)
    for environment in ("prod", "staging"):
        code, out, err = run(capsys, "--env", environment, "--config-dir", str(tmp_path))
        items = numbered(out)
        if flagged is None:
            assert (code, items, err) == (preflight.EXIT_READY, [], ""), out
        else:
            [item] = items
            assert code == preflight.EXIT_NOT_READY
            assert f"{environment}.yaml: data.migration.account_dms_roles: {flagged}" in item, item
            assert "exactly one" in item


def test_an_environment_without_the_migration_neither_needs_nor_counts_the_dms_roles(capsys, tmp_path, ca_bundle):
    staging = filled(tmp_path, "staging")
    text = staging.read_text()
    assert "    enabled: true\n    account_dms_roles: create" in text
    # it still says create, but creates nothing without the migration (app/stacks/security.py)
    staging.write_text(text.replace("    enabled: true\n    account_dms_roles: create",
                                    "    enabled: false\n    account_dms_roles: create"))
    assert not preflight.load_environment(staging).data.migration.enabled
    _roles(filled(tmp_path, "prod"), "existing")
    code, out, _ = run(capsys, "--env", "prod", "--config-dir", str(tmp_path))
    [item] = numbered(out)
    assert code == preflight.EXIT_NOT_READY and "no environment of account 498765432109 that runs the migration " \
        "(prod) creates" in item
    assert run(capsys, "--env", "staging", "--config-dir", str(tmp_path))[0] == preflight.EXIT_READY


def test_an_invalid_environment_file_beside_it_is_a_usage_error(capsys, tmp_path, ca_bundle):
    filled_prod(tmp_path)
    (tmp_path / "staging.yaml").write_text("environment: staging\n")
    code, out, err = run(capsys, "--env", "prod", "--config-dir", str(tmp_path))
    assert (code, out) == (preflight.EXIT_USAGE, "")
    assert "staging.yaml" in err and "nothing was checked" in err and "Traceback" not in err


def test_the_shipped_environments_each_create_their_accounts_dms_roles(no_ca_bundle):
    configs = load_environments()
    verdicts = {c.environment: preflight.check(c) for c in configs}
    assert not [f for v in verdicts.values() for f in v.findings if f.field == "data.migration.account_dms_roles"]
    creators = {c.account.id: c.environment for c in configs
                if c.data.migration.enabled and c.data.migration.account_dms_roles == "create"}
    assert creators == {"222222222222": "staging", "333333333333": "prod"}


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


def test_an_exception_approved_by_a_real_person_passes_and_the_example_signatory_does_not(tmp_path, configs):
    committed = REGISTER_FILE.read_text(encoding="utf-8")
    for environment, config in configs.items():
        flagged = preflight.exception_approvals(config, REGISTER_FILE)
        assert [f.field for f in flagged] and all(f.real_account for f in flagged), environment
    signed = tmp_path / "exceptions.yaml"
    signed.write_text(committed.replace("Alex Morgan", "Dana Okafor").replace(
        "Head of Information Security (example organisation)", "Chief Information Security Officer"), encoding="utf-8")
    assert all(preflight.exception_approvals(config, signed) == [] for config in configs.values())
    broken = tmp_path / "broken.yaml"
    broken.write_text("exceptions: [", encoding="utf-8")
    with pytest.raises(preflight.ConfigError):
        preflight.exception_approvals(configs["prod"], broken)
