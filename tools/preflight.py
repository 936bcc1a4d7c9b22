"""``make preflight ENV=<env>``: what must be true before a real ``terraform apply`` that the gate cannot know.

    python -m tools.preflight --env prod [--config-dir app/environments] [--skip-real-account-checks]

The gate proves the synth compliant; it cannot know whether the values in the environment's file are real.
Preflight reads the file as written (so every field is named as in the file) and lists, numbered, what to
change and where:

- **placeholders** (real-account checks): documentation-only IP ranges (192.0.2.0/24, 198.51.100.0/24,
  203.0.113.0/24, RFC 5737), reserved example names (example.com/.org/.net, any ``example`` label, the
  ``.test``/``.invalid``/``.localhost`` top-level domains, RFC 2606/6761), sample account ids;
- **ownership** (real-account checks): every ARN in the file is in ``account.id`` and in the environment's region,
  unless listed under ``account.cross_account_arns`` with a reason;
- **trust anchors** (real-account checks): the DMS source CA certificate ARN while the migration is on, and the RDS
  CA bundle (``data.aurora.ca_bundle_file``) that the rotation and bootstrap functions verify the database's
  certificate with: it exists and holds PEM certificates;
- **always**: ``account.id`` is set, both alert topics have subscriptions, and of the environments that run the
  migration in one account (every environment file beside this one is read), exactly one has
  ``data.migration.account_dms_roles: create`` (the roles' names are fixed by AWS, one pair per account).

Remote state for staging and prod is the config loader's rule (an invalid file: exit 2); the placeholders in its
``backend.s3`` values (a state key in a sample account) are found by the checks above.

``--skip-real-account-checks`` leaves out the checks marked real-account (for the emulator rehearsal, whose account
and endpoints are not real); the output says which were skipped.

Exit codes: 0 ready; 1 not ready (the numbered list); 2 usage error or an invalid environment file.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509

from app.config import ENVIRONMENTS_DIR, KNOWN_ENVIRONMENTS, ConfigError, EnvironmentConfig, load_environment
from app.packaging import REPO_ROOT as CA_BUNDLE_ROOT  # data.aurora.ca_bundle_file is relative to it, as in the synth
from policies.register import REGISTER_FILE, RegisterError, load_register
from tools.arguments import add_environment_option

EXIT_READY, EXIT_NOT_READY, EXIT_USAGE = 0, 1, 2
REPO_ROOT = Path(__file__).resolve().parent.parent
DOCUMENTATION_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
RESERVED_TOP_LEVEL_DOMAINS = ("example", "test", "invalid", "localhost")
# Account ids of AWS's documentation and of this project's samples; never a real deployment target.
SAMPLE_ACCOUNT_IDS = frozenset({"123456789012", "111122223333", "444455556666", "777788889999", "012345678901",
                                "210987654321"} | {digit * 12 for digit in "0123456789"})
_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                  r"(?P<account>\d{12}|aws)?:(?P<resource>.+)$")
_NAME = re.compile(r"(?:^|[@/.])((?:[a-z0-9-]+\.)+[a-z]{2,63})(?=$|[/:?#])", re.IGNORECASE)
MAX_QUOTED = 80
# How the committed register marks its sample approver (policies/exceptions.yaml).
_EXAMPLE_APPROVER = re.compile(r"\bexample\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    file: Path
    field: str
    problem: str
    fix: str
    real_account: bool

    def line(self) -> str:
        return f"{_relative(self.file)}: {self.field}: {self.problem}; {self.fix}"


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 3] + "..."


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(field, scalar) of every scalar of a YAML document, fields written as in the file: a.b[0].c."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _documentation_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return next((doc for doc in DOCUMENTATION_NETWORKS if network.version == doc.version and network.overlaps(doc)),
                None)


def _reserved_name(text: str) -> str | None:
    for match in _NAME.finditer(text):
        labels = match.group(1).lower().split(".")
        if "example" in labels:
            return ".".join(labels[labels.index("example"):])
        if labels[-1] in RESERVED_TOP_LEVEL_DOMAINS:
            return "." + labels[-1]
    return None


class Preflight:
    def __init__(self, config: EnvironmentConfig, document: dict):
        self.config = config
        self.document = document
        self.file = config.source
        self.findings: list[Finding] = []

    def add(self, field: str, problem: str, fix: str, *, real_account: bool) -> None:
        self.findings.append(Finding(self.file, field, problem, fix, real_account))

    def run(self, peers: Sequence[EnvironmentConfig] = ()) -> list[Finding]:
        """``peers``: the other environments (their files beside this one), for the account-wide checks."""
        self._account()
        exceptions = {e.arn for e in self.config.account.cross_account_arns} if self.config.account else set()
        for field, value in leaves(self.document):
            if isinstance(value, str):
                self._placeholder(field, value)
                arn = _ARN.match(value)
                if arn:
                    self._arn(field, value, arn, listed=value in exceptions or field.startswith("account."))
        self._subscriptions()
        self._trust_anchors()
        self._account_dms_roles(peers)
        return self.findings

    def _account(self) -> None:
        account = self.config.account
        if account is None:
            self.add("account.id", "missing",
                     "add `account: {id: \"<12-digit id>\"}` with the id of the AWS account this environment deploys "
                     "to (ARNs are checked against it)", real_account=False)
        elif account.id in SAMPLE_ACCOUNT_IDS:
            self.add("account.id", f"{account.id} is a sample account id",
                     "set the id of the AWS account this environment deploys to", real_account=True)

    def _placeholder(self, field: str, value: str) -> None:
        network = _documentation_network(value)
        if network is not None:
            self.add(field, f"{_quote(value)} is in {network}, an IP range reserved for documentation (RFC 5737)",
                     "set the real address or range", real_account=True)
        name = _reserved_name(value)
        if name is not None:
            self.add(field, f"{_quote(value)} uses {name}, a reserved example name (RFC 2606)",
                     "set the real name or address", real_account=True)

    def _arn(self, field: str, value: str, arn: re.Match, *, listed: bool) -> None:
        """``listed``: a declared cross-account ARN, which may be elsewhere but must still be real."""
        account = self.config.account
        owner = arn.group("account")
        if not listed and account is not None and owner not in (account.id, "aws", None):
            self.add(field, f"{_quote(value)} is in account {arn.group('account')}, not in this environment's "
                     f"account {account.id}", "use the resource in this account, or list the ARN under "
                     "account.cross_account_arns with the reason it lives elsewhere", real_account=True)
        elif owner in SAMPLE_ACCOUNT_IDS:
            self.add(field, f"{_quote(value)} is in sample account {owner}", "set the ARN of the real resource",
                     real_account=True)
        if arn.group("region") and arn.group("region") != self.config.region:
            self.add(field, f"{_quote(value)} is in region {arn.group('region')}, not in {self.config.region}",
                     f"use the resource in {self.config.region}", real_account=True)

    def _subscriptions(self) -> None:
        monitoring = self.config.monitoring
        for topic, subscriptions in (("failed_transactions", monitoring.failed_transactions_subscriptions),
                                     ("system_errors", monitoring.system_errors_subscriptions)):
            if not subscriptions:
                self.add(f"monitoring.subscriptions.{topic}", "no subscription",
                         "add at least one {protocol, endpoint} that a person reads", real_account=False)

    def _trust_anchors(self) -> None:
        migration = self.config.data.migration
        if migration.enabled and (migration.source is None or not migration.source.ca_certificate_arn):
            self.add("data.migration.source.ca_certificate_arn", "missing while the migration is enabled",
                     "import the on-prem database's CA into AWS DMS (ImportCertificate) and set its ARN",
                     real_account=True)
        self._ca_bundle()

    def _ca_bundle(self) -> None:
        field = "data.aurora.ca_bundle_file"
        name = self.config.data.aurora.ca_bundle_file
        region = self.config.region
        fix = (f"download the RDS CA bundle of {region} (https://truststore.pki.rds.amazonaws.com/{region}/"
               f"{region}-bundle.pem) to {name} and review it (certificates/README.md)")
        try:
            pem = (CA_BUNDLE_ROOT / name).read_bytes()
        except FileNotFoundError:
            self.add(field, f"{_quote(name)} does not exist: the rotation and bootstrap functions cannot verify the "
                     "database's certificate and refuse to connect", fix, real_account=True)
            return
        except OSError as error:
            self.add(field, f"{_quote(name)} cannot be read ({error.strerror})", fix, real_account=True)
            return
        try:
            x509.load_pem_x509_certificates(pem)
        except ValueError:
            self.add(field, f"{_quote(name)} holds no readable PEM certificate (\"-----BEGIN CERTIFICATE-----\" "
                     "blocks)", fix, real_account=True)

    def _account_dms_roles(self, peers: Sequence[EnvironmentConfig]) -> None:
        """Of the environments of this account that run the migration (and so use dms-vpc-role and
        dms-cloudwatch-logs-role), exactly one creates them: none, and the DMS resources have no role; two, and the
        second apply fails on a role name that exists."""
        account = self.config.account
        if account is None or not self.config.data.migration.enabled:
            return
        sharing = [c for c in (self.config, *peers) if c.account is not None and c.account.id == account.id
                   and c.data.migration.enabled]
        creators = [c.environment for c in sharing if c.data.migration.account_dms_roles == "create"]
        if len(creators) == 1:
            return
        field = "data.migration.account_dms_roles"
        names = ", ".join(sorted(c.environment for c in sharing))
        if creators:
            self.add(field, f"'create' in {len(creators)} environments of account {account.id} "
                     f"({', '.join(sorted(creators))}): the second apply fails, the role names exist already",
                     "keep `create` in exactly one of them and set `existing` in the others", real_account=False)
        else:
            self.add(field, f"no environment of account {account.id} that runs the migration ({names}) creates the "
                     "account's dms-vpc-role and dms-cloudwatch-logs-role",
                     "set `create` in exactly one of them", real_account=False)


def exception_approvals(config: EnvironmentConfig, register_file: Path | None = None) -> list[Finding]:
    """Exceptions of this environment's stacks approved by the register's example signatory: the gate accepts
    their shape, but nobody of the deploying organisation has accepted the risk yet."""
    register_file = register_file or REGISTER_FILE
    try:
        register = load_register(register_file)
    except RegisterError as error:
        raise ConfigError([str(error)]) from None
    prefix = f"payments-{config.environment}-"
    return [Finding(register_file, f"exceptions[{entry.index}].approver",
                    f"{_quote(entry.approver_name)} ({_quote(entry.approver_role)}) is the example signatory, "
                    f"not a person of this organisation",
                    "have the risk owner review the exception and record their name, role and approval date",
                    real_account=True)
            for entry in register.entries
            if entry.resource.startswith(prefix)
            and _EXAMPLE_APPROVER.search(f"{entry.approver_name} {entry.approver_role}")]


def peer_environments(config: EnvironmentConfig) -> list[EnvironmentConfig]:
    """The other environments whose files are beside ``config``'s; raises ConfigError if one is invalid."""
    directory = config.source.parent
    return [load_environment(directory / f"{name}.yaml") for name in KNOWN_ENVIRONMENTS
            if name != config.environment and (directory / f"{name}.yaml").is_file()]


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]
    skipped: tuple[Finding, ...]

    @property
    def ready(self) -> bool:
        return not self.findings

    def lines(self, environment: str) -> list[str]:
        out = []
        if self.findings:
            out.append(f"preflight {environment}: NOT READY to deploy; change these {len(self.findings)} thing(s):")
            width = len(str(len(self.findings)))
            out += [f"  {index:>{width}}. {finding.line()}" for index, finding in enumerate(self.findings, 1)]
        else:
            out.append(f"preflight {environment}: ready to deploy")
        if self.skipped:
            out.append(f"preflight {environment}: real-account checks SKIPPED (--skip-real-account-checks); "
                       f"{len(self.skipped)} finding(s) not counted:")
            out += [f"     - {finding.line()}" for finding in self.skipped]
        return out


