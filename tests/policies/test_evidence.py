"""No false PASS and no secret in the evidence: scope from the stack, a complete synth, redaction of every
report, provenance of the synth, deterministic reports published as one readable set.

Gate runs here go through the command line in a subprocess where the process matters (hash seed, umask), and
through ``run_gate`` otherwise; each asserts on the files the gate leaves on disk.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import random
import re
import shutil
import stat
import string
import subprocess
import sys

import pytest

from policies import report
from policies.catalog import default_catalog
from policies.cli import EXIT_ERROR, EXIT_NONCOMPLIANT, run_gate
from policies.functions import find_leaves
from policies.integrity import MISSING, MODIFIED, PROVENANCE_FILE, VERIFIED
from policies.model import string_leaves
from policies.outputdir import MARKER
from policies.redaction import marker
from policies.reports.publishing import SUMS_FILE
from tests.conftest import REPO_ROOT
from tests.reports import fixtures

PARAMETERS = default_catalog().parameters
REPORT_FILES = ("results.json", "summary.md", "report.html", "report.md", "results.sarif", "junit.xml", "evidence.csv")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:\+00:00|Z)?")


@pytest.fixture
def register(tmp_path):
    path = tmp_path / "exceptions.yaml"
    path.write_text(json.dumps({"version": 1, "exceptions": []}))
    return path


def gate_subprocess(*arguments: str, hash_seed: str = "0", umask: int = 0o077) -> subprocess.CompletedProcess:
    """The gate as CI runs it, in a fresh interpreter (its own hash seed) under a restrictive umask."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONHASHSEED": hash_seed, "REPORT_CHROMIUM": ""}
    return subprocess.run([sys.executable, "-m", "policies", "gate", *arguments], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=False, preexec_fn=lambda: os.umask(umask))


def copy_synth(source, target):
    shutil.copytree(source, target)
    return target


def prod_cluster(synth_dir):
    """(stack file, document, name) of the production Aurora cluster of the real app."""
    [path] = synth_dir.glob("stacks/*-prod-data/cdk.tf.json")
    document = json.loads(path.read_text())
    [name] = document["resource"]["aws_rds_cluster"]
    return path, document, name


# ------------------------------------------------------------------------------------------------ sound scope

@pytest.fixture(scope="module")
def relabelled_run(synth_dir, tmp_path_factory):
    """The real app's synth with the production Aurora cluster tagged staging and unprotected, gated."""
    directory = tmp_path_factory.mktemp("relabelled")
    synth = copy_synth(synth_dir, directory / "cdktf.out")
    path, document, name = prod_cluster(synth)
    cluster = document["resource"]["aws_rds_cluster"][name]
    cluster["tags"]["Environment"] = "staging"
    cluster["deletion_protection"] = False
    path.write_text(json.dumps(document, indent=2))
    done = gate_subprocess("--synth-dir", str(synth), "--report-dir", str(directory / "reports"),
                           "--environments", "dev,staging,prod")
    return synth, directory / "reports", done, f"{path.parent.name}:aws_rds_cluster.{name}"


def test_a_production_cluster_tagged_staging_is_still_production_and_the_label_a_finding(relabelled_run):
    _, reports, done, address = relabelled_run
    assert done.returncode == EXIT_NONCOMPLIANT, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads((reports / "results.json").read_text())
    verdicts = {(r["control"], r["resource"]["address"]): r["verdict"] for r in document["results"] if r["resource"]}
    assert verdicts[("PCI-RDS-002", address)] == "NON_COMPLIANT"
    assert verdicts[("PCI-TAG-002", address)] == "NON_COMPLIANT"
    [row] = [r for r in document["results"] if r["control"] == "PCI-RDS-002" and r["resource"]["address"] == address]
    observed = [e["observed"] for e in row["evidence"] if e["layer"] == "jmespath"]
    assert observed == [{"environment": "prod", "deletion_protection": False}]
    junit = (reports / "junit.xml").read_text()
    prod_case = re.search(r'<testcase classname="prod" name="PCI-RDS-002 [^"]*"[^>]*>(.*?)</testcase>', junit, re.S)
    assert prod_case and "<failure" in prod_case.group(1) and "skipped" not in prod_case.group(1)


