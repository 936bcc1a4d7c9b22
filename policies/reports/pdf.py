"""``report.pdf``: the HTML report printed by headless Chromium, when a Chromium is installed.

Chromium runs with a fresh, throw-away profile and every background service off, and its host resolver
maps every name to nothing: the report needs no network, and this proves it while printing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
PRINT_TIMEOUT_SECONDS = 240


class PdfError(Exception):
    """Chromium did not produce the PDF."""


def find_chromium() -> str | None:
    """``$REPORT_CHROMIUM`` when set (empty: no PDF), else the first Chromium on PATH."""
    configured = os.environ.get("REPORT_CHROMIUM")
    if configured is not None:
        return shutil.which(configured) if configured else None
    return next((found for found in map(shutil.which, CHROMIUM_NAMES) if found), None)


def chromium_command(binary: str, profile: Path, *arguments: str) -> list[str]:
    """Headless Chromium that makes no request of its own and cannot resolve any host."""
    command = [binary, "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
               '--host-resolver-rules=MAP * ~NOTFOUND', f"--user-data-dir={profile}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox on
    return [*command, *arguments]


def print_pdf(binary: str, html: Path, pdf: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        # The page margins are the report's own (run id, page N of M: html_report._page_margins); the outline
        # gives the PDF a bookmark per heading, so per section.
        command = chromium_command(binary, Path(profile), "--no-pdf-header-footer", "--generate-pdf-document-outline",
                                   f"--print-to-pdf={pdf}", html.resolve().as_uri())
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PRINT_TIMEOUT_SECONDS,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PdfError(f"{binary}: {error}") from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise PdfError(f"{binary} exited {done.returncode}: {done.stderr.strip()[-500:]}")
