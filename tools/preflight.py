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
- **trust anchors** (real-account checks): the DMS source CA certificate ARN while the migration is on, and the CA
  bundle the rotation Lambda verifies the database's certificate with;
- **always**: ``account.id`` is set, both alert topics have subscriptions, staging and prod keep Terraform state
  remotely (``backend.type: s3``).

``--skip-real-account-checks`` leaves out the checks marked real-account (for the emulator rehearsal, whose account
and endpoints are not real); the output says which were skipped.

Exit codes: 0 ready; 1 not ready (the numbered list); 2 usage error or an invalid environment file.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.config import ENVIRONMENTS_DIR, KNOWN_ENVIRONMENTS, ConfigError, EnvironmentConfig, load_environment

EXIT_READY, EXIT_NOT_READY, EXIT_USAGE = 0, 1, 2
REPO_ROOT = Path(__file__).resolve().parent.parent
DOCUMENTATION_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
RESERVED_TOP_LEVEL_DOMAINS = ("example", "test", "invalid", "localhost")
# Account ids of AWS's documentation and of this project's samples; never a real deployment target.
SAMPLE_ACCOUNT_IDS = frozenset({"123456789012", "111122223333", "444455556666", "777788889999", "012345678901",
                                "210987654321"} | {digit * 12 for digit in "0123456789"})
# Where the rotation Lambda's CA bundle lives: any PEM file with a certificate in the function's source.
ROTATION_SOURCE = REPO_ROOT / "lambda_src" / "secret_rotation"
REMOTE_STATE_ENVIRONMENTS = ("staging", "prod")
_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                  r"(?P<account>\d{12}|aws)?:(?P<resource>.+)$")
_NAME = re.compile(r"(?:^|[@/.])((?:[a-z0-9-]+\.)+[a-z]{2,63})(?=$|[/:?#])", re.IGNORECASE)
MAX_QUOTED = 80


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

    def run(self) -> list[Finding]:
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
        self._remote_state()
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
        bundles = [path for path in sorted(ROTATION_SOURCE.rglob("*")) if path.suffix in (".pem", ".crt")
                   and path.is_file() and b"-----BEGIN CERTIFICATE-----" in path.read_bytes()]
        if not bundles:
            self.findings.append(Finding(
                ROTATION_SOURCE, "*.pem", "no CA bundle: the rotation Lambda cannot verify the database's certificate",
                f"add the RDS CA bundle of {self.config.region} (https://truststore.pki.rds.amazonaws.com/"
                f"{self.config.region}/{self.config.region}-bundle.pem) to the function's source", True))

    def _remote_state(self) -> None:
        if self.config.environment in REMOTE_STATE_ENVIRONMENTS and self.config.backend.type != "s3":
            self.add("backend.type", f"{self.config.backend.type!r}: {self.config.environment} state would live on "
                     "one machine, unencrypted and unlocked", "set `type: s3` with bucket, key_prefix, region, "
                     "kms_key_id and locking (README 'Environment configuration')", real_account=False)


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
    """Raises ConfigError when the file cannot be read as it was when the config was loaded."""
    try:
        document = yaml.safe_load(config.source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError([f"{config.source}: cannot be read again: {error}"]) from None
    findings = Preflight(config, document).run()
    skipped = tuple(f for f in findings if f.real_account) if skip_real_account_checks else ()
    return Verdict(tuple(f for f in findings if f not in skipped), skipped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.preflight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True, help=f"one of {', '.join(KNOWN_ENVIRONMENTS)}")
    parser.add_argument("--config-dir", type=Path, default=ENVIRONMENTS_DIR)
    parser.add_argument("--skip-real-account-checks", action="store_true",
                        help="leave out the checks only a real account can pass (emulator rehearsal)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_READY
    if args.env not in KNOWN_ENVIRONMENTS:
        print(f"error: --env {_quote(args.env)} is unknown; expected one of {', '.join(KNOWN_ENVIRONMENTS)}",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        config = load_environment(args.config_dir / f"{args.env}.yaml")
        verdict = check(config, skip_real_account_checks=args.skip_real_account_checks)
    except (ConfigError, UnicodeDecodeError) as error:
        detail = error if isinstance(error, ConfigError) else f"{args.config_dir / f'{args.env}.yaml'}: not UTF-8 " \
            f"text ({error.reason} at byte {error.start})"
        print(f"preflight {args.env}: the environment file is invalid (fix it first; nothing was checked):\n{detail}",
              file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(verdict.lines(args.env)))
    return EXIT_READY if verdict.ready else EXIT_NOT_READY


if __name__ == "__main__":
    sys.exit(main())
