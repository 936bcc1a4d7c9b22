"""Shift blue/green traffic at the ALB by editing the environment's config (reviewed, then deployed).

    python -m tools.shift_traffic --env prod --green 10            # blue becomes 90
    python -m tools.shift_traffic --env prod --green 50 --blue 50

The weights are ALB target-group weights (0-999). Without --blue, blue = 100 - green (the migration runbook's
steps 100/0 -> 90/10 -> 50/50 -> 0/100). The edited file is validated as a whole before it replaces the
original, so a shift can never leave an invalid config behind. Exit codes: 0 shifted, 2 invalid request/config.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from app.config import ENVIRONMENTS_DIR, MAX_TARGET_WEIGHT, ConfigError, parse_environment
from tools.arguments import add_environment_option


def _slot_line(slot: str) -> re.Pattern:
    return re.compile(rf"^(?P<head>\s+{slot}:\s*\{{.*?\bweight:\s*)(?P<weight>\d+)(?P<tail>.*)$", re.MULTILINE)


def shifted(text: str, weights: dict[str, int], source: Path) -> str:
    for slot, weight in weights.items():
        pattern = _slot_line(slot)
        matches = pattern.findall(text)
        if len(matches) != 1:
            raise ConfigError(
                [
                    f"{source}: compute.traffic.{slot}: cannot find exactly one line "
                    f"'{slot}: {{kind: ..., weight: N}}' to edit (found {len(matches)})"
                ]
            )
        text = pattern.sub(lambda m, w=weight: f"{m.group('head')}{w}{m.group('tail')}", text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.shift_traffic", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_environment_option(parser, required=True)
    parser.add_argument("--green", required=True, type=int, help=f"green weight, 0-{MAX_TARGET_WEIGHT}")
    parser.add_argument("--blue", type=int, help="blue weight (default: 100 - green)")
    parser.add_argument("--config-dir", type=Path, default=ENVIRONMENTS_DIR)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage error; the exit code is ours to return
        return 2 if exit_.code else 0
    blue = 100 - args.green if args.blue is None else args.blue
    source = args.config_dir / f"{args.env}.yaml"
    try:
        for name, weight in (("green", args.green), ("blue", blue)):
            if not 0 <= weight <= MAX_TARGET_WEIGHT:
                raise ConfigError(
                    [
                        f"{name} weight {weight} is not allowed; expected 0 to {MAX_TARGET_WEIGHT}"
                        + (" (without --blue, green must be 0-100)" if name == "blue" else "")
                    ]
                )
        original = source.read_text(encoding="utf-8")
        updated = shifted(original, {"blue": blue, "green": args.green}, source)
        config = parse_environment(source, updated)
    except ConfigError as error:
        print("traffic not shifted:", *error.problems, sep="\n  ", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"traffic not shifted: cannot read {source}: {error.strerror}", file=sys.stderr)
        return 2
    handle, temporary = tempfile.mkstemp(dir=source.parent, prefix=f".{source.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(updated)
    os.replace(temporary, source)
    print(
        f"{args.env}: blue ({config.compute.blue.kind}) {config.compute.blue.weight} / "
        f"green ({config.compute.green.kind}) {config.compute.green.weight}; run `make compliance`, then apply "
        f"payments-{args.env}-compute and watch the deployment-guard alarm"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
