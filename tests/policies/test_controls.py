"""One home per control: every layer of a control lives in its area directory (policies/controls/<area>/), the
loader refuses a layer filed anywhere else, nothing in an area is unreferenced, and `python -m policies explain`
points at each layer of every control. Tests are keyed by control id (`pytest -k PCI-ENC-001`)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.catalog import (
    AREA_CHECKS,
    AREA_CONTROLS,
    AREA_FIXTURES,
    AREA_JMESPATH,
    AREA_RULES,
    CATALOG_FILE,
    CONTROLS_DIR,
    REPO_ROOT,
    CatalogError,
    area_of,
    check_file_problems,
    custom_check_files,
    default_catalog,
    load_catalog,
)
from policies.cli import CONFIG_ERRORS, EXIT_ERROR, EXIT_OK, main
from policies.engine import RuleError, load_rules

CATALOG = default_catalog()
AREA_FILES = {"__init__.py", AREA_CONTROLS, AREA_RULES, AREA_JMESPATH, AREA_CHECKS, AREA_FIXTURES, "__pycache__"}


def rule_functions(path: Path) -> dict[str, str]:
    """Rule name -> control id of every ``@rule("PCI-...")`` function in a rules.py, read from its source."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        for decorator in getattr(node, "decorator_list", []):
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "rule":
                found[node.name] = decorator.args[0].value
    return found


def jmespath_rules(path: Path) -> dict[str, str]:
    return {rule["id"]: rule["control"] for rule in yaml.safe_load(path.read_text())["rules"]} if path.exists() else {}


def explain_json(control_id: str, capsys) -> dict:
    assert main(["explain", control_id, "--json"]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out)


def at(location: str) -> tuple[Path, str]:
    """The file and the line a ``path:line`` location points at."""
    path, line = location.rsplit(":", 1)
    return REPO_ROOT / path, (REPO_ROOT / path).read_text().splitlines()[int(line) - 1]


def test_the_areas_are_the_control_id_prefixes_in_report_order():
    assert CATALOG.areas == tuple(dict.fromkeys(area_of(c.id) for c in CATALOG.controls))
    assert sorted(p.name for p in CONTROLS_DIR.iterdir() if p.is_dir() and p.name != "__pycache__") \
        == sorted(CATALOG.areas)
    assert "controls" not in yaml.safe_load(CATALOG_FILE.read_text()), "catalog.yaml keeps only parameters and areas"


@pytest.mark.parametrize("control", CATALOG.controls, ids=lambda c: c.id)
def test_every_layer_of_a_control_is_in_its_own_area(control):
    area = CONTROLS_DIR / area_of(control.id)
    assert CATALOG.control_files[control.id] == area / AREA_CONTROLS
    rules = rule_functions(area / AREA_RULES) if (area / AREA_RULES).exists() else {}
    assert {name: rules.get(name) for name in control.layers.aspect} == dict.fromkeys(control.layers.aspect, control.id)
    custom = [check for check in control.layers.checkov_ids if "_PCI_" in check]
    assert set(custom) <= set(custom_check_files(area / AREA_CHECKS)), control.id
    jmespath = jmespath_rules(area / AREA_JMESPATH)
    assert {rule: jmespath.get(rule) for rule in control.layers.jmespath} == dict.fromkeys(control.layers.jmespath,
                                                                                          control.id)
    fixtures = {path.name.split("_")[0] for path in (area / AREA_FIXTURES / control.id).glob("*_*")}
    assert fixtures == {"pass", "fail"}, control.id


@pytest.mark.parametrize("area", CATALOG.areas)
def test_nothing_in_an_area_is_unreferenced_by_the_catalog(area):
    directory = CONTROLS_DIR / area
    controls = [c for c in CATALOG.controls if area_of(c.id) == area]
    assert {p.name for p in directory.iterdir()} <= AREA_FILES, "an unexpected file in the area"
    rules = rule_functions(directory / AREA_RULES) if (directory / AREA_RULES).exists() else {}
    assert set(rules) == {r for c in controls for r in c.layers.aspect}
    assert set(custom_check_files(directory / AREA_CHECKS)) == {k for c in controls for k in c.layers.checkov_ids
                                                                if "_PCI_" in k}
    assert set(jmespath_rules(directory / AREA_JMESPATH)) == {r for c in controls for r in c.layers.jmespath}
    assert {p.name for p in (directory / AREA_FIXTURES).iterdir()} == {c.id for c in controls}
    checks = directory / AREA_CHECKS
    assert not checks.exists() or (checks / "__init__.py").exists(), "checkov skips a check dir without __init__.py"


