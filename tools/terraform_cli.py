"""Running the terraform CLI offline-capable: one CLI config, one plugin cache, an optional provider mirror.

The provider mirror is taken from ``TF_PROVIDER_MIRROR`` (a filesystem mirror directory laid out as
``<hostname>/<namespace>/<type>/<version>/<os_arch>/``). When it is unset, a mirror at
``DEFAULT_PROVIDER_MIRROR`` is used if present; with neither, terraform installs providers from the
registry as usual (users with internet access need nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROVIDER_MIRROR = Path("/opt/tf-plugins")
AWS_PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
AWS_PROVIDER_VERSION = "5.100.0"
CLI_DIR = REPO_ROOT / ".terraform-cli"


class TerraformUnavailable(RuntimeError):
    """No terraform CLI on PATH, or the configured provider mirror does not exist."""


def terraform_binary() -> str:
    binary = os.environ.get("TERRAFORM", "terraform")
    found = shutil.which(binary)
    if not found:
        raise TerraformUnavailable(
            f"terraform CLI {binary!r} not found on PATH; install Terraform >= 1.6 or set TERRAFORM=/path/to/terraform"
        )
    return found


def provider_mirror() -> Path | None:
    configured = os.environ.get("TF_PROVIDER_MIRROR")
    if configured:
        mirror = Path(configured)
        if not mirror.is_dir():
            raise TerraformUnavailable(
                f"TF_PROVIDER_MIRROR={configured} is not a directory; point it at a filesystem provider mirror "
                "or unset it to download providers from the registry"
            )
        return mirror
    return DEFAULT_PROVIDER_MIRROR if DEFAULT_PROVIDER_MIRROR.is_dir() else None


def write_cli_config(cli_dir: Path = CLI_DIR) -> Path:
    """Write the CLI config (shared plugin cache, mirror if any) and return its path."""
    cache = cli_dir / "plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    lines = [f'plugin_cache_dir = "{cache}"', ""]
    mirror = provider_mirror()
    if mirror is not None:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f'    path    = "{mirror}"',
            f'    include = ["{AWS_PROVIDER_SOURCE}"]',
            "  }",
            "  direct {",
            f'    exclude = ["{AWS_PROVIDER_SOURCE}"]',
            "  }",
            "}",
        ]
    config = cli_dir / "cli.tfrc"
    text = "\n".join(lines) + "\n"
    if not config.exists() or config.read_text() != text:
        config.write_text(text)
    return config


def terraform_env(cli_config: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    return env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([terraform_binary(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
