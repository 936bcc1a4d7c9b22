"""Output directories: the synth replaces only what it made (its marker) or an empty directory, never the
project or an ancestor, and publishes atomically; a publish that dies half-way is repaired by the next one."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ENVIRONMENTS_DIR
from policies import outputdir
from policies.outputdir import MARKER, OutputDirError, check_replaceable, clean_stale, publish, staging_dir
from tests.conftest import REPO_ROOT

OWNER = "synth"


def tree(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}


def made_by_synth(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True)
    (directory / MARKER).write_text(f"{OWNER}\n")
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def test_the_synth_cli_refuses_a_directory_it_did_not_make_and_deletes_nothing(tmp_path, synth_cli):
    victim = tmp_path / "victim"
    (victim / "notes").mkdir(parents=True)
    (victim / "notes" / "thesis.txt").write_text("years of work")
    result = synth_cli("--config-dir", str(ENVIRONMENTS_DIR), "--outdir", str(victim))
    assert result.returncode == 2, result.stderr
    assert f"{victim}: exists and holds files the synth did not make" in result.stderr
    assert tree(victim) == {"notes/thesis.txt": "years of work"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]


@pytest.mark.parametrize("where", [".", "root", "app", "policies", "parent", "filesystem-root"])
def test_the_project_and_its_ancestors_are_refused(where):
    target = {".": Path("."), "root": REPO_ROOT, "app": REPO_ROOT / "app", "policies": REPO_ROOT / "policies",
              "parent": REPO_ROOT.parent, "filesystem-root": Path("/")}[where]
    with pytest.raises(OutputDirError, match="refusing to replace"):
        check_replaceable(target, OWNER)


def test_the_synth_cli_refuses_dot_from_the_project(synth_cli):
    before = sorted(os.listdir(REPO_ROOT))
    result = synth_cli("--env", "dev", "--outdir", ".")
    assert result.returncode == 2 and "refusing to replace the project itself" in result.stderr, result.stderr
    assert sorted(os.listdir(REPO_ROOT)) == before


def test_a_missing_empty_or_marked_directory_is_replaceable_anything_else_is_not(tmp_path):
    assert check_replaceable(tmp_path / "new", OWNER) == (tmp_path / "new").resolve()
    (tmp_path / "empty").mkdir()
    assert check_replaceable(tmp_path / "empty", OWNER) == (tmp_path / "empty").resolve()
    made_by_synth(tmp_path / "ours", **{"manifest.json": "{}"})
    assert check_replaceable(tmp_path / "ours", OWNER) == (tmp_path / "ours").resolve()
    with pytest.raises(OutputDirError, match="did not make"):
        check_replaceable(tmp_path / "ours", "rehearsal")  # another tool's marker is not ours
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputDirError, match="not a directory"):
        check_replaceable(tmp_path / "file", OWNER)
    (tmp_path / "link").symlink_to(tmp_path / "ours")
    with pytest.raises(OutputDirError, match="symbolic link"):
        check_replaceable(tmp_path / "link", OWNER)


def new_output(destination: Path, text: str) -> Path:
    staging = staging_dir(destination, OWNER)
    (staging / "manifest.json").write_text(text)
    return staging


def test_publish_swaps_atomically_and_marks_the_output(tmp_path):
    destination = made_by_synth(tmp_path / "cdktf.out", **{"manifest.json": "old", "stale.json": "old"})
    publish(new_output(destination, "new"), destination, OWNER)
    assert tree(destination) == {MARKER: tree(destination)[MARKER], "manifest.json": "new"}
    assert tree(destination)[MARKER].startswith(f"{OWNER}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]


def test_a_fault_after_the_exchange_leaves_the_new_output_and_the_next_run_removes_the_old(tmp_path, monkeypatch):
    destination = made_by_synth(tmp_path / "cdktf.out", **{"manifest.json": "old"})
    staging = new_output(destination, "new")

    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt("killed after the exchange")

    monkeypatch.setattr(outputdir.shutil, "rmtree", crash)
    with pytest.raises(KeyboardInterrupt):
        publish(staging, destination, OWNER)
    monkeypatch.undo()
    assert tree(destination)["manifest.json"] == "new"
    assert tree(staging)["manifest.json"] == "old"  # the old output, parked where the new one was staged
    assert clean_stale(destination, OWNER) == [staging]
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]


def no_exchange(*_args):
    raise OSError(errno.ENOSYS, "renameat2 is not available")


def test_the_fallback_puts_the_old_output_back_when_the_second_rename_fails(tmp_path, monkeypatch):
    destination = made_by_synth(tmp_path / "cdktf.out", **{"manifest.json": "old"})
    staging = new_output(destination, "new")
    monkeypatch.setattr(outputdir, "_exchange", no_exchange)
    renames = []
    real_rename = os.rename

    def failing_second_rename(source, target):
        renames.append((source, target))
        if len(renames) == 2:
            raise OSError(errno.EIO, "injected fault between the renames")
        real_rename(source, target)

    monkeypatch.setattr(outputdir.os, "rename", failing_second_rename)
    with pytest.raises(OSError, match="injected fault"):
        publish(staging, destination, OWNER)
    monkeypatch.undo()
    assert tree(destination) == {MARKER: f"{OWNER}\n", "manifest.json": "old"}
    shutil.rmtree(staging)
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]


CRASH_BETWEEN_RENAMES = """
import errno, os, sys
from pathlib import Path
from policies import outputdir

