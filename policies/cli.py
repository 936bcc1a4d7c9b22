"""``python -m policies gate|mutate|explain``: the post-synth policy gate, its mutation test, and where a
control's layers live.

    python -m policies gate [--synth-dir cdktf.out] [--report-dir compliance_reports] [--baseline FILE] [--pdf]
                            [--checkov-cache DIR] [--record-inputs FILE] [--checkov-timeout SECONDS]
                            [--environments dev,staging,prod] [--require-provenance]
    python -m policies mutate [--synth-dir cdktf.out]
    python -m policies explain PCI-XXX-NNN [--json]

gate exit codes: 0 every control passes or is excepted; 1 a control is noncompliant (or could not be
checked) or the exceptions register has a problem; 2 usage, configuration, tooling or input error (missing
or malformed cdk.tf.json, a synth without its manifest.json or whose stacks differ from it, an expected
environment without a stack, with --require-provenance a synth modified after synth or without provenance,
checkov missing, crashing, timed out or interrupted by SIGINT/SIGTERM, unreadable catalog/rules/register, an
inconsistent baseline, an input over its size limit): nothing written.

mutate breaks each control on a copy of a compliant synth and runs the gate on every mutant; exit 0 when
every applicable mutant is caught, 1 when one survives or the synth is not compliant to begin with, 2 on
errors as above.

explain prints where each layer of one control lives (README "One home per control"); exit 0, or 2 for an
unknown id (naming the close matches) or an unreadable catalog or register.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jmespath
import jsonschema

from policies import depfile, report
from policies import explain as explainer
from policies.catalog import CATALOG_FILE, CONTROLS_DIR, REQUIREMENTS_FILE, CatalogError, default_catalog
from policies.checkout import revision
from policies.checkov_layer import CHECKS_GLOB, DEFAULT_TIMEOUT, TIMEOUT_VARIABLE, ToolError, run_checkov
from policies.coverage import COVERAGE_REPORT, CoverageError, load_coverage, render_matrix
from policies.engine import RULE_FILES, RULES_DIR, RuleError
from policies.evaluation import Policies, evaluate_stacks, load_policies
from policies.iam import AllowlistError, default_allowlist
from policies.integrity import VERIFIED, check_synth
from policies.model import InputError, StackFile, load_synth
from policies.mutate import MutationError, render, run_mutations
from policies.register import REGISTER_FILE, RegisterError, load_register
from policies.reports import write_reports
from policies.reports.posture import build_posture
from policies.reports.provenance import terraform_version
from policies.rules.registry import PackMismatchError
from policies.scope import environment_of
from policies.yamlfile import YamlFileError, quote, read_text

EXIT_OK, EXIT_NONCOMPLIANT, EXIT_ERROR = 0, 1, 2
MAX_BASELINE_BYTES = 64 * 1024 * 1024  # a results.json of the three environments is ~3 MB
CONFIG_ERRORS = (CatalogError, CoverageError, RuleError, AllowlistError, RegisterError)



def _environments(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names or not all(re.fullmatch(r"[a-z0-9]+", name) for name in names):
        raise argparse.ArgumentTypeError(f"{text!r}: expected environment names separated by commas, e.g. dev,prod")
    return names


def _inputs(stacks: list[StackFile]) -> list[dict[str, Any]]:
    return [{"stack": s.name, "environment": environment_of(s.name), "path": str(s.path), "sha256": s.sha256,
             "resources": sum(len(v) for v in s.document.get("resource", {}).values()),
             "data_sources": sum(len(v) for v in s.document.get("data", {}).values())} for s in stacks]


def _configuration(policies: Policies) -> dict[str, Any]:
    def entry(path: Path) -> dict[str, str]:
        return {"path": str(path), "sha256": report.sha256_of(path)}

    return {"catalog": entry(CATALOG_FILE), "requirements": entry(REQUIREMENTS_FILE),
            "controls": [entry(path) for path in dict.fromkeys(policies.catalog.control_files.values())],
            "register": entry(policies.register.source),
            "allowlist": entry(default_allowlist().source),
            "rules": [entry(path) for path in sorted(RULES_DIR.glob(RULE_FILES))],
            "checkov_checks": {"path": str(CONTROLS_DIR / CHECKS_GLOB),
                               "sha256": report.sha256_of_tree(CONTROLS_DIR, f"{CHECKS_GLOB}/*.*")}}


def _provenance(synth: dict[str, Any], checkov_version: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Where the evidence came from (run.provenance), and the versions of every tool that produced it."""
    checkout = revision()
    record = synth["provenance"] or {}
    versions = {"python": platform.python_version(), "checkov": checkov_version, "jmespath": jmespath.__version__,
                **{name: version for name, version in (record.get("versions") or {}).items()
                   if name in ("cdktf", "cdktf-cdktf-provider-aws") and isinstance(version, str)}}
    terraform = terraform_version()
    if terraform:
        versions["terraform"] = terraform
    return {"commit": checkout.commit, "dirty": checkout.dirty, "synth": synth}, versions


