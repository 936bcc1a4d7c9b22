"""Synthesize every environment in one process and publish the result atomically.

The AWS provider bindings cost ~10 s to load, a fixed price paid once per run however many environments
are synthesized. Output is written to a temporary sibling directory and swapped into place only when
synth succeeded, so a failed synth never leaves a half-written ``cdktf.out/``, and the swap is atomic
(:mod:`policies.outputdir`). The synth replaces only a directory it made itself (its marker file) or an
empty one: anything else is an :class:`OutputDirError`, checked before anything is built.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from app.config import EnvironmentConfig
from app.source_map import SourceRecorder
from policies.integrity import PROVENANCE_FILE
from policies.outputdir import OutputDirError, check_replaceable, clean_stale, publish, staging_dir

if TYPE_CHECKING:  # cdktf is imported when the app is built, not when this module is
    from cdktf import App

    from app.stacks import EnvironmentStacks

OWNER = "synth"
__all__ = ["OWNER", "PROVENANCE_FILE", "OutputDirError", "SynthError", "build_app", "check_outdir", "synthesize",
           "write_provenance"]

# Called with the App and the built stacks per environment, before synth: lets a caller (the policy
# tests) add constructs to the real app, e.g. a deliberately noncompliant one.
Customizer = Callable[["App", "dict[str, EnvironmentStacks]"], None]


# Ephemeral resources and write-only arguments (the generated passwords) need Terraform 1.11: an older CLI
# would fail mid-plan. Declared in a file of its own next to each stack's cdk.tf.json (Terraform reads every
# *.tf.json of the directory): checkov's terraform_json parser, which the policy gate runs over cdk.tf.json,
# rejects a scalar setting in the terraform block.
REQUIRED_TERRAFORM_VERSION = ">= 1.11"
VERSIONS_FILE = "versions.tf.json"


class SynthError(Exception):
    """Synth failed, e.g. a construct carries an error annotation (a violated control)."""


def build_app(outdir: Path, configs: Sequence[EnvironmentConfig]) -> tuple[App, dict[str, EnvironmentStacks]]:
    from cdktf import App

    from app.stacks import build_environment

    app = App(outdir=str(outdir), skip_validation=False)
    stacks = {config.environment: build_environment(app, config) for config in configs}
    return app, stacks


def check_outdir(outdir: Path) -> Path:
    """The absolute output directory, after putting back or removing what a killed synth left beside it;
    :class:`OutputDirError` if the synth may not replace it."""
    clean_stale(check_replaceable(outdir, OWNER), OWNER)  # refusals first: a refused directory is not touched
    return check_replaceable(outdir, OWNER)


def synthesize(configs: Sequence[EnvironmentConfig], outdir: Path, customize: Customizer | None = None) -> None:
    outdir = check_outdir(outdir)
    staging = staging_dir(outdir, OWNER)
    sources = SourceRecorder()
    try:
        with sources.recording():  # where in app/ each resource is created: SARIF results land on that line
            app, stacks = build_app(staging, configs)
            if customize is not None:
                customize(app, stacks)
        try:
            app.synth()
        except RuntimeError as error:  # jsii surfaces the JS error (incl. error annotations) as RuntimeError
            raise SynthError(str(error)) from None
        for stack_file in (staging / "stacks").glob("*/cdk.tf.json"):
            (stack_file.parent / VERSIONS_FILE).write_text(
                json.dumps({"terraform": {"required_version": REQUIRED_TERRAFORM_VERSION}}, indent=2) + "\n"
            )
        sources.write(staging)  # before the provenance, which hashes it with every other file
        write_provenance(staging, configs)
        publish(staging, check_replaceable(outdir, OWNER), OWNER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_provenance(synth_dir: Path, configs: Sequence[EnvironmentConfig]) -> None:
    """The synth's own record of what it wrote and what from (read by the policy gate, policies/integrity.py):
    the hash of every file it wrote, the commit (and whether the checkout differed from it, untracked files
    included) and the configuration files it was synthesized from, and the cdktf and provider versions. No
    timestamp: the same inputs give the same synth, byte for byte."""
    import hashlib
    import json
    from importlib import metadata

    from policies.checkout import repository_path, revision

    def sha256(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    source = revision()
    files = sorted(path for path in synth_dir.rglob("*") if path.is_file())
    record = {
        "format": 1,
        "files": {path.relative_to(synth_dir).as_posix(): sha256(path) for path in files},
        "commit": source.commit, "dirty": source.dirty,
        "config": {config.environment: {"path": repository_path(config.source) or str(config.source),
                                        "sha256": sha256(config.source)} for config in configs},
        "versions": {name: metadata.version(name) for name in ("cdktf", "cdktf-cdktf-provider-aws")},
    }
    (synth_dir / PROVENANCE_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")

