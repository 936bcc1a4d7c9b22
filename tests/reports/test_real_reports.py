"""The reports of the gate's results on the real app's synth: valid formats, counts that match the results,
and an HTML report that renders completely in Chromium without any network."""

from __future__ import annotations

import hashlib
import html as html_module
import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import jsonschema

from policies.catalog import default_catalog
from policies.model import load_synth
from policies.reports.posture import environment_of
from tests.reports.support import external_references, load_page, screenshot, sections

REPORTS = Path(__file__).resolve().parents[2] / "policies" / "reports"
SARIF_SCHEMA = REPORTS / "schemas" / "sarif-schema-2.1.0.json"
RESULTS_SCHEMA = REPORTS.parent / "results.schema.json"


def _failing_by_environment(results: dict) -> dict[str, set[str]]:
    """control ids failing per environment, straight from the rows (rows without a resource: everywhere)."""
    environments = {environment_of(entry["stack"]) for entry in results["inputs"]}
    failing: dict[str, set[str]] = defaultdict(set)
    for row in results["results"]:
        if row["verdict"] in ("NON_COMPLIANT", "ERROR"):
            scope = [environment_of(row["resource"]["stack"])] if row["resource"] else environments
            for environment in scope:
                failing[environment].add(row["control"])
    return failing


def test_results_json_validates_against_its_schema(gate_results):
    jsonschema.Draft202012Validator(json.loads(RESULTS_SCHEMA.read_text())).validate(gate_results)


def test_vendored_sarif_schema_is_the_recorded_upstream_file():
    readme = (SARIF_SCHEMA.parent / "README.md").read_text()
    assert hashlib.sha256(SARIF_SCHEMA.read_bytes()).hexdigest() in readme


