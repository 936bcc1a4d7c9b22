"""baseline: account ownership and AWS Backup retention are validated before synth (prod keeps 35 daily recovery
points, every environment keeps monthly ones a year, the Vault Lock grace period is AWS's minimum or more)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.config import ENVIRONMENTS_DIR, ConfigError, load_environments, parse_environment


def document(name: str) -> dict:
    return yaml.safe_load((ENVIRONMENTS_DIR / f"{name}.yaml").read_text())


def problems(name: str, doc: dict) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_environment(Path(f"{name}.yaml"), yaml.safe_dump(doc))
    return list(raised.value.problems)


def test_committed_environments_have_a_baseline():
    for config in load_environments():
        backup = config.baseline.backup
        assert isinstance(config.baseline.account_owner, bool)
        assert backup.monthly_retention_days >= 365
        assert backup.daily_retention_days >= (35 if config.is_prod else 7)
        assert backup.vault_lock_changeable_for_days >= 3


@pytest.mark.parametrize(
    ("name", "field", "value", "message"),
    [
        (
            "prod",
            "daily_retention_days",
            34,
            "prod.yaml: baseline.backup.daily_retention_days: 34 is not allowed; expected at least 35 days in prod",
        ),
        (
            "dev",
            "daily_retention_days",
            6,
            "dev.yaml: baseline.backup.daily_retention_days: 6 is not allowed; expected at least 7 days",
        ),
        (
            "staging",
            "monthly_retention_days",
            364,
            "staging.yaml: baseline.backup.monthly_retention_days: 364 is not "
            "allowed; expected at least 365 days: monthly recovery points are kept a year",
        ),
        (
            "dev",
            "vault_lock_changeable_for_days",
            2,
            "dev.yaml: baseline.backup.vault_lock_changeable_for_days: 2 is "
            "not allowed; expected at least 3 days (the AWS Backup Vault Lock grace period)",
        ),
        ("dev", "daily_retention_days", "35", "dev.yaml: baseline.backup.daily_retention_days: '35' is not allowed"),
    ],
)
def test_bad_backup_values_are_named(name, field, value, message):
    doc = document(name)
    doc["baseline"]["backup"][field] = value
    found = problems(name, doc)
    assert any(problem.startswith(message) for problem in found), found


def test_monthly_retention_must_cover_daily():
    doc = document("prod")
    doc["baseline"]["backup"].update(daily_retention_days=400, monthly_retention_days=380)
    assert problems("prod", doc) == [
        "prod.yaml: baseline.backup.monthly_retention_days: 380 is not allowed; expected at least "
        "daily_retention_days (400)"
    ]


def test_account_owner_is_a_boolean_and_required():
    doc = document("dev")
    doc["baseline"]["account_owner"] = "yes"
    assert problems("dev", doc) == ["dev.yaml: baseline.account_owner: 'yes' is not allowed; expected true or false"]
    del doc["baseline"]
    assert "dev.yaml: baseline: missing; this field is required" in problems("dev", doc)