def check(config: EnvironmentConfig, *, skip_real_account_checks: bool = False) -> Verdict:
    """Raises ConfigError when the file cannot be read as it was when the config was loaded, or when another
    environment file beside it (read for the account-wide checks) is invalid."""
    try:
        document = yaml.safe_load(config.source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError([f"{config.source}: cannot be read again: {error}"]) from None
    findings = Preflight(config, document).run(peer_environments(config)) + exception_approvals(config)
    skipped = tuple(f for f in findings if f.real_account) if skip_real_account_checks else ()
    return Verdict(tuple(f for f in findings if f not in skipped), skipped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.preflight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_environment_option(parser, required=True)
    parser.add_argument("--config-dir", type=Path, default=ENVIRONMENTS_DIR)
    parser.add_argument("--skip-real-account-checks", action="store_true",
                        help="leave out the checks only a real account can pass (emulator rehearsal)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_READY
    try:
        config = load_environment(args.config_dir / f"{args.env}.yaml")
        verdict = check(config, skip_real_account_checks=args.skip_real_account_checks)
    except (ConfigError, UnicodeDecodeError) as error:
        detail = error if isinstance(error, ConfigError) else f"{args.config_dir / f'{args.env}.yaml'}: not UTF-8 " \
            f"text ({error.reason} at byte {error.start})"
        print(f"preflight {args.env}: an environment file is invalid (fix it first; nothing was checked):\n{detail}",
              file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(verdict.lines(args.env)))
    return EXIT_READY if verdict.ready else EXIT_NOT_READY


if __name__ == "__main__":
    sys.exit(main())
