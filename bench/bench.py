"""Benchmarks of the compliance pipeline (`make bench`): prints a table and writes bench/results.json.

Every figure is the median of >= 3 runs with min and max, measured side by side in one run on this machine:

1. cold `make compliance` (venv present; no cdktf.out/, no .cache/, no .terraform-cli/), by stage as
   tools/compliance.py reports them: synth, terraform init + validate and the gate (these two run
   concurrently), and inside the gate checkov, the JMESPath engine and the reports; the time spent in the
   two aspects (measured in-process in separate synths) and the peak RSS of a synth process;
2. warm `make compliance` with nothing changed;
3. one-file change: a Lambda source file touched (content unchanged: nothing is redone), then edited (the
   synth, the validation of the 3 compute stacks and their checkov scan are redone); and the first run of
   a new day (the gate re-runs, checkov's findings are reused);
4. rule-engine scaling: synthetic synth directories of 1k / 10k / 50k resources of the real types, cloned
   from the real synth; the JMESPath engine's time and evaluations per second, checkov's time running our
   custom checks on the same input (1k and 10k: 50k would take checkov far too long), and the ratio;
5. environment scaling: synth of 1 vs 3 environments (the provider bindings load once per run);
6. test tiers: `make test-fast` (>= 3 runs) and `make test`, the full suite (one run: ~10 minutes), each with
   the 1-minute load average before and after (the figures are only comparable on an idle machine).

    python bench/bench.py [--runs 3] [--quick] [--tests-only]
    (--quick: 1 run, no 50k, no full suite; --tests-only: only the test tiers)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
RESULTS = REPO / "bench" / "results.json"
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PYTHONDONTWRITEBYTECODE": "1"}
sys.path.insert(0, str(REPO))


def summary(samples: list[float]) -> dict:
    return {
        "median": round(statistics.median(samples), 3),
        "min": round(min(samples), 3),
        "max": round(max(samples), 3),
        "runs": len(samples),
    }


def timed(command: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True, check=False, **kwargs)
    return time.monotonic() - started, result


def must(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        sys.exit(f"bench: {what} failed (exit {result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def synth_with_peak_rss(outdir: Path, environments: tuple[str, ...] = ()) -> tuple[float, float]:
    """Wall time and peak RSS (MiB) of one synth process (GNU time reports the maximum resident set)."""
    arguments = [arg for env in environments for arg in ("--env", env)]
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        seconds, result = timed(
            [
                "/usr/bin/time",
                "-f",
                "%M",
                "-o",
                report.name,
                str(PYTHON),
                "-m",
                "app.main",
                "--outdir",
                str(outdir),
                *arguments,
            ]
        )
        must(result, "synth")
        return seconds, int(Path(report.name).read_text().split()[-1]) / 1024


ASPECT_PROBE = """
import json, sys, time
from app.aspects.pci import PciRulePack
from app.aspects.tagging import CostAllocationTagging
spent = {"tagging": 0.0, "pci": 0.0}
def timed_visit(cls, key):
    visit = cls.visit
    def wrapper(self, node):
        started = time.perf_counter()
        try:
            return visit(self, node)
        finally:
            spent[key] += time.perf_counter() - started
    cls.visit = wrapper