@pytest.mark.parametrize("control_id", CATALOG.ids)
def test_explain_points_at_every_layer_of_the_control(control_id, capsys):
    control = CATALOG.control(control_id)
    area = f"policies/controls/{area_of(control_id)}"
    explained = explain_json(control_id, capsys)
    assert (explained["id"], explained["title"], explained["severity"], explained["area"]) == (
        control.id, control.title, control.severity, area)
    path, line = at(explained["catalog"])
    assert path == REPO_ROOT / area / AREA_CONTROLS and line.strip() == f"- id: {control_id}"
    assert [r["rule"] for r in explained["aspect"]] == list(control.layers.aspect)
    for rule in explained["aspect"]:
        path, line = at(rule["location"])
        assert path == REPO_ROOT / area / AREA_RULES and line.startswith(f"def {rule['rule']}(")
    assert [c["check"] for c in explained["checkov"]] == list(control.layers.checkov_ids)
    for check in explained["checkov"]:
        assert check["resource_types"] == list(control.layers.checkov_types(check["check"]))
        if "_PCI_" in check["check"]:
            path = REPO_ROOT / check["location"]
            assert path.parent == REPO_ROOT / area / AREA_CHECKS and check["check"] in path.read_text()
        else:
            assert check["location"] == f"checkov built-in {check['check']}"
    assert [r["rule"] for r in explained["jmespath"]] == list(control.layers.jmespath)
    for rule in explained["jmespath"]:
        path, line = at(rule["location"])
        following = path.read_text().splitlines()[int(rule["location"].rsplit(":", 1)[1]):][:1]
        assert path == REPO_ROOT / area / AREA_JMESPATH and line.strip() == f"- id: {rule['rule']}"
        assert following == [f"    control: {control_id}"]
    assert explained["fixtures"] and all((REPO_ROOT / f).is_dir() and f.startswith(f"{area}/fixtures/{control_id}/")
                                         for f in explained["fixtures"])
    assert explained["mutations"] == [m.description for m in control.mutations]
    assert [(r["requirement"], r["strength"], r["reason"]) for r in explained["requirements"]] == [
        (m.requirement, m.strength, m.reason) for m in control.mappings]
    # The text form prints the same locations.
    assert main(["explain", control_id]) == EXIT_OK
    text = capsys.readouterr().out
    locations = [explained["catalog"], *(r["location"] for r in explained["aspect"] + explained["jmespath"]),
                 *(c["location"] for c in explained["checkov"]), *explained["fixtures"]]
    assert all(location in text for location in locations)
    assert text.startswith(f"{control_id}: {control.title}\n")


def test_explain_shows_the_exceptions_of_a_control(capsys):
    explained = explain_json("PCI-ENC-004", capsys)
    assert explained["exceptions"] and all(e["resource"] and e["approver"] for e in explained["exceptions"])
    assert explain_json("PCI-ENC-001", capsys)["exceptions"] == []


@pytest.mark.parametrize(("given_id", "suggestion"), [
    ("PCI-ENC-01", "PCI-ENC-001"), ("pci-enc-001", "PCI-ENC-001"), ("PCI-ECN-001", "PCI-ENC-001"),
    ("PCI-XYZ-999", None)])
