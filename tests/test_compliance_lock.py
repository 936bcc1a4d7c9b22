"""Two `make compliance` runs on one tree: the second says who holds the tree and waits, or gives up with exit 2
having run nothing."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest

from tools import compliance


def hold(path, release: threading.Event, held: threading.Event) -> None:
    with compliance.tree_lock(path, timeout=5, say=lambda *_, **__: None):
        held.set()
        release.wait(30)


def test_a_second_run_waits_for_the_first_and_names_it(tmp_path):
    lock = tmp_path / "compliance.lock"
    release, held = threading.Event(), threading.Event()
    first = threading.Thread(target=hold, args=(lock, release, held))
    first.start()
    assert held.wait(10)
    said: list[str] = []
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    with compliance.tree_lock(lock, timeout=20, say=lambda text, **_: said.append(text)):
        waited = time.monotonic() - started
        assert lock.read_text().strip().isdigit()
    first.join(10)
    assert waited >= 0.4
    assert len(said) == 1 and "another make compliance is running on this tree (pid" in said[0]


def test_a_second_run_gives_up_after_the_lock_timeout_with_exit_2_and_runs_nothing(tmp_path, monkeypatch, capsys):
    lock = tmp_path / "compliance.lock"
    monkeypatch.setattr(compliance, "LOCK_PATH", lock)
    monkeypatch.setattr(compliance, "run", lambda *_args, **_kwargs: pytest.fail("ran without the lock"))
    lock.write_text("4242\n")
    with open(lock) as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        code = compliance.main(["--stage", "synth", "--synth-dir", str(tmp_path / "cdktf.out"),
                                "--lock-timeout", "0.3"])
    assert code == compliance.EXIT_ERROR
    captured = capsys.readouterr()
    assert "another make compliance is running on this tree (pid 4242" in captured.out
    assert "still holds" in captured.err and "nothing was run" in captured.err
    assert not (tmp_path / "cdktf.out").exists()
