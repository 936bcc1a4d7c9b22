"""Entry point: ``python -m app.main [--env dev --env prod] [--outdir cdktf.out]``.

Exit codes: 0 synthesized; 1 synth failed (a construct violates a control: see the error annotations);
2 bad configuration or usage, or an output directory the synth may not replace (one holding files it did
not make, the project or one of its ancestors): nothing is written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from app.config import ENVIRONMENTS_DIR, KNOWN_ENVIRONMENTS, ConfigError, load_environments

EXIT_OK, EXIT_SYNTH_FAILED, EXIT_CONFIG = 0, 1, 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app.main", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--env",
        action="append",
        choices=KNOWN_ENVIRONMENTS,
        dest="environments",
        help="environment to synthesize (repeatable; default: all)",
    )
    parser.add_argument(
        "--outdir",
        type=Path,
        default=Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out")),
        help="output directory (default: $CDKTF_OUTDIR or cdktf.out)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=ENVIRONMENTS_DIR,
        help="directory holding <env>.yaml files (default: app/environments)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        args = parse_args(argv)
    except SystemExit as exit_:
        return EXIT_CONFIG if exit_.code else EXIT_OK
    names = tuple(dict.fromkeys(args.environments or KNOWN_ENVIRONMENTS))
    try:
        configs = load_environments(args.config_dir, names)
    except ConfigError as error:
        print("configuration error (nothing was synthesized):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG

    from app.synth import OutputDirError, SynthError, check_outdir, synthesize

    try:
        check_outdir(args.outdir)
    except OutputDirError as error:
        print(f"output directory error (nothing was synthesized): {error}", file=sys.stderr)
        return EXIT_CONFIG

    started = time.monotonic()
    try:
        synthesize(configs, args.outdir)
    except SynthError as error:
        print(f"synth failed ({args.outdir} left unchanged):\n{error}", file=sys.stderr)
        return EXIT_SYNTH_FAILED
    except OutputDirError as error:  # the directory changed while the synth ran
        print(f"output directory error (nothing was published): {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"synthesized {', '.join(names)} into {args.outdir} in {time.monotonic() - started:.1f}s")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
