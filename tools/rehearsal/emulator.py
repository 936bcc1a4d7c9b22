"""Start and stop the emulator (moto's server on 127.0.0.1, a random free port) and talk to it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from tools.terraform_cli import REPO_ROOT

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
START_TIMEOUT_SECONDS = 60
STOP_GRACE_SECONDS = 5


class EmulatorError(Exception):
    """The emulator stopped while the rehearsal needed it."""


class EmulatorUnavailable(EmulatorError):
    """The emulator did not start (a tooling problem: exit code 2)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# The emulator is on loopback: an HTTP(S)_PROXY of the caller's environment must never see its traffic.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Emulator:
    """moto in its own process group; ``stop()`` is idempotent and kills the whole group."""

    def __init__(self, run_dir: Path, seed: dict, region: str):
        self.run_dir = run_dir
        self.region = region
        self.seed = seed
        self.port: int | None = None
        self.pid: int | None = None  # kept after stop(), so that callers can check the process is gone
        self.process: subprocess.Popen | None = None
        self.log_file = run_dir / "emulator.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        seed_file = self.run_dir / "emulator-seed.json"
        seed_file.write_text(json.dumps(self.seed, indent=1))
        env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "PYTHONDONTWRITEBYTECODE": "1"}
        self.port = free_port()
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tools.rehearsal.emulator_process", "--port", str(self.port),
                 "--seed", str(seed_file)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.process.pid
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise EmulatorUnavailable(f"the emulator exited with code {code} while starting:\n{self.log_tail()}")
            try:
                with _DIRECT.open(f"{self.endpoint}/moto-api/config", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise EmulatorUnavailable(
            f"the emulator did not answer on {self.endpoint} within {START_TIMEOUT_SECONDS}s:\n{self.log_tail()}"
        )

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise EmulatorError(f"the emulator is not running (exit code {code}); its log:\n{self.log_tail()}")

    def stop(self) -> None:
        """Idempotent; the process is forgotten only once its group is gone, so a repeated call (from an outer
        ``finally`` after a signal interrupted this one) finishes the job."""
        process = self.process
        if process is None:
            return
        # The group, not the pid: whatever the server spawned goes with it.
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=STOP_GRACE_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.process = None

    def log_tail(self, lines: int = 25) -> str:
        if not self.log_file.exists():
            return "(no emulator log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            config=Config(proxies={}, retries={"max_attempts": 2}),
            **CREDENTIALS,
        )

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
