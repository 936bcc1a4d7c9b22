"""The depfile recorder: what a process read (files and directory listings) and when that changed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from policies import depfile

READER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from policies.depfile import Recorder
    root = Path(sys.argv[1])
    recorder = Recorder(root, roots=("src",)).install()
    (root / "src" / "read.txt").read_text()
    os.listdir(root / "src" / "listed")
    (root / "src" / "written.txt").write_text("output")
    open(root / "elsewhere.txt").read()
    print(json.dumps(recorder.record()))
""")


def _tree(root: Path) -> None:
    (root / "src" / "listed").mkdir(parents=True)
    (root / "src" / "read.txt").write_text("input")
    (root / "src" / "unread.txt").write_text("not an input")
    (root / "src" / "listed" / "one.txt").write_text("1")
    (root / "elsewhere.txt").write_text("outside the source roots")


def _record(root: Path) -> dict:
    completed = subprocess.run([sys.executable, "-c", READER, str(root)], capture_output=True, text=True,
                               check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(completed.stdout)


def test_records_files_read_and_directories_listed_under_the_source_roots_only(tmp_path):
    _tree(tmp_path)
    record = _record(tmp_path)
    assert set(record["files"]) == {"src/read.txt"}, "writes and files outside the roots are not inputs"
    assert set(record["listings"]) == {"src/listed"}
    assert depfile.changed(record, tmp_path) == []


def test_a_change_to_what_was_read_or_listed_is_reported_and_nothing_else(tmp_path):
    _tree(tmp_path)
    record = _record(tmp_path)
    (tmp_path / "src" / "unread.txt").write_text("changed, but never read")
    (tmp_path / "elsewhere.txt").write_text("changed, outside the roots")
    (tmp_path / "src" / "listed" / "one.txt").write_text("content of a listed directory's file is not listed")
    assert depfile.changed(record, tmp_path) == []

    (tmp_path / "src" / "read.txt").write_text("edited")
    assert depfile.changed(record, tmp_path) == ["src/read.txt"]
    (tmp_path / "src" / "read.txt").write_text("input")
    assert depfile.changed(record, tmp_path) == [], "restoring the content restores the cache (no mtimes)"

    (tmp_path / "src" / "listed" / "two.txt").write_text("a new file next to the listed ones")
    assert depfile.changed(record, tmp_path) == ["src/listed/"]
    (tmp_path / "src" / "listed" / "two.txt").unlink()
    (tmp_path / "src" / "read.txt").unlink()
    assert depfile.changed(record, tmp_path) == ["src/read.txt"]


def test_cached_bytecode_stands_for_its_module_source():
    assert depfile._source_of("/r/app/__pycache__/config.cpython-311.pyc") == "/r/app/config.py"
    assert depfile._source_of("/r/app/config.py") == "/r/app/config.py"


def test_the_runner_records_even_when_the_module_exits_with_an_error(tmp_path):
    record_file = tmp_path / "inputs.json"
    completed = subprocess.run([sys.executable, "-m", "policies.depfile", str(record_file), "app.main",
                                "--env", "no-such-env"], capture_output=True, text=True, check=False,
                               cwd=Path(__file__).resolve().parent.parent)
    assert completed.returncode == 2, completed.stderr
    assert "app/main.py" in json.loads(record_file.read_text())["files"]
