"""terraform in one working directory, each command's output kept in ``<log_dir>/<stack>.<phase>.log``.

Shared by the real deploy (tools/deploy.py, the caller's AWS credentials) and the emulator rehearsal
(tools/rehearsal/workspace.py, which isolates the environment from any real account).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools import terraform_cli

# A whole apply of the slowest stack (Aurora instances wait in fixed 30-60 s steps) stays far below this.
COMMAND_TIMEOUT_SECONDS = 1200
PLAN_FILE = "deploy.tfplan"


@dataclass(frozen=True)
class Result:
    returncode: int
    log: Path
    stdout: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def errors(self, limit: int = 40) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith(("Error:", "│ Error:"))), None)
        selected = lines[start:] if start is not None else lines[-limit:]
        return "\n".join(selected[:limit])


class Terraform:
    """``env`` is terraform's whole environment (for a real deploy: the caller's, with its AWS credentials);
    ``init_env`` the one for ``terraform init`` (defaults to ``env``)."""

    def __init__(self, directory: Path, log_dir: Path, env: dict[str, str] | None = None,
                 init_env: dict[str, str] | None = None):
        self.directory = directory
        self.log_dir = log_dir
        self.env = env if env is not None else terraform_cli.terraform_env(terraform_cli.write_cli_config())
        self.init_env = init_env if init_env is not None else self.env

    @property
    def stack(self) -> str:
        return self.directory.name

    def command(self, phase: str, args: list[str], *, capture: bool = False, env: dict | None = None) -> Result:
        log = self.log_dir / f"{self.stack}.{phase}.log"
        with log.open("w") as sink:
            completed = subprocess.run(
                [terraform_cli.terraform_binary(), *args],
                cwd=self.directory,
                env=env or self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if capture else sink,
                stderr=sink,
                text=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        return Result(completed.returncode, log, completed.stdout or "")

    def start(self, phase: str, args: list[str]) -> subprocess.Popen:
        """A terraform left running (stdin open) while the caller does something else; the caller ends it."""
        with (self.log_dir / f"{self.stack}.{phase}.log").open("w") as sink:
            return subprocess.Popen(
                [terraform_cli.terraform_binary(), *args],
                cwd=self.directory,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def init(self) -> Result:
        return self.command("init", ["init", "-input=false", "-no-color"], env=self.init_env)

    def plan(self, phase: str, plan_file: str, *, lock_timeout: str = "0s") -> Result:
        """Exit code 0: no changes, 2: changes (``-detailed-exitcode``), anything else: failed."""
        return self.command(phase, ["plan", "-detailed-exitcode", "-input=false", "-no-color",
                                    f"-lock-timeout={lock_timeout}", f"-out={plan_file}"])

    def apply_plan(self, plan_file: str) -> Result:
        """Applies exactly the saved plan (terraform refuses a plan whose state has moved on since)."""
        return self.command("apply", ["apply", "-input=false", "-no-color", plan_file])

    def show_json(self, phase: str, *target: str) -> dict:
        result = self.command(phase, ["show", "-json", "-no-color", *target], capture=True)
        if not result.ok:
            raise RuntimeError(f"terraform show failed for {self.stack}:\n{result.errors()}")
        return json.loads(result.stdout)

    def destroy(self) -> Result:
        return self.command("destroy", ["destroy", "-auto-approve", "-input=false", "-no-color"])
