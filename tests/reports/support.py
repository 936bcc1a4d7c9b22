"""Helpers of the report tests: headless Chromium (DOM, screenshot, network log) and reading HTML tables."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from policies.reports.pdf import chromium_command

# Resource references: attributes that make a browser fetch, and CSS url()/@import.
RESOURCE_REFERENCE = re.compile(
    r"""(?:\b(?:src|href|xlink:href|action|poster|srcset|data|background)\s*=\s*["']?\s*|url\(\s*["']?\s*|"""
    r"""@import\s+["']?)(https?:[^"'\s)>]*)""", re.IGNORECASE)
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml", "http://www.w3.org/1999/xlink"}


def external_references(html: str) -> list[str]:
    return [url for url in RESOURCE_REFERENCE.findall(html) if url not in NAMESPACES]


@dataclass
class PageLoad:
    dom: str
    requests: list[dict]  # network requests the page itself started (not the browser's own background jobs)


def load_page(chromium: str, page: Path, workdir: Path) -> PageLoad:
    """Open a page offline (every host name resolves to nothing) and record the network log."""
    workdir.mkdir(parents=True, exist_ok=True)
    netlog = workdir / "netlog.json"
    done = subprocess.run(chromium_command(chromium, workdir / "profile", f"--log-net-log={netlog}",
                                           "--dump-dom", page.resolve().as_uri()),
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(netlog.read_text())
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    # The browser's own jobs (component updater, account checks) have no initiating origin; anything the
    # page loads is initiated by the page's origin ("null" for file://).
    requests = [event["params"] for event in log["events"]
                if names.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in event.get("params", {})
                and event["params"].get("initiator") != "not an origin"]
    return PageLoad(dom=done.stdout, requests=requests)


def screenshot(chromium: str, page: Path, image: Path, size: str = "1400,2000") -> Path:
    done = subprocess.run(chromium_command(chromium, image.parent / f"{image.stem}-profile",
                                           f"--window-size={size}", f"--screenshot={image}", page.resolve().as_uri()),
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0 and image.is_file(), done.stderr[-2000:]
    return image


@dataclass
class Table:
    rows: list[list[str]] = field(default_factory=list)


class _Sections(HTMLParser):
    """Tables and text of each <h2 id=...> section of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.section = ""
        self.tables: dict[str, list[Table]] = {}
        self.text: dict[str, list[str]] = {}
        self.links: dict[str, list[str]] = {}
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "h2" and attributes.get("id"):
            self.section = attributes["id"]
        elif tag == "table":
            self.tables.setdefault(self.section, []).append(Table())
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and attributes.get("href", "").startswith("#"):
            self.links.setdefault(self.section, []).append(attributes["href"][1:])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self.section][-1].rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.setdefault(self.section, []).append(data)
        if self._cell is not None:
            self._cell.append(data)


def sections(html: str) -> _Sections:
    parser = _Sections()
    parser.feed(html)
    return parser


def section_text(html: str, section: str) -> str:
    return " ".join(" ".join(sections(html).text.get(section, [])).split())


def framed(chromium: str, page: Path, workdir: Path, width: int, expression: str, fragment: str = "") -> str:
    """The value of a JavaScript ``expression`` over the framed page's ``root`` (its documentElement), with the
    page laid out in a viewport ``width`` px wide. The page is framed at that width (a headless window is at
    least 500 px wide) in a probe page beside a copy of it; the probe's script writes the value into its own
    DOM (the report itself allows no script)."""
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / page.name
    copy.write_text(page.read_text())
    probe = workdir / "probe.html"
    probe.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="{page.name}{fragment}" '
        f'style="width:{width}px;height:900px;border:0"></iframe><script>'
        "document.getElementById('f').addEventListener('load', () => {"
        " const root = document.getElementById('f').contentDocument.documentElement;"
        f" document.body.setAttribute('data-measured', String({expression})); }});"
        "</script></body></html>")
    done = subprocess.run(chromium_command(chromium, workdir / "profile", "--window-size=1500,1000",
                                           "--allow-file-access-from-files", "--virtual-time-budget=10000",
                                           "--dump-dom", probe.resolve().as_uri()),
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    measured = re.search(r'data-measured="([^"]*)"', done.stdout)
    assert measured, "the probe did not run"
    return measured.group(1)


def page_width(chromium: str, page: Path, workdir: Path, width: int) -> tuple[int, int]:
    """(document scroll width, viewport width) of the page in a viewport ``width`` px wide."""
    scroll, client = framed(chromium, page, workdir, width, "root.scrollWidth + ' ' + root.clientWidth").split()
    return int(scroll), int(client)


def visible_controls(chromium: str, page: Path, workdir: Path, fragment: str) -> list[str]:
    """Ids of the control sections displayed when the page is opened at ``fragment``."""
    found = framed(chromium, page, workdir, 1440, "[...root.querySelectorAll('section.control')]"
                   ".filter(s => getComputedStyle(s).display !== 'none').map(s => s.id).join(' ')", fragment)
    return found.split()