def no_exchange(*_args):
    raise OSError(errno.ENOSYS, "renameat2 is not available")

renames, real_rename = [], os.rename
def die_before_the_second_rename(source, target):
    renames.append(source)
    if len(renames) == 2:
        os._exit(9)
    real_rename(source, target)

outputdir._exchange = no_exchange
outputdir.os.rename = die_before_the_second_rename
destination = Path(sys.argv[1])
staging = outputdir.staging_dir(destination, "synth")
(staging / "manifest.json").write_text("new")
outputdir.publish(staging, destination, "synth")
"""


def test_a_publish_killed_between_the_fallback_renames_is_repaired_by_the_next_run(tmp_path):
    destination = made_by_synth(tmp_path / "cdktf.out", **{"manifest.json": "old"})
    killed = subprocess.run([sys.executable, "-c", CRASH_BETWEEN_RENAMES, str(destination)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert killed.returncode == 9, killed.stderr
    assert not destination.exists()  # the window the exchange closes; the next run closes it too:
    clean_stale(destination, OWNER)
    assert tree(destination) == {MARKER: f"{OWNER}\n", "manifest.json": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]


def test_staging_of_a_live_process_is_kept_and_of_a_dead_one_removed(tmp_path):
    destination = tmp_path / "cdktf.out"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".cdktf.out.synth-{sleeper.pid}-abc"
        live.mkdir()
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
        stale = tmp_path / f".cdktf.out.synth-{dead.stdout.strip()}-xyz"
        (stale / "stacks").mkdir(parents=True)
        unrelated = tmp_path / ".cdktf.out.synthetic-notes"
        unrelated.mkdir()
        assert clean_stale(destination, OWNER) == [stale]
        assert live.is_dir() and unrelated.is_dir() and not stale.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_make_clean_removes_what_killed_synths_left(tmp_path):
    leftovers = [tmp_path / ".cdktf.out.synth-4242-abc", tmp_path / ".cdktf.out.old-4242-def"]
    for directory in leftovers:
        (directory / "stacks").mkdir(parents=True)
    (tmp_path / "keep.txt").write_text("not ours")
    subprocess.run(["make", "-s", "-f", str(REPO_ROOT / "Makefile"), "-C", str(tmp_path), "clean"], check=True,
                   capture_output=True, timeout=60)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