def test_not_applicable_is_said_only_where_no_resource_of_the_types_exists(relabelled_run):
    _, reports, _, _ = relabelled_run
    document = json.loads((reports / "results.json").read_text())
    counts = {c["id"]: c["resources_by_environment"] for c in document["controls"]}
    junit = (reports / "junit.xml").read_text()
    for match in re.finditer(r'<testcase classname="(\w+)" name="(PCI-[A-Z0-9]+-\d+) [^"]*"[^>]*>\s*'
                             r'<skipped message="([^"]*)"', junit):
        environment, control, message = match.groups()
        if message.startswith("EXCEPTED: "):  # accepted by the register (issue 17), not out of scope
            continue
        found = counts[control].get(environment, 0)
        if found:
            assert message.startswith(f"none of the {found} resource(s) of this control's types in {environment}")
        else:
            assert message == f"no resource of this control's types in {environment}"
    # Development clusters are judged too: COMPLIANT without deletion protection, not "not applicable".
    dev = [r for r in document["results"] if r["control"] == "PCI-RDS-002" and r["resource"]["stack"].endswith(
        "-dev-data")]
    assert dev and all(r["verdict"] == "COMPLIANT" for r in dev)


def test_a_synth_without_its_manifest_and_one_stack_is_refused(synth_dir, tmp_path):
    synth = copy_synth(synth_dir, tmp_path / "cdktf.out")
    (synth / "manifest.json").unlink()
    shutil.rmtree(next(synth.glob("stacks/*-prod-api")))
    reports = tmp_path / "reports"
    done = gate_subprocess("--synth-dir", str(synth), "--report-dir", str(reports))
    assert done.returncode == EXIT_ERROR
    assert "manifest.json: missing" in done.stderr and "nothing written" in done.stderr
    assert not reports.exists()


def test_a_synth_lacking_an_expected_environment_is_refused(synth_dir, tmp_path):
    synth = copy_synth(synth_dir, tmp_path / "cdktf.out")
    manifest = json.loads((synth / "manifest.json").read_text())
    for name in [name for name in manifest["stacks"] if "-staging-" in name]:
        del manifest["stacks"][name]
        shutil.rmtree(synth / "stacks" / name)
    (synth / "manifest.json").write_text(json.dumps(manifest))
    done = gate_subprocess("--synth-dir", str(synth), "--report-dir", str(tmp_path / "reports"),
                           "--environments", "dev,staging,prod")
    assert done.returncode == EXIT_ERROR and "expected environment(s) staging" in done.stderr
    assert not (tmp_path / "reports").exists()


# -------------------------------------------------------------------------------------------------- provenance

def test_the_synth_records_its_own_provenance_and_the_gate_verifies_it(synth_dir, tmp_path, register):
    record = json.loads((synth_dir / PROVENANCE_FILE).read_text())
    # The output-directory marker is written when the synth is published, after provenance: it is not content.
    written = {p.relative_to(synth_dir).as_posix() for p in synth_dir.rglob("*") if p.is_file()} - {
        PROVENANCE_FILE, MARKER}
    assert set(record["files"]) == written and "manifest.json" in written
    assert all(record["files"][name] == hashlib.sha256((synth_dir / name).read_bytes()).hexdigest()
               for name in written)
    assert re.fullmatch(r"[0-9a-f]{40}", record["commit"]) and isinstance(record["dirty"], bool)
    assert record["versions"] == {"cdktf": "0.21.0", "cdktf-cdktf-provider-aws": "20.1.0"}
    assert {env: entry["path"] for env, entry in record["config"].items()} == {
        env: f"app/environments/{env}.yaml" for env in ("dev", "staging", "prod")}


