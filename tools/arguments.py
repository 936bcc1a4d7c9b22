"""Command-line arguments the deployment tools share, so each is parsed and refused the same way everywhere."""

from __future__ import annotations

import argparse
from typing import Any

from app.config import KNOWN_ENVIRONMENTS
from policies.yamlfile import quote


def known_environment(value: str) -> str:
    """argparse type of ``--env``: one of the environments the app defines (an unknown one is a usage error)."""
    if value not in KNOWN_ENVIRONMENTS:
        raise argparse.ArgumentTypeError(
            f"{quote(value)} is unknown; expected one of {', '.join(KNOWN_ENVIRONMENTS)}"
        )
    return value


def add_environment_option(parser: argparse.ArgumentParser, **options: Any) -> None:
    """``--env``; ``options`` are argparse's (``required=True`` or a ``default``)."""
    parser.add_argument("--env", type=known_environment, help=f"one of {', '.join(KNOWN_ENVIRONMENTS)}", **options)
