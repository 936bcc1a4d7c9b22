"""No password or secret value anywhere in the synthesized output: secrets are generated at apply time
(ephemeral resources, write-only attributes) or managed by AWS (RDS master password)."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

SECRET_KEY = re.compile(r"(password|passwd|secret_string|private_key|access_key|token_key)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|aws_secret_access_key", re.IGNORECASE)
REFERENCE_ONLY = re.compile(r"^\$\{[^}]+\}$")


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def literal_secrets(node, path: str = "") -> list[str]:
    """Paths of values stored under secret-looking keys that are literals rather than references."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if (
                SECRET_KEY.search(key)
                and not key.endswith(("_version", "_arn", "_id", "_kms_key_id"))
                and (isinstance(value, str) and not REFERENCE_ONLY.match(value) and not _is_json_object(value))
            ):
                found.append(f"{where} = {value[:12]}...")
            found.extend(literal_secrets(value, where))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(literal_secrets(item, f"{path}[{index}]"))
    elif isinstance(node, str) and node.startswith("{") and SECRET_KEY.search(node):
        with contextlib.suppress(json.JSONDecodeError):
            found.extend(literal_secrets(json.loads(node), path + "<json>"))
    return found


def scan(synth_dir: Path) -> list[str]:
    findings = []
    for path in sorted(synth_dir.rglob("*.json")):
        text = path.read_text()
        findings += [f"{path.relative_to(synth_dir)}: {m.group(0)[:12]}..." for m in SECRET_VALUE.finditer(text)]
        findings += [f"{path.relative_to(synth_dir)}: {f}" for f in literal_secrets(json.loads(text))]
    return findings


def test_no_secret_value_in_the_synth(synth_dir):
    assert scan(synth_dir) == []


def test_the_scan_finds_a_literal_password_and_an_access_key(synth_dir, tmp_path):
    stack = next(synth_dir.glob("stacks/*-data/cdk.tf.json"))
    document = json.loads(stack.read_text())
    cluster = next(iter(document["resource"]["aws_rds_cluster"].values()))
    cluster["master_password"] = "hunter2-hunter2"
    version = next(iter(document["resource"]["aws_secretsmanager_secret_version"].values()))
    version["secret_string_wo"] = json.dumps({"username": "app", "password": "s3cr3t-value"})
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "cdk.tf.json").write_text(json.dumps(document))
    (tmp_path / "stacks" / "extra.json").write_text(json.dumps({"note": "AKIAABCDEFGHIJKLMNOP"}))
    findings = scan(tmp_path)
    assert any("master_password = hunter2-hunt" in f for f in findings)
    assert any("secret_string_wo<json>.password = s3cr3t-value" in f for f in findings)
    assert any("AKIAABCDEFGH" in f for f in findings)