timed_visit(CostAllocationTagging, "tagging")
timed_visit(PciRulePack, "pci")
from app.config import load_environments
from app.synth import synthesize
started = time.perf_counter()
synthesize(load_environments(), sys.argv[1])
print(json.dumps({**spent, "synth": time.perf_counter() - started}))
"""


def aspect_seconds(outdir: Path) -> dict:
    _, result = timed([str(PYTHON), "-c", ASPECT_PROBE, str(outdir)])
    must(result, "synth with aspect probes")
    return json.loads(result.stdout.strip().splitlines()[-1])


def clear_caches() -> None:
    """Everything `make compliance` could reuse: the synth, its stamps, validation stamps, the scan cache."""
    for path in (REPO / "cdktf.out", REPO / ".cache", REPO / ".terraform-cli"):
        shutil.rmtree(path, ignore_errors=True)


def compliance_run(timings: Path) -> float:
    seconds, result = timed(["make", "compliance", f"TIMINGS={timings}"])
    must(result, "make compliance")
    return seconds


def cold_compliance(runs: int) -> dict:
    """`make compliance` from nothing but the venv: no cdktf.out/, no caches, no terraform working dirs."""
    stages: dict[str, list[float]] = {}
    for _ in range(runs):
        clear_caches()
        with tempfile.TemporaryDirectory() as directory:
            timings_file = Path(directory) / "timings.json"
            total = compliance_run(timings_file)
            stage = json.loads(timings_file.read_text())
        gate = json.loads((REPO / "compliance_reports" / "results.json").read_text())["run"]["timings_seconds"]
        for name, value in {
            "synth": stage["synth"]["seconds"],
            "terraform_init_validate": stage["validate"]["seconds"],
            "gate": stage["gate"]["seconds"],
            "gate_checkov": gate["checkov"],
            "gate_jmespath_engine": gate["jmespath"],
            "gate_other": stage["gate"]["seconds"] - gate["checkov"] - gate["jmespath"],
            "total": total,
        }.items():
            stages.setdefault(name, []).append(value)
    probe_dir = Path(tempfile.mkdtemp(prefix="bench-aspects-"))
    try:
        aspects = [aspect_seconds(probe_dir / str(index)) for index in range(runs)]
        peaks = [synth_with_peak_rss(probe_dir / f"rss{index}")[1] for index in range(runs)]
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    stages["aspect_tagging"] = [a["tagging"] for a in aspects]
    stages["aspect_pci_rules"] = [a["pci"] for a in aspects]
    result = {name: summary(values) for name, values in stages.items()}
    result["synth_peak_rss_mib"] = summary(peaks)
    return result


def make_compliance(runs: int, before=None, after=None) -> dict:
    samples = []
    for _ in range(runs):
        if before:
            before()
        seconds, result = timed(["make", "compliance"])
        must(result, "make compliance")
        samples.append(seconds)
        if after:
            after()
    return summary(samples)


LAMBDA_SOURCE = REPO / "lambda_src" / "fraud_detection" / "handler.py"


def touch_lambda_source() -> None:
    LAMBDA_SOURCE.touch()


def edit_lambda_source() -> None:
    """A new edit every run (an edit seen before would find its validation and scan results cached)."""
    LAMBDA_SOURCE.write_text(LAMBDA_SOURCE.read_text() + f"# bench: an edited Lambda source, {time.time_ns()}\n")


def restore_lambda_source(original: str) -> None:
    LAMBDA_SOURCE.write_text(original)
    must(timed(["make", "compliance"])[1], "make compliance (restore)")


def forget_gate_verdict() -> None:
    """What the first run of a new day sees: the gate re-runs (its reports count days), checkov's findings don't."""
    for stamp in (REPO / ".cache" / "stages").glob("gate-*.json"):
        stamp.unlink()


def synthetic_synth(real: Path, target: Path, resources: int) -> int:
    """Clone the real stacks' resources (renamed, references kept inside each clone) up to ~`resources`."""
    stacks = sorted(real.glob("stacks/*/cdk.tf.json"))
    documents = [json.loads(path.read_text()) for path in stacks]
    per_round = sum(len(b) for d in documents for b in d.get("resource", {}).values())
    rounds = max(1, round(resources / per_round))
    count = 0
    for index in range(rounds):
        for path, document in zip(stacks, documents):
            clone = copy.deepcopy(document)
            name = f"{path.parent.name}-clone{index}"
            clone.get("terraform", {}).pop("backend", None)
            clone.get("data", {}).pop("terraform_remote_state", None)
            text = re.sub(r"\$\{data\.terraform_remote_state\.[^}]+\}", "remote-value", json.dumps(clone))
            out = target / "stacks" / name / "cdk.tf.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
            count += sum(len(b) for b in clone.get("resource", {}).values())
    return count


def engine_seconds(synth_dir: Path) -> tuple[float, int]:
    from policies.cli import load_policies
    from policies.model import Model, load_synth

    policies = load_policies()
    stacks = load_synth(synth_dir)
    started = time.perf_counter()
    outcomes = policies.engine.evaluate(Model(stacks))
    seconds = time.perf_counter() - started
    return seconds, sum(len(outcome.applicable) for outcome in outcomes)


def checkov_seconds(synth_dir: Path) -> float:
    from policies.checkov_layer import run_checkov
    from policies.cli import load_policies

    custom = [check for check in load_policies().checkov_ids if "PCI" in check]
    started = time.perf_counter()
    run_checkov(sorted(synth_dir.glob("stacks/*/cdk.tf.json")), custom)
    return time.perf_counter() - started


def engine_scaling(runs: int, sizes: tuple[int, ...], checkov_sizes: tuple[int, ...]) -> dict:
    rows = {}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix=f"bench-{size}-") as directory:
            actual = synthetic_synth(REPO / "cdktf.out", Path(directory), size)
            engine = [engine_seconds(Path(directory)) for _ in range(runs)]
            row = {
                "resources": actual,
                "engine_seconds": summary([e[0] for e in engine]),
                "engine_resources_per_second": round(actual / statistics.median(e[0] for e in engine)),
                "rule_evaluations": engine[0][1],
                "engine_evaluations_per_second": round(engine[0][1] / statistics.median(e[0] for e in engine)),
            }
            if size in checkov_sizes:
                checkov = [checkov_seconds(Path(directory)) for _ in range(runs)]
                row["checkov_seconds"] = summary(checkov)
                row["checkov_over_engine"] = round(
                    statistics.median(checkov) / statistics.median(e[0] for e in engine), 1
                )
            rows[str(size)] = row
    return rows


