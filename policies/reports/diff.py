"""Posture change since a baseline results document, per control and environment (``diff.json``).

Four lists an auditor asks for: controls newly failing, controls newly passing, exceptions granted since
the baseline, and exceptions that were in force at the baseline and have expired since. Any other change
of a control's status (say PASS to NOT_APPLICABLE) is listed under ``other_changes``, so nothing that
moved is left out.
"""

from __future__ import annotations

from policies.jsontypes import JsonObject
from policies.reports.posture import EXCEPTED, FAIL, FAILING, PASS, Posture, build_posture, parse_date

DIFF_FORMAT = "payments-policy-gate/posture-diff/1"


def _statuses(posture: Posture) -> dict[tuple[str, str], str]:
    return {(view.id, environment): status for view in posture.controls
            for environment, status in view.status_by_environment.items()}


def _exception(entry: JsonObject, environment: str) -> JsonObject:
    return {"control": entry["control"], "resource": entry["resource"], "environment": environment,
            "approver": entry["approver"], "expires": entry["expires"], "justification": entry["justification"]}


def posture_diff(current: Posture, baseline_document: JsonObject) -> JsonObject:
    baseline = build_posture(baseline_document)
    before, now = _statuses(baseline), _statuses(current)
    titles = {view.id: view.control["title"] for view in baseline.controls + current.controls}
    newly_failing, newly_passing, other = [], [], []
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key), now.get(key)
        if old == new:
            continue
        control, environment = key
        change = {"control": control, "title": titles[control], "environment": environment, "before": old,
                  "after": new}
        if new == FAIL:
            change["failing_resources"] = sorted(
                f.address or "(rule could not run)" for f in current.control(control).findings_in(environment)
                if f.verdict in FAILING)
            newly_failing.append(change)
        elif new == PASS and old in (FAIL, EXCEPTED):
            newly_passing.append(change)
        else:
            other.append(change)
    active_before = {e.key: e for e in baseline.exceptions if e.state == "ACTIVE"}
    now_by_key = {e.key: e for e in current.exceptions}
    new_exceptions = [_exception(e.entry, e.environment) for e in current.exceptions
                      if e.state == "ACTIVE" and e.key not in active_before]
    expired = []
    for key, old_entry in sorted(active_before.items()):
        entry = now_by_key.get(key)
        expires = parse_date(old_entry.entry["expires"])
        if (entry is not None and entry.state == "EXPIRED") or (
                entry is None and expires is not None and expires < current.run_date):
            expired.append(_exception((entry or old_entry).entry, old_entry.environment))
    return {
        "format": DIFF_FORMAT,
        "baseline": {"started_at": baseline.run["started_at"], "outcome": baseline.run["outcome"],
                     "inputs": {i["stack"]: i["sha256"] for i in baseline_document["inputs"]}},
        "current": {"started_at": current.run["started_at"], "outcome": current.run["outcome"]},
        "newly_failing": newly_failing,
        "newly_passing": newly_passing,
        "new_exceptions": sorted(new_exceptions, key=lambda e: (e["control"], e["resource"])),
        "expired_exceptions": expired,
        "other_changes": other,
    }

