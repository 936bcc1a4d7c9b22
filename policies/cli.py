"""``python -m policies gate|mutate``: the post-synth policy gate and its mutation test.

    python -m policies gate [--synth-dir cdktf.out] [--report-dir compliance_reports] [--baseline FILE] [--pdf]
                            [--checkov-cache DIR] [--record-inputs FILE]
    python -m policies mutate [--synth-dir cdktf.out]

gate exit codes: 0 every control passes or is excepted; 1 a control is noncompliant (or could not be
checked) or the exceptions register has a problem; 2 usage, configuration, tooling or input error (missing
or malformed cdk.tf.json, checkov missing or crashing, unreadable catalog/rules/register): nothing written.

mutate breaks each control on a copy of a compliant synth and runs the gate on every mutant; exit 0 when
every applicable mutant is caught, 1 when one survives or the synth is not compliant to begin with, 2 on
errors as above.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import jmespath
import jsonschema

from policies import depfile, report
from policies.catalog import CATALOG_FILE, CatalogError
from policies.checkov_layer import CHECKS_DIR, ToolError, run_checkov
from policies.coverage import COVERAGE_REPORT, CoverageError, load_coverage, render_matrix
from policies.engine import RULES_DIR, RuleError
from policies.evaluation import Policies, evaluate_stacks, load_policies
from policies.iam import AllowlistError, default_allowlist
from policies.model import InputError, StackFile, load_synth
from policies.mutate import MutationError, render, run_mutations
from policies.register import REGISTER_FILE, RegisterError
from policies.reports import write_reports

EXIT_OK, EXIT_NONCOMPLIANT, EXIT_ERROR = 0, 1, 2
CONFIG_ERRORS = (CatalogError, CoverageError, RuleError, AllowlistError, RegisterError)



def _inputs(stacks: list[StackFile]) -> list[dict]:
    return [{"stack": s.name, "path": str(s.path), "sha256": s.sha256,
             "resources": sum(len(v) for v in s.document.get("resource", {}).values()),
             "data_sources": sum(len(v) for v in s.document.get("data", {}).values())} for s in stacks]


def _configuration(policies: Policies) -> dict:
    def entry(path: Path) -> dict:
        return {"path": str(path), "sha256": report.sha256_of(path)}

    return {"catalog": entry(CATALOG_FILE), "register": entry(policies.register.source),
            "allowlist": entry(default_allowlist().source),
            "rules": [entry(path) for path in sorted(RULES_DIR.glob("*.yaml"))],
            "checkov_checks": {"path": str(CHECKS_DIR), "sha256": report.sha256_of_tree(CHECKS_DIR, "*.*")}}


def run_gate(synth_dir: Path, report_dir: Path, baseline: Path | None = None,
             register_file: Path = REGISTER_FILE, pdf: bool = False, checkov_cache: Path | None = None,
             record_inputs: Path | None = None) -> int:
    """The gate; ``record_inputs``: also write the depfile record of what it (and checkov) read, on exit 0/1."""
    recorder = depfile.process_recorder() if record_inputs is not None else None
    started_at, started = report.now(), time.monotonic()
    try:
        policies = load_policies(register_file)
        baseline_document = _load_baseline(baseline) if baseline else None
        stacks = load_synth(synth_dir)
        load_seconds = time.monotonic() - started
        checkov = run_checkov([s.path for s in stacks], policies.checkov_ids, cache_dir=checkov_cache)
        merge_started = time.monotonic()
        evaluation, _, engine_seconds = evaluate_stacks(policies, stacks, list(checkov.records),
                                                        {s.path: s.name for s in stacks})
        merge_seconds = time.monotonic() - merge_started - engine_seconds
    except (*CONFIG_ERRORS, InputError, ToolError) as error:
        print(f"policy gate: nothing written; {error.__class__.__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR
    exit_code = EXIT_NONCOMPLIANT if evaluation.failed else EXIT_OK
    run = {
        "tool": "python -m policies gate", "started_at": started_at.isoformat(),
        "finished_at": report.now().isoformat(), "duration_seconds": round(time.monotonic() - started, 3),
        "exit_code": exit_code, "outcome": "FAIL" if exit_code else "PASS",
        "synth_dir": str(Path(synth_dir).resolve()), "report_dir": str(Path(report_dir).resolve()),
        "versions": {"python": platform.python_version(), "checkov": checkov.version,
                     "jmespath": jmespath.__version__},
        "checkov_scan": {"scanned": len(checkov.scanned), "reused": len(checkov.reused)},
        "timings_seconds": {"load": round(load_seconds, 3), "checkov": round(checkov.seconds, 3),
                            "jmespath": round(engine_seconds, 3), "merge": round(merge_seconds, 3)},
        "configuration": _configuration(policies),
    }
    document = report.build_document(evaluation, run=run, inputs=_inputs(stacks))
    if baseline_document is not None:
        document["comparison"] = report.compare(document, baseline_document, baseline)
    try:
        report.validate(document)
    except jsonschema.ValidationError as error:
        print(f"policy gate: nothing written; the results do not match {report.SCHEMA_FILE.name}: "
              f"{error.message} at {list(error.absolute_path)}", file=sys.stderr)
        return EXIT_ERROR
    summary = report.render_summary(evaluation, document)
    report.write_atomic(Path(report_dir), report.SUMMARY_FILE, summary)
    report.write_atomic(Path(report_dir), report.RESULTS_FILE, json.dumps(document, indent=1, sort_keys=True) + "\n")
    reports_started = time.monotonic()
    written = write_reports(document, Path(report_dir), baseline=baseline_document, synth_dir=Path(synth_dir),
                            pdf=pdf)
    written.append(report.write_atomic(Path(report_dir), COVERAGE_REPORT,
                                       render_matrix(load_coverage(policies.catalog), document)))
    run["timings_seconds"]["reports"] = round(time.monotonic() - reports_started, 3)
    print(summary, end="")
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in run["timings_seconds"].items())
    names = ", ".join(path.name for path in written)
    reused = f"; checkov findings of {len(checkov.reused)} unchanged stack(s) reused" if checkov.reused else ""
    print(f"\nreports in {Path(report_dir)}: {report.RESULTS_FILE}, {report.SUMMARY_FILE}, {names} ({timings}; "
          f"total {run['duration_seconds']:.2f}s{reused})")
    if recorder is not None:
        depfile.write_record(record_inputs, depfile.merge(recorder.record(), checkov.inputs))
    return exit_code


def _load_baseline(path: Path) -> dict:
    try:
        document = json.loads(Path(path).read_text())
        report.validate(document)
    except (OSError, ValueError, jsonschema.ValidationError) as error:
        raise InputError(f"{path}: not a readable results.json of this schema ({error.__class__.__name__})") \
            from None
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
    mutate = commands.add_parser("mutate", help="prove every control can fail: mutate a compliant synth")
    mutate.add_argument("--synth-dir", type=Path, default=Path("cdktf.out"))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_ERROR if exit_.code else EXIT_OK
    if args.command == "gate":
        return run_gate(args.synth_dir, args.report_dir, args.baseline, pdf=args.pdf,
                        checkov_cache=args.checkov_cache, record_inputs=args.record_inputs)
    return run_mutate(args.synth_dir)