def run_gate(synth_dir: Path, report_dir: Path, baseline: Path | None = None,
             register_file: Path = REGISTER_FILE, pdf: bool = False, checkov_cache: Path | None = None,
             record_inputs: Path | None = None, checkov_timeout: float | None = None,
             environments: tuple[str, ...] = (), require_provenance: bool = False) -> int:
    """The gate; ``record_inputs``: also write the depfile record of what it (and checkov) read, on exit 0/1;
    ``environments``: each must have a stack; ``require_provenance``: refuse a synth that is not exactly what
    the synth wrote (policies/integrity.py)."""
    recorder = depfile.process_recorder() if record_inputs is not None else None
    started_at, started = report.now(), time.monotonic()
    try:
        policies = load_policies(register_file)
        baseline_document = _load_baseline(baseline) if baseline else None
        stacks = load_synth(synth_dir, environments)
        synth = check_synth(synth_dir)
        if require_provenance and synth["state"] != VERIFIED:
            raise InputError(f"{synth_dir}: {synth['state']} ({'; '.join(synth['problems'])}); "
                             "--require-provenance accepts only a synth exactly as `make synth` wrote it")
        load_seconds = time.monotonic() - started
        checkov = run_checkov([s.path for s in stacks], policies.checkov_ids, cache_dir=checkov_cache,
                              timeout=checkov_timeout)
        merge_started = time.monotonic()
        evaluation, _, engine_seconds = evaluate_stacks(policies, stacks, list(checkov.records),
                                                        {s.path: s.name for s in stacks})
        merge_seconds = time.monotonic() - merge_started - engine_seconds
    except (*CONFIG_ERRORS, InputError, ToolError) as error:
        print(f"policy gate: nothing written; {error.__class__.__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR
    exit_code = EXIT_NONCOMPLIANT if evaluation.failed else EXIT_OK
    provenance, versions = _provenance(synth, checkov.version)
    run: dict[str, Any] = {
        "tool": "python -m policies gate", "started_at": started_at.isoformat(),
        "finished_at": report.now().isoformat(), "duration_seconds": round(time.monotonic() - started, 3),
        "exit_code": exit_code, "outcome": "FAIL" if exit_code else "PASS",
        "synth_dir": str(Path(synth_dir).resolve()), "report_dir": str(Path(report_dir).resolve()),
        "versions": versions, "provenance": provenance, "expected_environments": list(environments),
        "checkov_scan": {"scanned": len(checkov.scanned), "reused": len(checkov.reused)},
        "timings_seconds": {"load": round(load_seconds, 3), "checkov": round(checkov.seconds, 3),
                            "jmespath": round(engine_seconds, 3), "merge": round(merge_seconds, 3)},
        "configuration": _configuration(policies),
    }
    # Every value leaves through the redactor (the evidence already has; the rest of the document too).
    document = evaluation.redactor.value(report.build_document(evaluation, run=run, inputs=_inputs(stacks)))
    if baseline_document is not None and baseline is not None:
        document["comparison"] = report.compare(document, baseline_document, baseline)
    try:
        report.validate(document)
    except jsonschema.ValidationError as error:
        print(f"policy gate: nothing written; the results do not match {report.SCHEMA_FILE.name}: "
              f"{error.message} at {list(error.absolute_path)}", file=sys.stderr)
        return EXIT_ERROR
    summary = evaluation.redactor.lines(report.render_summary(evaluation, document))
    reports_started = time.monotonic()
    gate_files = {report.RESULTS_FILE: (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8"),
                  report.SUMMARY_FILE: summary.encode("utf-8"),
                  COVERAGE_REPORT: evaluation.redactor.lines(
                      render_matrix(load_coverage(policies.catalog), document)).encode("utf-8")}
    written = write_reports(document, Path(report_dir), baseline=baseline_document, synth_dir=Path(synth_dir),
                            pdf=pdf, gate_files=gate_files)
    reports_seconds = time.monotonic() - reports_started
    print(summary, end="")
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in {**run["timings_seconds"], "reports": reports_seconds}.items())
    names = ", ".join(path.name for path in written)
    reused = f"; checkov findings of {len(checkov.reused)} unchanged stack(s) reused" if checkov.reused else ""
    print(f"\nreports in {Path(report_dir)}: {names} ({timings}; total {run['duration_seconds']:.2f}s{reused})")
    if recorder is not None and record_inputs is not None:
        depfile.write_record(record_inputs, depfile.merge(recorder.record(), checkov.inputs))
    return exit_code


def _load_baseline(path: Path) -> dict[str, Any]:
    """A previous results.json, checked as completely as this run's own before anything is written: the
    schema, then the references inside it (a row naming a control its controls list lacks) and everything
    the comparison and the posture diff read from it."""
    try:
        document: dict[str, Any] = json.loads(read_text(path, MAX_BASELINE_BYTES, "baseline"))
        report.validate(document)
    except YamlFileError as error:
        raise InputError(str(error)) from None
    except (ValueError, RecursionError, jsonschema.ValidationError) as error:
        raise InputError(f"{path}: not a results.json of this schema ({error.__class__.__name__}: "
                         f"{quote(getattr(error, 'message', str(error)), 160)})") from None
    problems = report.baseline_problems(document)
    if not problems:
        try:
            build_posture(document)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            problems = [f"it cannot be compared ({error.__class__.__name__}: {quote(error, 120)})"]
    if problems:
        raise InputError(f"{path}: not a consistent results.json: {'; '.join(problems[:5])}"
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    return document


def run_mutate(synth_dir: Path) -> int:
    try:
        policies = load_policies()
        stacks = load_synth(synth_dir)
        with tempfile.TemporaryDirectory(prefix="policy-mutants-") as workdir:
            mutation_report = run_mutations(policies, stacks, Path(workdir))
    except (*CONFIG_ERRORS, InputError, ToolError, MutationError) as error:
        print(f"mutate: {error.__class__.__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR
    if mutation_report.baseline_failures:
        print("mutate: the synth is not compliant to begin with; fix it first:\n  "
              + "\n  ".join(mutation_report.baseline_failures), file=sys.stderr)
        return EXIT_NONCOMPLIANT
    print(render(mutation_report))
    return EXIT_NONCOMPLIANT if mutation_report.survivors else EXIT_OK


def run_explain(control_id: str, as_json: bool) -> int:
    try:
        explanation = explainer.explain(default_catalog(), load_register(), control_id)
    except (explainer.UnknownControlError, CatalogError, RegisterError, PackMismatchError) as error:
        print(f"explain: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(explanation, indent=1) if as_json else explainer.render(explanation), end="\n" if as_json else "")
    return EXIT_OK


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a positive number of seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policies", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    gate = commands.add_parser("gate", help="run the post-synth policy gate on a synth directory")
    gate.add_argument("--synth-dir", type=Path, default=Path("cdktf.out"))
    gate.add_argument("--report-dir", type=Path, default=Path("compliance_reports"))
    gate.add_argument("--baseline", type=Path, help="a previous results.json to compare with (informational)")
    gate.add_argument("--pdf", action="store_true", help="also print report.pdf with headless Chromium (~15 s)")
    gate.add_argument("--checkov-cache", type=Path, help="reuse checkov findings of unchanged stacks from here")
    gate.add_argument("--record-inputs", type=Path, metavar="FILE",
                      help="write the project files the gate read, with their hashes (a depfile) to FILE")
    gate.add_argument("--checkov-timeout", type=_seconds, metavar="SECONDS",
                      help=f"stop checkov after this long: exit 2 (default ${TIMEOUT_VARIABLE} or {DEFAULT_TIMEOUT:g})")
    gate.add_argument("--environments", type=_environments, default=(), metavar="ENV[,ENV...]",
                      help="environments the synth must contain (each at least one stack), e.g. dev,staging,prod")
    gate.add_argument("--require-provenance", action="store_true",
                      help="exit 2 unless the synth is exactly what the synth wrote (its provenance.json)")
    mutate = commands.add_parser("mutate", help="prove every control can fail: mutate a compliant synth")
    mutate.add_argument("--synth-dir", type=Path, default=Path("cdktf.out"))
    explain = commands.add_parser("explain", help="print where every layer of one control lives")
    explain.add_argument("control_id", metavar="PCI-XXX-NNN")
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_ERROR if exit_.code else EXIT_OK
    if args.command == "gate":
        return run_gate(args.synth_dir, args.report_dir, args.baseline, pdf=args.pdf,
                        checkov_cache=args.checkov_cache, record_inputs=args.record_inputs,
                        checkov_timeout=args.checkov_timeout,
                        environments=args.environments, require_provenance=args.require_provenance)
    if args.command == "explain":
        return run_explain(args.control_id, args.json)
    return run_mutate(args.synth_dir)