def test_explain_refuses_an_unknown_id_with_close_matches(given_id, suggestion, capsys):
    assert main(["explain", given_id]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == "" and f"{given_id!r} is not a control of the catalog" in captured.err
    hint = captured.err.partition("; did you mean ")[2].partition("?")[0]
    assert suggestion in hint.split(", ") if suggestion else hint == ""


@settings(derandomize=True, max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile=st.one_of(st.text(max_size=300), st.sampled_from(["\x1b[2J\x1b[31mPCI-ENC-001", "PCI-ENC-001\n",
                                                                   "../../etc/passwd", "PCI-ENC-001; rm -rf /",
                                                                   "%s%n", "\u202ePCI-ENC-001"])))
def test_explain_of_a_hostile_id_is_a_quoted_exit_2(hostile, capsys):
    if hostile in CATALOG.ids or hostile.startswith("-"):
        return  # a real id, or an option argparse rejects itself (exit 2 as well)
    assert main(["explain", hostile]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "\x1b" not in captured.err and "\u202e" not in captured.err, "the id is quoted, never echoed raw"
    assert len(captured.err) < 600


def copy_catalog(tmp_path: Path) -> tuple[Path, Path]:
    catalog, controls = tmp_path / "catalog.yaml", tmp_path / "controls"
    shutil.copy(CATALOG_FILE, catalog)
    shutil.copytree(CONTROLS_DIR, controls, ignore=shutil.ignore_patterns(AREA_FIXTURES, "__pycache__"))
    return catalog, controls


def move_control(controls: Path, control_id: str, to_area: str) -> None:
    source = controls / area_of(control_id) / AREA_CONTROLS
    text = source.read_text()
    start = text.index(f"  - id: {control_id}\n")
    end = text.find("\n  - id: ", start + 1)
    block = text[start:] if end < 0 else text[start:end + 1]
    source.write_text(text.replace(block, ""))
    target = controls / to_area / AREA_CONTROLS
    target.write_text(target.read_text().rstrip("\n") + "\n" + block)


def refused(catalog: Path, controls: Path) -> list[str]:
    with pytest.raises(CatalogError) as error:
        load_catalog(catalog, controls)
    return list(error.value.problems)


def test_the_copied_layout_loads(tmp_path):
    catalog, controls = copy_catalog(tmp_path)
    assert load_catalog(catalog, controls).ids == CATALOG.ids


def test_a_control_in_another_areas_file_is_refused(tmp_path):
    catalog, controls = copy_catalog(tmp_path)
    move_control(controls, "PCI-KMS-002", "enc")
    assert any(f"{controls}/enc/controls.yaml: controls[" in p and "(PCI-KMS-002): a PCI-ENC-* area holds only its "
               f"own controls; move it to {controls}/kms/controls.yaml" in p for p in refused(catalog, controls))


def test_an_area_directory_not_listed_or_listed_but_missing_is_refused(tmp_path):
    catalog, controls = copy_catalog(tmp_path)
    (controls / "xyz").mkdir()
    catalog.write_text(catalog.read_text().replace("areas: [enc, ", "areas: [enc, zzz, "))
    problems = refused(catalog, controls)
    assert f"{controls}/xyz: an area directory not listed under areas in catalog.yaml; add it or remove the " \
           "directory" in problems
    assert f"{catalog}: areas: zzz is listed but {controls}/zzz/controls.yaml does not exist" in problems


def test_a_duplicate_id_across_areas_and_controls_left_in_catalog_yaml_are_refused(tmp_path):
    catalog, controls = copy_catalog(tmp_path)
    enc = controls / "enc" / AREA_CONTROLS
    enc.write_text(enc.read_text() + enc.read_text().split("controls:\n", 1)[1].split("\n  - id: ", 1)[0] + "\n")
    catalog.write_text(catalog.read_text() + "controls: []\n")
    problems = refused(catalog, controls)
    assert any("control PCI-ENC-001 is already used by PCI-ENC-001" in p for p in problems)
    assert any("controls: not allowed here; each control lives in" in p for p in problems)


def test_a_check_in_another_areas_directory_or_of_no_control_is_refused(tmp_path):
    catalog, controls = copy_catalog(tmp_path)
    shutil.move(controls / "kms" / AREA_CHECKS / "pci_kms_key_rotation.py", controls / "enc" / AREA_CHECKS)
    (controls / "enc" / AREA_CHECKS / "pci_orphan.yaml").write_text("metadata:\n  id: CKV2_PCI_998\n")
    problems = check_file_problems(load_catalog(catalog, controls), controls)
    moved = controls / "enc" / AREA_CHECKS / "pci_kms_key_rotation.py"
    kms_check = re.search(r"CKV_PCI_\d+", moved.read_text()).group(0)
    assert f"{moved}: {kms_check} belongs to PCI-KMS-001; move the file to {controls}/kms/checks" in problems
    assert any("pci_orphan.yaml: CKV2_PCI_998 is in no control's layers.checkov" in p for p in problems)
    assert CatalogError in CONFIG_ERRORS  # the gate and explain turn it into exit 2
    assert check_file_problems(CATALOG) == []


def test_a_jmespath_rule_in_another_areas_file_is_refused(tmp_path):
    catalog, controls = copy_catalog(tmp_path)
    kms, enc = controls / "kms" / AREA_JMESPATH, controls / "enc" / AREA_JMESPATH
    rules = kms.read_text().split("rules:\n", 1)[1]
    enc.write_text(enc.read_text().rstrip("\n") + "\n\n" + rules)
    kms.write_text("rules: []\n")
    with pytest.raises(RuleError) as error:
        load_rules(load_catalog(catalog, controls), controls)
    assert any("a rule of PCI-KMS-001 belongs in" in p and f"{controls}/kms/jmespath.yaml" in p
               for p in error.value.problems)


def test_the_rules_are_pure_policy_code_without_cdktf_or_the_app():
    """policies/ never imports app/, and the area rules load without cdktf or jsii (a fresh interpreter)."""
    probe = ("import sys; from policies.catalog import default_catalog; from policies.rules.registry import "
             "registered_rules; registered_rules(default_catalog()); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('app', 'cdktf', 'jsii', 'constructs')))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                            check=True)
    assert result.stdout.strip() == "[]"
    imports = [path for path in (REPO_ROOT / "policies").rglob("*.py")
               if re.search(r"^\s*(from|import) app\b", path.read_text(), re.MULTILINE)]
    assert imports == []