def test_a_hand_edited_synth_is_marked_in_every_report_and_refused_when_provenance_is_required(relabelled_run):
    synth, reports, _, _ = relabelled_run
    document = json.loads((reports / "results.json").read_text())
    provenance = document["run"]["provenance"]
    assert provenance["synth"]["state"] == MODIFIED
    assert [p for p in provenance["synth"]["problems"] if "-prod-data/cdk.tf.json: changed since synth" in p]
    assert re.fullmatch(r"[0-9a-f]{40}", provenance["commit"]) and isinstance(provenance["dirty"], bool)
    versions = document["run"]["versions"]
    assert versions["cdktf"] == "0.21.0" and versions["cdktf-cdktf-provider-aws"] == "20.1.0"
    assert {"checkov", "python", "jmespath"} <= set(versions)
    if shutil.which(os.environ.get("TERRAFORM", "terraform")):
        assert re.fullmatch(r"\d+\.\d+\.\d+\S*", versions["terraform"])
    for name in REPORT_FILES:
        assert "modified after synth" in (reports / name).read_text(), name
    refused = gate_subprocess("--synth-dir", str(synth), "--report-dir", str(reports.parent / "strict"),
                              "--require-provenance")
    assert refused.returncode == EXIT_ERROR and "modified after synth" in refused.stderr
    assert not (reports.parent / "strict").exists()


def test_provenance_missing_or_intact(synth_dir, tmp_path):
    from policies.integrity import check_synth

    assert check_synth(synth_dir)["state"] == VERIFIED
    synth = copy_synth(synth_dir, tmp_path / "cdktf.out")
    (synth / PROVENANCE_FILE).unlink()
    assert check_synth(synth)["state"] == MISSING
    done = gate_subprocess("--synth-dir", str(synth), "--report-dir", str(tmp_path / "reports"),
                           "--require-provenance")
    assert done.returncode == EXIT_ERROR and "no provenance" in done.stderr


