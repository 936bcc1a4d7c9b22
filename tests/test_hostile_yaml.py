"""Hostile and careless YAML (environment files and the exceptions register): every case is a clear exit 2
naming the file (and the line where it is known), in bounded time and memory, quoting at most ~80 characters
of any value; never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from app.config import MAX_CONFIG_BYTES, ConfigError, load_environment
from policies.cli import EXIT_ERROR, run_gate
from policies.register import RegisterError, load_register
from policies.yamlfile import MAX_DEPTH, MAX_YAML_BYTES, QUOTE_CHARS, YamlFileError, load_yaml, quote
from tests.test_config import DEV, write_environments

# 9 levels of 10 aliases each: 10**9 values once expanded, in ~900 bytes (a bigger one is as easy to write).
ALIAS_BOMB = "\n".join(["environment: dev", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                       + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
                       + ["region: *a9", ""])


def hostile_cases() -> dict[str, tuple[bytes, int | None, str]]:
    """name -> (file content, the line the message must name or None, a phrase it must contain)."""
    dev = DEV.read_bytes()
    lines = dev.count(b"\n")
    return {
        "latin-1": (dev + b"# caf\xe9\n", lines + 1, "not UTF-8"),
        "utf-16": (dev.decode().encode("utf-16"), None, "UTF-16"),
        "complex-key": (dev + b"? [a, b]\n: value\n", lines + 1, "plain value"),
        "deep-nesting": (b"environment: " + b"[" * 5000 + b"]" * 5000 + b"\n", 1, f"deeper than {MAX_DEPTH}"),
        "deep-block-nesting": ("".join(f"{'  ' * i}k{i}:\n" for i in range(200)).encode(), None,
                               f"deeper than {MAX_DEPTH}"),
        "alias-bomb": (ALIAS_BOMB.encode(), None, "alias bomb"),
        "recursive-alias": (b"environment: &e [*e]\n", 1, "contains it"),
        "huge-integer": (b"environment: " + b"9" * 5000 + b"\n", None, "not valid YAML"),
        "duplicate-key": (dev + b"region: us-east-1\n", lines + 1, "duplicate key 'region'"),
    }


@pytest.mark.parametrize("case", sorted(hostile_cases()))
def test_a_hostile_environment_file_is_a_clear_error_naming_file_and_line(case, tmp_path):
    content, line, phrase = hostile_cases()[case]
    path = tmp_path / "dev.yaml"
    path.write_bytes(content)
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        load_environment(path)
    assert time.monotonic() - started < 5
    [problem] = raised.value.problems
    assert problem.startswith(f"{path}: ") and phrase in problem, problem
    if line is not None:
        assert f"line {line}" in problem, problem
    assert len(problem) < 600, problem


def test_the_alias_bomb_ends_the_synth_cli_in_under_5_seconds_with_exit_2(tmp_path, synth_cli):
    config_dir = tmp_path / "environments"
    write_environments(config_dir)
    (config_dir / "dev.yaml").write_text(ALIAS_BOMB)
    started = time.monotonic()
    result = synth_cli("--config-dir", str(config_dir), "--outdir", str(tmp_path / "cdktf.out"))
    assert time.monotonic() - started < 5
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{config_dir / 'dev.yaml'}: not valid YAML: more than" in result.stderr
    assert len(result.stderr) < 2000
    assert not (tmp_path / "cdktf.out").exists()


@pytest.mark.parametrize("case", ["latin-1", "utf-16", "complex-key", "deep-nesting"])
def test_each_encoding_case_exits_2_from_the_synth_cli(case, tmp_path, synth_cli):
    config_dir = tmp_path / "environments"
    write_environments(config_dir)
    (config_dir / "dev.yaml").write_bytes(hostile_cases()[case][0])
    result = synth_cli("--config-dir", str(config_dir), "--outdir", str(tmp_path / "cdktf.out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert str(config_dir / "dev.yaml") in result.stderr


def test_a_value_in_a_message_is_quoted_to_about_80_characters(tmp_path):
    """A 200 KB value, and a value that is a web of aliases (10**4 values expanded), are quoted, not echoed."""
    web = "\n".join(["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 4)])
    for value, start in (("x" * 200 * 1024, "'xxxx"), ("*a3", "[[[[")):
        text = DEV.read_text().replace("region: us-east-1", f"{web}\nregion: {value}")
        path = tmp_path / "dev.yaml"
        path.write_text(text)
        with pytest.raises(ConfigError) as raised:
            load_environment(path)
        [problem] = [p for p in raised.value.problems if ": region: " in p]
        assert f"region: {start}" in problem and len(problem) < len(str(path)) + QUOTE_CHARS + 120, problem


@seed(18)
@settings(max_examples=60, deadline=None)
@given(st.recursive(st.text(max_size=5000) | st.integers() | st.booleans() | st.none(),
                    lambda inner: st.lists(inner, max_size=30) | st.dictionaries(st.text(max_size=300), inner,
                                                                                  max_size=30), max_leaves=400))
def test_quote_is_bounded_for_any_value(value):
    assert len(quote(value)) <= QUOTE_CHARS


def test_files_over_the_size_limit_are_refused_unread(tmp_path):
    path = tmp_path / "dev.yaml"
    with open(path, "wb") as stream:
        stream.write(DEV.read_bytes())
        stream.truncate(MAX_CONFIG_BYTES + 1)  # sparse: the limit is checked on the bytes actually read
    with pytest.raises(ConfigError, match=f"{path}: environment file is larger than the limit"):
        load_environment(path)
    register = tmp_path / "exceptions.yaml"
    register.write_text("version: 1\nexceptions: []\n" + "#" * MAX_YAML_BYTES + "\n")
    with pytest.raises(RegisterError, match="larger than the limit"):
        load_register(register)


@pytest.mark.parametrize("case", ["latin-1", "utf-16", "complex-key", "deep-nesting", "alias-bomb"])
def test_a_hostile_register_exits_2_naming_the_file(case, tmp_path, capsys):
    register = tmp_path / "exceptions.yaml"
    content, _, phrase = hostile_cases()[case]
    header = b"version: 1\nexceptions: []\n"
    register.write_bytes(content if case in ("utf-16", "alias-bomb", "deep-nesting") else header + content)
    with pytest.raises(RegisterError) as raised:
        load_register(register)
    assert str(raised.value).startswith(f"{register}: ") and phrase in str(raised.value)
    assert run_gate(tmp_path / "no-synth", tmp_path / "reports", register_file=register) == EXIT_ERROR
    error = capsys.readouterr().err
    assert f"RegisterError: {register}: " in error and "Traceback" not in error
    assert not (tmp_path / "reports").exists()


def test_a_register_with_keys_of_mixed_types_is_an_error_not_a_crash(tmp_path):
    register = tmp_path / "exceptions.yaml"
    register.write_text("version: 1\nexceptions:\n  - control: PCI-S3-002\n    1: one\n    waiver: yes\n")
    with pytest.raises(RegisterError, match=r"unknown field\(s\) 'waiver', 1"):
        load_register(register)


def test_the_committed_yaml_files_load_within_the_budgets():
    root = Path(__file__).resolve().parent.parent
    for path in [*root.glob("policies/**/*.yaml"), *root.glob("app/environments/*.yaml")]:
        try:
            load_yaml(path)
        except YamlFileError as error:  # pragma: no cover - the failure message is the point
            pytest.fail(str(error))
