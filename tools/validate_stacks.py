"""`terraform init -backend=false` + `terraform validate` of every synthesized stack.

    python -m tools.validate_stacks [SYNTH_DIR]        (default: cdktf.out)

Providers are installed once: a single `terraform init` in a shared working directory whose
``required_providers`` are the union of every stack's, whose data directory (TF_DATA_DIR) and dependency
lock file every stack then reuses, so stacks are validated in parallel with no per-stack init (and no
concurrent writes to the plugin cache, which terraform does not make safe). A stack whose ``cdk.tf.json`` is unchanged
since its last successful validation is not validated again: the stamps (named by the sha256 of the stack's JSON
and of the shared lock file) live in .terraform-cli/validated/, outside the synth directory every synth replaces.

Exit codes: 0 every stack valid; 1 at least one stack invalid; 2 no stacks found or terraform unavailable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tools import terraform_cli

STAMPS = terraform_cli.CLI_DIR / "validated"


@dataclass(frozen=True)
class StackResult:
    stack: str
    valid: bool
    cached: bool
    seconds: float
    diagnostics: tuple[str, ...]


def stack_dirs(synth_dir: Path) -> list[Path]:
    return sorted(path.parent for path in (synth_dir / "stacks").glob("*/cdk.tf.json"))


def _diagnostics(stdout: str, fallback: str) -> tuple[str, ...]:
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return (fallback.strip() or stdout.strip(),)
    lines = []
    for diag in report.get("diagnostics", []):
        where = diag.get("range", {}).get("filename", "")
        address = diag.get("address", "")
        lines.append(
            f"{diag.get('severity', '?')}: {diag.get('summary', '')} {address} {where}".rstrip()
            + (f"\n    {diag['detail']}" if diag.get("detail") else "")
        )
    return tuple(lines)


def _required_providers(stacks: list[Path]) -> dict:
    providers: dict = {}
    for stack in stacks:
        declared = json.loads((stack / "cdk.tf.json").read_text()).get("terraform", {}).get("required_providers", {})
        for name, spec in declared.items():
            if name in providers and providers[name] != spec:
                raise ValueError(f"stacks disagree on provider {name!r}: {providers[name]} vs {spec} ({stack.name})")
            providers[name] = spec
    return providers


def install_providers(stacks: list[Path], env: dict[str, str], workdir: Path = terraform_cli.CLI_DIR / "init") -> Path:
    """Init once for all stacks; return the shared workdir (holding .terraform/ and .terraform.lock.hcl)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = json.dumps({"terraform": {"required_providers": _required_providers(stacks)}}, indent=1, sort_keys=True)
    main_file = workdir / "main.tf.json"
    lock = workdir / ".terraform.lock.hcl"
    if main_file.exists() and main_file.read_text() == config and lock.exists() and (workdir / ".terraform").is_dir():
        return workdir
    main_file.write_text(config)
    init = terraform_cli.run(["init", "-backend=false", "-input=false", "-no-color"], workdir, env)
    if init.returncode != 0:
        main_file.unlink()
        raise terraform_cli.TerraformUnavailable(
            f"terraform init failed:\n{init.stderr.strip() or init.stdout.strip()}"
        )
    return workdir


def validate_stack(stack_dir: Path, shared: Path, env: dict[str, str], use_cache: bool = True) -> StackResult:
    started = time.monotonic()
    lock = shared / ".terraform.lock.hcl"
    shutil.copyfile(lock, stack_dir / ".terraform.lock.hcl")
    # Validity depends only on the stack's JSON and the providers locked: identical content validated once.
    stamp = STAMPS / hashlib.sha256((stack_dir / "cdk.tf.json").read_bytes() + lock.read_bytes()).hexdigest()
    if use_cache and stamp.exists():
        return StackResult(stack_dir.name, True, True, time.monotonic() - started, ())
    check = terraform_cli.run(
        ["validate", "-json", "-no-color"], stack_dir, {**env, "TF_DATA_DIR": str(shared / ".terraform")}
    )
    valid = check.returncode == 0
    if valid:
        STAMPS.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    return StackResult(
        stack_dir.name, valid, False, time.monotonic() - started, _diagnostics(check.stdout, check.stderr)
    )


def validate_all(synth_dir: Path, jobs: int | None = None, use_cache: bool = True) -> list[StackResult]:
    stacks = stack_dirs(synth_dir)
    if not stacks:
        raise FileNotFoundError(f"no stacks in {synth_dir}/stacks/*/cdk.tf.json: run `make synth` first")
    terraform_cli.terraform_binary()
    env = terraform_cli.terraform_env(terraform_cli.write_cli_config())
    shared = install_providers(stacks, env)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
        return list(pool.map(lambda d: validate_stack(d, shared, env, use_cache), stacks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("synth_dir", nargs="?", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--no-cache", action="store_true", help="validate every stack, even unchanged ones")
    parser.add_argument("--jobs", type=int, default=None, help="stacks validated in parallel (default: CPUs)")
    args = parser.parse_args(argv)
    try:
        results = validate_all(args.synth_dir, args.jobs, use_cache=not args.no_cache)
    except (FileNotFoundError, ValueError, terraform_cli.TerraformUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for result in results:
        verdict = "valid" if result.valid else "INVALID"
        note = " (unchanged since last validation)" if result.cached else ""
        print(f"{verdict:8} {result.stack}  {result.seconds:.1f}s{note}")
        for line in result.diagnostics:
            print(f"    {line}")
    invalid = [r.stack for r in results if not r.valid]
    if invalid:
        print(f"terraform validate failed for: {', '.join(invalid)}", file=sys.stderr)
        return 1
    print(f"all {len(results)} stacks valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