def test_untracked_files_make_the_checkout_dirty(tmp_path, monkeypatch):
    from policies import checkout

    repository = tmp_path / "repo"
    repository.mkdir()
    git = ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repository / "tracked").write_text("x")
    subprocess.run([*git, "add", "tracked"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    monkeypatch.setattr(checkout, "REPO_ROOT", repository)
    assert checkout.revision().dirty is False
    (repository / "new_rule.yaml").write_text("rules: []")
    assert checkout.revision().dirty is True


# --------------------------------------------------------------------------------------------------- redaction

def _attribute_kinds() -> list[str]:
    """Every name the secret-attribute pattern knows: password, passphrase, ... (read from the catalog)."""
    [alternatives] = re.findall(r"\(((?:[a-z_]+\|)+[a-z_]+)\)\$", PARAMETERS["secret_attribute_pattern"])
    return alternatives.split("|")


def _access_key_prefixes() -> list[str]:
    [alternatives] = re.findall(r"^\(((?:[A-Z0-9\[\]\-]+\|)+[A-Z0-9\[\]\-]+)\)", PARAMETERS["secret_value_pattern"])
    return [prefix.replace("[A-Z0-9]", "Q") for prefix in alternatives.split("|")]


def planted_secrets(rng: random.Random) -> dict[str, str]:
    """One secret of every kind the scanner knows, random but fixed by the seed: name -> value."""
    def token(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(rng.choice(alphabet) for _ in range(length))

    secrets = {f"attribute {kind}": f"{token(14)}!{token(4)}" for kind in _attribute_kinds()}
    upper = string.ascii_uppercase + string.digits
    secrets |= {f"access key {prefix}": prefix + token(20 - len(prefix), upper) for prefix in _access_key_prefixes()}
    body = "\n".join(token(64, string.ascii_letters + string.digits + "+/") for _ in range(4))
    for kind in ("", "RSA ", "EC ", "OPENSSH "):
        secrets[f"private key {kind or 'PKCS8 '}"] = (f"-----BEGIN {kind}PRIVATE KEY-----\n{body}{token(8)}\n"
                                                      f"-----END {kind}PRIVATE KEY-----\n")
    secrets["secret access key assignment"] = f"aws_secret_access_key = {token(40, string.ascii_letters + '/+')}"
    return secrets


def plant(synth, secrets: dict[str, str]) -> None:
    """Into the fixture synth's production stack: named secrets into a function's environment and a role's
    tags; shaped ones into a tag of the same function (whose tags are also made invalid, so its tags become
    evidence) and into descriptions."""
    path = synth / "stacks" / "acme-prod-core" / "cdk.tf.json"
    document = json.loads(path.read_text())
    function = document["resource"]["aws_lambda_function"]["checkout"]
    variables = {}
    for name, value in secrets.items():
        kind = name.split(" ", 1)[1].strip()
        if name.startswith("attribute "):
            variables[f"APP_{kind.upper()}"] = value
            function["tags"][kind] = value
        else:
            function["tags"][f"Note{len(function['tags'])}"] = value
            variables[f"NOTE_{len(variables)}"] = value
    function["environment"] = {"variables": variables}
    function["tags"]["DataClassification"] = "secret-ish"
    function["description"] = secrets["secret access key assignment"]
    path.write_text(json.dumps(document, indent=2))


def forms(secret: str) -> set[str]:
    """The secret as it could appear in any report: raw, JSON-, HTML- or XML-escaped, or one line of it."""
    found = {secret, json.dumps(secret)[1:-1], html.escape(secret), html.escape(secret, quote=False)}
    found |= {line for line in secret.splitlines() if len(line) >= 16 and "PRIVATE KEY" not in line}
    return found


def test_planted_secrets_of_every_kind_appear_in_no_report(tmp_path, register):
    secrets = planted_secrets(random.Random(16))
    synth = fixtures.write_synth(tmp_path / "synth")
    plant(synth, secrets)
    strings = string_leaves(json.loads((synth / "stacks/acme-prod-core/cdk.tf.json").read_text()))
    flagged = {leaf["value"] for leaf in find_leaves(strings, PARAMETERS["secret_attribute_pattern"],
                                                      PARAMETERS["secret_value_pattern"])}
    assert set(secrets.values()) <= flagged, "every planted secret is one the scanner flags"
    reports = tmp_path / "reports"
    assert run_gate(synth, reports, register_file=register) == EXIT_NONCOMPLIANT
    assert {p.name for p in reports.iterdir()} >= set(REPORT_FILES)
    for path in sorted(reports.iterdir()):
        text = path.read_text()
        for name, secret in secrets.items():
            leaked = [form for form in forms(secret) if form in text]
            assert not leaked, f"{name} appears in {path.name}"
    document = json.loads((reports / "results.json").read_text())
    [checkout] = [r for r in document["results"] if r["control"] == "PCI-TAG-001"
                  and r["resource"]["address"] == "acme-prod-core:aws_lambda_function.checkout"]
    tags = next(e["observed"]["tags"] for e in checkout["evidence"] if e["layer"] == "jmespath")
    assert tags["password"] == marker(secrets["attribute password"])
    assert re.fullmatch(r"<redacted: \d+ chars, sha256 [0-9a-f]{12}>", tags["password"])


# -------------------------------------------------------------------------------- determinism, modes, one set

def _normalized(name: str, content: str, document: dict) -> str:
    """A report with the run's own timestamps and durations masked."""
    run = document["run"]
    text = ISO_TIME.sub("<time>", content)
    if name.endswith((".json", ".sarif")):
        def drop(value):
            if isinstance(value, dict):
                return {k: drop(v) for k, v in value.items() if k not in ("duration_seconds", "timings_seconds")}
            return [drop(v) for v in value] if isinstance(value, list) else value
        return json.dumps(drop(json.loads(text)), sort_keys=True)
    text = text.replace(f"({run['duration_seconds']:.1f} s)", "(<duration>)")
    text = text.replace(f'time="{run["duration_seconds"]:.3f}"', 'time="<duration>"')
    return re.sub(rf"\b({'|'.join(run['timings_seconds'])}) \d+\.\d\d\b", r"\1 <duration>", text)


def test_two_runs_give_identical_reports_apart_from_timestamps_all_0644_with_sha256sums(tmp_path):
    """Two gate processes (different hash seeds, so no set or dict order is shared by luck) on the same synth,
    into the same report directory, under umask 077."""
    synth = fixtures.write_synth(tmp_path / "synth")
    reports = tmp_path / "reports"
    runs = []
    for seed in ("1", "2"):
        done = gate_subprocess("--synth-dir", str(synth), "--report-dir", str(reports), hash_seed=seed)
        assert done.returncode in (0, 1), done.stderr[-3000:]
        files = {path.name: path.read_text() for path in reports.iterdir()}
        assert set(REPORT_FILES) | {SUMS_FILE} <= set(files)
        for path in reports.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
        sums = dict(reversed(line.split("  ", 1)) for line in files[SUMS_FILE].splitlines())
        assert sorted(sums) == sorted(set(files) - {SUMS_FILE})
        assert all(hashlib.sha256((reports / name).read_bytes()).hexdigest() == digest for name, digest in sums.items())
        runs.append((files, json.loads(files["results.json"])))
    (first, first_document), (second, second_document) = runs
    assert sorted(first) == sorted(second)
    for name in sorted(set(first) - {SUMS_FILE}):
        assert _normalized(name, first[name], first_document) == _normalized(name, second[name], second_document), name


def test_the_gate_publishes_its_results_and_the_reports_as_one_set(tmp_path, register, monkeypatch):
    """A renderer failing after the results are ready leaves the previous set whole: results.json included."""
    synth = fixtures.write_synth(tmp_path / "synth")
    reports = tmp_path / "reports"
    run_gate(synth, reports, register_file=register)
    before = {path.name: path.read_bytes() for path in reports.iterdir()}

    def broken(context):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr("policies.reports.render_junit", broken)
    with pytest.raises(RuntimeError):
        run_gate(synth, reports, register_file=register)
    assert {path.name: path.read_bytes() for path in reports.iterdir()} == before
    assert report.RESULTS_FILE in before and report.SUMMARY_FILE in before


def test_the_redactor_replaces_a_secret_wherever_it_is_and_any_leftover_shape():
    from policies.redaction import Redactor

    documents = [{"resource": {"aws_lambda_function": {"f": {"environment": {"variables": {
        "DB_PASSWORD": "hunter2hunter2", "SHORT_PASSWORD": "pw1", "REF_PASSWORD": "${aws_secretsmanager_secret.s.arn}",
        "NAME": "payments"}}}}}}]
    redactor = Redactor.for_documents(documents, PARAMETERS)
    assert redactor.secrets == {"hunter2hunter2", "pw1"}  # a ${...} reference is not a secret
    assert redactor.text("hunter2hunter2") == marker("hunter2hunter2")
    assert marker("hunter2hunter2") == (
        f"<redacted: 14 chars, sha256 {hashlib.sha256(b'hunter2hunter2').hexdigest()[:12]}>")
    assert redactor.text("returned 'hunter2hunter2' here") == f"returned '{marker('hunter2hunter2')}' here"
    assert redactor.text("pw1") == marker("pw1") and redactor.text("pw10 and pw1x") == "pw10 and pw1x"
    shaped = "key AKIAQXJ2EXAMPLEKEY77 in a message"
    assert redactor.text(shaped) == marker(shaped)
    assert redactor.lines(f"first line\n{shaped}\nlast line") == f"first line\n{marker(shaped)}\nlast line"
    assert redactor.value({"hunter2hunter2": ["payments", {"x": "hunter2hunter2"}]}) == {
        marker("hunter2hunter2"): ["payments", {"x": marker("hunter2hunter2")}]}
