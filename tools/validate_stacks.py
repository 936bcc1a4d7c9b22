"""`terraform init -backend=false` + `terraform validate` of every synthesized stack.

    python -m tools.validate_stacks [SYNTH_DIR]        (default: cdktf.out)

Providers are installed once: a single `terraform init` in a shared working directory whose
``required_providers`` are the union of every stack's fills the plugin cache and writes the dependency lock
file (terraform does not make concurrent writes to the plugin cache safe, so this is the only install).

Stacks are then validated together, as child modules of one throwaway root module: the AWS provider's schema
(the bulk of a validate's ~2.5 s) is loaded once instead of once per stack, which makes validating the 18 stacks
~3x faster than 18 parallel validates on two CPUs. Each diagnostic is attributed to its stack by file name; the
"Backend configuration ignored" warning this form causes is dropped (the backend only applies to a root).
Terraform allows ``import`` and ``removed`` blocks only in a root module: a stack using them would be reported
invalid here, loudly, never passed (no stack has any).

A stack whose ``cdk.tf.json`` is unchanged since its last successful validation is not validated again: the
stamps (named by the sha256 of the stack's JSON, the lock file and the terraform binary) live in
.terraform-cli/validated/, outside the synth directory every synth replaces.

Exit codes: 0 every stack valid; 1 at least one stack invalid; 2 no stacks found or terraform unavailable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tools import terraform_cli

STAMPS = terraform_cli.CLI_DIR / "validated"
# Expected when a stack is validated as a child module: its backend applies only to a root.
BACKEND_IGNORED = "Backend configuration ignored"


@dataclass(frozen=True)
class StackResult:
    stack: str
    valid: bool
    cached: bool
    seconds: float
    diagnostics: tuple[str, ...]


def stack_dirs(synth_dir: Path) -> list[Path]:
    return sorted(path.parent for path in (synth_dir / "stacks").glob("*/cdk.tf.json"))


def _describe(diagnostics: list[dict]) -> tuple[str, ...]:
    lines = []
    for diag in diagnostics:
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


def provider_fingerprint(lock: Path) -> bytes:
    """What validity depends on besides the stack: the locked providers and the terraform binary."""
    binary = Path(terraform_cli.terraform_binary())
    status = binary.stat()
    return lock.read_bytes() + f"\0{binary.resolve()}\0{status.st_size}\0{status.st_mtime_ns}".encode()


def stamp_for(stack_dir: Path, fingerprint: bytes) -> Path:
    return STAMPS / hashlib.sha256((stack_dir / "cdk.tf.json").read_bytes() + fingerprint).hexdigest()


def _attribute(diagnostics: list[dict], modules: dict[str, str]) -> dict[str, list[dict]]:
    """Diagnostics per stack, by the module the file belongs to; unattributable ones go to every stack."""
    per_stack: dict[str, list[dict]] = {name: [] for name in modules.values()}
    for diag in diagnostics:
        if diag.get("summary") == BACKEND_IGNORED:
            continue
        filename = diag.get("range", {}).get("filename", "")
        owner = next((stack for source, stack in modules.items() if filename.startswith(source + "/")), None)
        for stack in [owner] if owner else per_stack:
            per_stack[stack].append(diag)
    return per_stack


def validate_together(stacks: list[Path], shared: Path, env: dict[str, str]) -> dict[str, tuple[bool, tuple]]:
    """Validate stacks as child modules of one throwaway root: the provider schema loads once, not per stack.

    A temporary root (not a fixed one) keeps concurrent runs (tests, make) out of each other's way; it needs its
    own ``terraform init`` to record the modules, which finds the provider in the shared plugin cache.
    """
    terraform_cli.CLI_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="validate-", dir=terraform_cli.CLI_DIR) as workdir:
        root = Path(workdir)
        modules = {os.path.relpath(stack.resolve(), root): stack.name for stack in stacks}
        (root / "main.tf.json").write_text(json.dumps(
            {"module": {stack: {"source": source} for source, stack in modules.items()}}, indent=1))
        shutil.copyfile(shared / ".terraform.lock.hcl", root / ".terraform.lock.hcl")
        init = terraform_cli.run(["init", "-backend=false", "-input=false", "-no-color"], root, env)
        if init.returncode != 0:
            raise terraform_cli.TerraformUnavailable(
                f"terraform init of the validation root failed:\n{init.stderr.strip() or init.stdout.strip()}")
        check = terraform_cli.run(["validate", "-json", "-no-color"], root, env)
    try:
        report = json.loads(check.stdout)
    except json.JSONDecodeError:
        problem = (check.stderr.strip() or check.stdout.strip(),)
        return {stack.name: (False, problem) for stack in stacks}
    per_stack = _attribute(report.get("diagnostics", []), modules)
    if not report.get("valid") and not any(d.get("severity") == "error" for ds in per_stack.values() for d in ds):
        problem = (f"terraform validate reported the configuration invalid without an error: {check.stdout.strip()}",)
        return {stack.name: (False, problem) for stack in stacks}
    return {stack: (not any(d.get("severity") == "error" for d in diags), _describe(diags))
            for stack, diags in per_stack.items()}


def validate_all(synth_dir: Path, use_cache: bool = True) -> list[StackResult]:
    stacks = stack_dirs(synth_dir)
    if not stacks:
        raise FileNotFoundError(f"no stacks in {synth_dir}/stacks/*/cdk.tf.json: run `make synth` first")
    started = time.monotonic()
    env = terraform_cli.terraform_env(terraform_cli.write_cli_config())
    shared = install_providers(stacks, env)
    fingerprint = provider_fingerprint(shared / ".terraform.lock.hcl")
    stamps = {stack.name: stamp_for(stack, fingerprint) for stack in stacks}
    pending = [stack for stack in stacks if not (use_cache and stamps[stack.name].exists())]
    verdicts = validate_together(pending, shared, env) if pending else {}
    seconds = time.monotonic() - started
    results = []
    for stack in stacks:
        if stack.name not in verdicts:
            results.append(StackResult(stack.name, True, True, 0.0, ()))
            continue
        valid, diagnostics = verdicts[stack.name]
        if valid:
            STAMPS.mkdir(parents=True, exist_ok=True)
            stamps[stack.name].touch()
        results.append(StackResult(stack.name, valid, False, seconds, diagnostics))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("synth_dir", nargs="?", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--no-cache", action="store_true", help="validate every stack, even unchanged ones")
    args = parser.parse_args(argv)
    try:
        results = validate_all(args.synth_dir, use_cache=not args.no_cache)
    except (FileNotFoundError, ValueError, terraform_cli.TerraformUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return report(results, print)


def report(results: list[StackResult], emit: Callable[[str], None]) -> int:
    """Print the verdicts; the exit code (0 every stack valid, 1 otherwise)."""
    for result in results:
        verdict = "valid" if result.valid else "INVALID"
        note = "unchanged since its last validation" if result.cached else "validated"
        emit(f"{verdict:8} {result.stack}  ({note})")
        for line in result.diagnostics:
            emit(f"    {line}")
    fresh = [r for r in results if not r.cached]
    if fresh:
        emit(f"{len(fresh)} stack(s) validated in one terraform run in {fresh[0].seconds:.1f}s")
    invalid = [r.stack for r in results if not r.valid]
    if invalid:
        emit(f"terraform validate failed for: {', '.join(invalid)}")
        return 1
    emit(f"all {len(results)} stacks valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