def test_sarif_validates_and_has_one_rule_per_control_and_one_result_per_finding(gate_results, real_reports):
    sarif = json.loads((real_reports / "results.sarif").read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(sarif), key=str)
    assert not errors, [f"{e.message} at {list(e.absolute_path)}" for e in errors[:5]]
    run = sarif["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert list(rules) == [control["id"] for control in gate_results["controls"]]
    for control in gate_results["controls"]:
        assert rules[control["id"]]["properties"]["pci-dss-v4.0.1-requirements"] == control["requirements"]
    findings = [(row["control"], (row["resource"] or {}).get("address")) for row in gate_results["results"]
                if row["verdict"] != "COMPLIANT"]
    reported = [(result["ruleId"], result["locations"][0]["logicalLocations"][0]["decoratedName"]
                 if "locations" in result else None) for result in run["results"]]
    assert sorted(reported, key=str) == sorted(findings, key=str)
    hashes = {artifact["location"]["uri"].rsplit("/", 2)[-2]: artifact["hashes"]["sha-256"]
              for artifact in run["artifacts"] if artifact["roles"] == ["analysisTarget"]}
    assert hashes == {entry["stack"]: entry["sha256"] for entry in gate_results["inputs"]}
    for artifact in run["artifacts"]:
        assert not artifact["location"]["uri"].startswith(("/", "file:")), "artifact URIs must be relative"
    for result in run["results"]:
        excepted = next(r for r in gate_results["results"] if r["control"] == result["ruleId"] and
                        (r["resource"] or {}).get("address") ==
                        result["locations"][0]["logicalLocations"][0]["decoratedName"])["verdict"] == "EXCEPTED"
        assert ("suppressions" in result) == excepted
        if excepted:
            assert result["suppressions"][0]["status"] == "accepted" and result["suppressions"][0]["justification"]


def test_junit_has_one_case_per_control_and_environment_and_counts_match(gate_results, real_reports):
    root = ET.parse(real_reports / "junit.xml").getroot()
    environments = sorted({environment_of(entry["stack"]) for entry in gate_results["inputs"]})
    controls = [control["id"] for control in gate_results["controls"]]
    failing = _failing_by_environment(gate_results)
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert set(environments) <= set(suites)
    for environment in environments:
        suite = suites[environment]
        cases = suite.findall("testcase")
        assert [case.get("name").split(" ", 1)[0] for case in cases] == controls
        assert {case.get("classname") for case in cases} == {environment}
        failed = {case.get("name").split(" ", 1)[0] for case in cases
                  if case.find("failure") is not None or case.find("error") is not None}
        assert failed == failing[environment]
        assert int(suite.get("tests")) == len(controls)
        assert int(suite.get("failures")) + int(suite.get("errors")) == len(failing[environment])
    register = gate_results["exceptions"]
    assert len(suites["exceptions register"].findall("testcase")) == len(register["applied"]) + len(
        register["problems"])
    assert int(root.get("tests")) == len(controls) * len(environments) + len(register["applied"]) + len(
        register["problems"])


def test_html_renders_fully_offline_with_every_control_and_requirement(gate_results, real_reports, chromium,
                                                                        tmp_path):
    page = real_reports / "report.html"
    image = screenshot(chromium, page, tmp_path / "report.png")
    assert image.stat().st_size > 50_000, "the screenshot is (nearly) blank"
    load = load_page(chromium, page, tmp_path / "offline")
    assert load.requests == [], f"the page requested {[r.get('url') for r in load.requests]}"
    dom = load.dom
    assert "Generated" in dom.rsplit("<footer", 1)[-1], "the page did not render to its end"
    for control in default_catalog().controls:
        assert f'id="control-{control.id}"' in dom, control.id
        for requirement in control.requirements:
            assert f'id="req-{requirement}"' in dom, requirement
    parsed = sections(dom)
    summary = {row[0]: row[1:] for row in parsed.tables["summary"][0].rows[1:]}
    statuses = defaultdict(lambda: defaultdict(set))
    for row in gate_results["results"]:
        if row["resource"]:
            statuses[environment_of(row["resource"]["stack"])][row["control"]].add(row["verdict"])
    for environment, by_control in statuses.items():
        failed = len(_failing_by_environment(gate_results)[environment])
        excepted = sum(1 for verdicts in by_control.values()
                       if "EXCEPTED" in verdicts and not verdicts & {"NON_COMPLIANT", "ERROR"})
        passed = sum(1 for verdicts in by_control.values() if verdicts == {"COMPLIANT"})
        assert summary[environment][:3] == [str(passed), str(failed), str(excepted)], environment


def test_html_references_nothing_outside_itself(real_reports):
    html = (real_reports / "report.html").read_text()
    assert external_references(html) == []
    assert "<script" not in html.lower()
    head = html_module.unescape(html.split("</head>", 1)[0])
    assert re.search(r'<meta http-equiv="Content-Security-Policy" content="default-src \'none\';', head)


def test_architecture_is_derived_from_the_synth(real_reports, synth_dir):
    """Every REST API, VPC link, load balancer, weighted target group and function of each environment
    appears in that environment's diagram, found by type in the synth rather than by name."""
    html = (real_reports / "report.html").read_text()
    figures = dict(re.findall(r'<figure class="diagram" id="architecture-([^"]+)">(.*?)</figure>', html, re.S))
    wanted = ("aws_api_gateway_rest_api", "aws_api_gateway_vpc_link", "aws_lb", "aws_lambda_function")
    for stack in load_synth(synth_dir):
        figure = figures[environment_of(stack.name)]
        for rtype in wanted:
            for name in stack.document.get("resource", {}).get(rtype, {}):
                assert f'data-address="{stack.name}:{rtype}.{name}"' in figure, f"{stack.name}:{rtype}.{name}"


def test_weights_in_force_match_the_environment_config(real_reports, configs):
    html = (real_reports / "report.html").read_text()
    table = sections(html).tables["traffic"][0].rows
    shown = defaultdict(dict)
    environment = None
    for row in table[1:]:
        if len(row) == 9:
            environment = row[0]
            row = row[3:]
        shown[environment][row[0]] = int(row[2])
    for name, config in configs.items():
        assert shown[name] == {"blue": config.compute.blue.weight, "green": config.compute.green.weight}, name
