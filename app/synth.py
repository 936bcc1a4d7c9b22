"""Synthesize every environment in one process and publish the result atomically.

The AWS provider bindings cost ~10 s to load, a fixed price paid once per run however many environments
are synthesized. Output is written to a temporary sibling directory and swapped into place only when
synth succeeded, so a failed synth never leaves a half-written ``cdktf.out/``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from app.config import EnvironmentConfig

# Called with the App and the built stacks per environment, before synth: lets a caller (the policy
# tests) add constructs to the real app, e.g. a deliberately noncompliant one.
Customizer = Callable[[Any, dict], None]


# Ephemeral resources and write-only arguments (the generated passwords) need Terraform 1.11: an older CLI
# would fail mid-plan. Declared in a file of its own next to each stack's cdk.tf.json (Terraform reads every
# *.tf.json of the directory): checkov's terraform_json parser, which the policy gate runs over cdk.tf.json,
# rejects a scalar setting in the terraform block.
REQUIRED_TERRAFORM_VERSION = ">= 1.11"
VERSIONS_FILE = "versions.tf.json"


class SynthError(Exception):
    """Synth failed, e.g. a construct carries an error annotation (a violated control)."""


def build_app(outdir: Path, configs: Sequence[EnvironmentConfig]):
    from cdktf import App

    from app.stacks import build_environment

    app = App(outdir=str(outdir), skip_validation=False)
    stacks = {config.environment: build_environment(app, config) for config in configs}
    return app, stacks


def synthesize(configs: Sequence[EnvironmentConfig], outdir: Path, customize: Customizer | None = None) -> None:
    outdir = Path(outdir).resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.synth-", dir=outdir.parent))
    try:
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
        _swap_into_place(staging, outdir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_into_place(staging: Path, outdir: Path) -> None:
    retired = None
    if outdir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.old-", dir=outdir.parent))
        os.rename(outdir, retired / outdir.name)
    os.rename(staging, outdir)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
