"""Regenerate app/aspects/aws_taggable_resource_types.json from the AWS provider's schema.

A resource type is taggable when its schema has a ``tags`` attribute. The extract is committed so that
synth (and the tag-coverage test) need no terraform run; ``make taggable-types`` regenerates it and
``tests/test_tagging.py`` checks it still matches the pinned provider.

    python -m tools.extract_taggable_types [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tools import terraform_cli

EXTRACT = terraform_cli.REPO_ROOT / "app" / "aspects" / "aws_taggable_resource_types.json"


def taggable_types_from_schema() -> list[str]:
    """Run `terraform providers schema -json` for the pinned AWS provider and list types with `tags`."""
    env = terraform_cli.terraform_env(terraform_cli.write_cli_config())
    with tempfile.TemporaryDirectory(prefix="tf-schema-") as workdir:
        config = {
            "terraform": {
                "required_providers": {
                    "aws": {"source": "hashicorp/aws", "version": terraform_cli.AWS_PROVIDER_VERSION}
                }
            }
        }
        Path(workdir, "main.tf.json").write_text(json.dumps(config))
        init = terraform_cli.run(["init", "-backend=false", "-no-color"], Path(workdir), env)
        if init.returncode != 0:
            raise RuntimeError(f"terraform init failed:\n{init.stderr or init.stdout}")
        schema = terraform_cli.run(["providers", "schema", "-json"], Path(workdir), env)
        if schema.returncode != 0:
            raise RuntimeError(f"terraform providers schema failed:\n{schema.stderr}")
    provider = json.loads(schema.stdout)["provider_schemas"][terraform_cli.AWS_PROVIDER_SOURCE]
    return sorted(
        name for name, spec in provider["resource_schemas"].items() if "tags" in spec["block"].get("attributes", {})
    )


def render(types: list[str]) -> str:
    document = {
        "provider": f"{terraform_cli.AWS_PROVIDER_SOURCE} {terraform_cli.AWS_PROVIDER_VERSION}",
        "regenerate_with": "make taggable-types",
        "resource_types": types,
    }
    return json.dumps(document, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed extract is stale")
    args = parser.parse_args(argv)
    try:
        text = render(taggable_types_from_schema())
    except (terraform_cli.TerraformUnavailable, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check:
        if EXTRACT.read_text() != text:
            print(f"{EXTRACT} is stale: run `make taggable-types`", file=sys.stderr)
            return 1
        print(f"{EXTRACT} matches the provider schema")
        return 0
    EXTRACT.write_text(text)
    print(f"wrote {EXTRACT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
