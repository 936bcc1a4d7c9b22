"""``junit.xml``: one test case per control and environment, for CI dashboards.

A suite per environment (``classname`` = the environment, ``name`` = control id and title): a failing
control is a ``failure`` carrying its findings, one that only could not be checked an ``error``, one with
nothing to check in that environment ``skipped``; an excepted control passes and lists its exceptions in
``system-out``. A last suite has one case per exceptions-register entry, failing when the entry is expired
or invalid, because the gate fails on those too.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from policies.reports.context import ReportContext
from policies.reports.markup import clean
from policies.reports.posture import EXCEPTED, FAIL, FAILING, NON_COMPLIANT, NOT_APPLICABLE

REGISTER_SUITE = "exceptions register"


def _suite(parent: ET.Element, name: str, timestamp: str) -> ET.Element:
    return ET.SubElement(parent, "testsuite", name=name, timestamp=timestamp, time="0")


def _count(suite: ET.Element) -> dict[str, int]:
    cases = suite.findall("testcase")
    counts = {"tests": len(cases), "failures": sum(1 for c in cases if c.find("failure") is not None),
              "errors": sum(1 for c in cases if c.find("error") is not None),
              "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
    for key, value in counts.items():
        suite.set(key, str(value))
    return counts


def render_junit(context: ReportContext) -> bytes:
    posture, run = context.posture, context.posture.run
    timestamp = run["started_at"][:19]
    root = ET.Element("testsuites", name="PCI DSS v4.0.1 policy gate", time=f"{run['duration_seconds']:.3f}")
    suites = []
    for environment in posture.environments:
        suite = _suite(root, environment, timestamp)
        properties = ET.SubElement(suite, "properties")
        for key, value in (("gate.outcome", run["outcome"]), ("git.commit", context.revision.commit or "unknown"),
                           ("synth.provenance", posture.integrity_notice() or "verified")):
            ET.SubElement(properties, "property", name=key, value=clean(value))
        for view in posture.controls:
            case = ET.SubElement(suite, "testcase", classname=environment,
                                 name=clean(f"{view.id} {view.control['title']}"), time="0")
            status = view.status_by_environment[environment]
            findings = view.findings_in(environment)
            if status == FAIL:
                failing = [f for f in findings if f.verdict in FAILING]
                noncompliant = any(f.verdict == NON_COMPLIANT for f in failing)
                element = ET.SubElement(case, "failure" if noncompliant else "error",
                                        type=NON_COMPLIANT if noncompliant else "ERROR",
                                        message=f"{len(failing)} of {len(findings)} resource(s) failing "
                                                f"(PCI DSS v4.0.1 {', '.join(view.control['requirements'])})")
                element.text = clean("\n\n".join(f.summary() for f in failing)
                                     + f"\n\nRemediation: {view.control['remediation']}")
            elif status == NOT_APPLICABLE:
                found = view.control.get("resources_by_environment", {}).get(environment, 0)
                ET.SubElement(case, "skipped", message=(
                    f"none of the {found} resource(s) of this control's types in {environment} is in its scope "
                    "(its rules apply to none of them)" if found else
                    f"no resource of this control's types in {environment}"))
            elif status == EXCEPTED:  # accepted, never passed: skipped, with who accepted it and why
                excepted = [f for f in findings if f.verdict == EXCEPTED]
                reasons = sorted({f"{f.register_entry.entry['justification']} (approved by "
                                  f"{f.register_entry.entry['approver']}, expires {f.register_entry.entry['expires']})"
                                  for f in excepted if f.register_entry is not None})
                ET.SubElement(case, "skipped", message=clean(
                    f"EXCEPTED: {len(excepted)} resource(s) accepted by the exceptions register: "
                    + " | ".join(reasons)))
                ET.SubElement(case, "system-out").text = clean("\n\n".join(f.summary() for f in excepted))
        suites.append(suite)
    register = _suite(root, REGISTER_SUITE, timestamp)
    for exception in posture.exceptions:
        entry = exception.entry
        case = ET.SubElement(register, "testcase", classname=REGISTER_SUITE,
                             name=clean(f"{entry['control']} {entry['resource']}"), time="0")
        if exception.state != "ACTIVE":
            ET.SubElement(case, "failure", type=exception.state,
                          message=clean("; ".join(exception.problems))).text = clean(
                f"{entry['justification']} (approver {entry['approver'] or '-'}, expires {entry['expires']})")
    suites.append(register)
    totals = [_count(suite) for suite in suites]
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(t[key] for t in totals)))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)  # bytes: an encoding is given
    return document + b"\n"