def environment_scaling(runs: int) -> dict:
    result = {}
    for label, environments in (("1_environment", ("dev",)), ("3_environments", ())):
        samples, peaks = [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="bench-envs-") as directory:
                seconds, peak = synth_with_peak_rss(Path(directory) / "out", environments)
                samples.append(seconds)
                peaks.append(peak)
        result[label] = {"synth_seconds": summary(samples), "peak_rss_mib": summary(peaks)}
    return result


def test_tiers(runs: int, full_suite: bool) -> dict:
    def run(target: str) -> dict:
        load_before = os.getloadavg()[0]
        seconds, result = timed(["make", target])
        must(result, f"make {target}")
        return {"seconds": seconds, "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}

    fast = [run("test-fast") for _ in range(runs)]
    result = {"test_fast_seconds": summary([r["seconds"] for r in fast]),
              "test_fast_load_average": [r["load_average"] for r in fast]}
    if full_suite:
        full = run("test")
        result["test_seconds"] = summary([full["seconds"]])
        result["test_load_average"] = [full["load_average"]]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run each, no 50k-resource engine run, no full suite")
    parser.add_argument("--tests-only", action="store_true", help="only the test tiers")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(3, args.runs)
    if not PYTHON.exists():
        sys.exit("bench: no .venv; run `make venv` first")
    results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "runs": runs}
    if args.tests_only:  # the other figures of bench/results.json are kept
        tiers = test_tiers(runs, full_suite=not args.quick)
        previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else results
        RESULTS.write_text(json.dumps({**previous, "test_tiers": tiers}, indent=1) + "\n")
        print_tiers(tiers)
        return 0
    results["cold_compliance"] = cold_compliance(runs)
    must(timed(["make", "compliance"])[1], "make compliance (prime)")
    results["warm_compliance_seconds"] = make_compliance(runs)
    results["one_lambda_file_touched_seconds"] = make_compliance(runs, before=touch_lambda_source)
    original = LAMBDA_SOURCE.read_text()
    try:
        results["one_lambda_file_edited_seconds"] = make_compliance(
            runs, before=edit_lambda_source, after=lambda: restore_lambda_source(original))
    finally:
        LAMBDA_SOURCE.write_text(original)
    results["new_day_gate_rerun_seconds"] = make_compliance(runs, before=forget_gate_verdict)
    sizes = (1000, 10000) if args.quick else (1000, 10000, 50000)
    results["engine_scaling"] = engine_scaling(runs, sizes, checkov_sizes=(1000, 10000))
    results["environment_scaling"] = environment_scaling(runs)
    results["test_tiers"] = test_tiers(runs, full_suite=not args.quick)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print_table(results)
    print(f"\nwritten: {RESULTS.relative_to(REPO)}")
    return 0


def line(label: str, figure: dict, unit: str = "s") -> None:
    print(
        f"  {label:<38} {figure['median']:>9.2f}{unit}   (min {figure['min']:.2f}, max {figure['max']:.2f}, "
        f"n={figure['runs']})"
    )


def print_tiers(tiers: dict) -> None:
    print("test tiers (1-minute load average before and after each run):")
    line("make test-fast", tiers["test_fast_seconds"])
    print(f"    load averages {tiers['test_fast_load_average']}")
    if "test_seconds" in tiers:
        line("make test (full suite)", tiers["test_seconds"])
        print(f"    load averages {tiers['test_load_average']}")


def print_table(results: dict) -> None:
    print("cold make compliance (dev+staging+prod), by stage:")
    for name, figure in results["cold_compliance"].items():
        line(name, figure, " MiB" if name.endswith("mib") else "s")
    line("warm make compliance (no change)", results["warm_compliance_seconds"])
    line("make compliance after touching one Lambda file", results["one_lambda_file_touched_seconds"])
    line("make compliance after editing one Lambda file", results["one_lambda_file_edited_seconds"])
    line("make compliance on a new day (gate re-runs)", results["new_day_gate_rerun_seconds"])
    print("rule engine scaling:")
    for _size, row in results["engine_scaling"].items():
        text = (
            f"  {row['resources']:>6} resources: engine {row['engine_seconds']['median']:.3f}s "
            f"({row['engine_resources_per_second']} resources/s, {row['rule_evaluations']} rule evaluations, "
            f"{row['engine_evaluations_per_second']}/s)"
        )
        if "checkov_seconds" in row:
            text += f", checkov {row['checkov_seconds']['median']:.1f}s, ratio {row['checkov_over_engine']}x"
        print(text)
    print("environment scaling (synth):")
    for label, row in results["environment_scaling"].items():
        line(f"{label} synth", row["synth_seconds"])
        line(f"{label} peak RSS", row["peak_rss_mib"], " MiB")
    print_tiers(results["test_tiers"])


if __name__ == "__main__":
    sys.exit(main())
