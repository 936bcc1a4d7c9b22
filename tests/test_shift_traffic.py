"""`make shift`: weights are edited in place, validated as a whole, and never left invalid."""

from __future__ import annotations

import shutil

from app.config import ENVIRONMENTS_DIR, load_environment
from tools.shift_traffic import main as shift


def environments(tmp_path):
    target = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS_DIR, target)
    return target


def test_shift_sets_both_weights_and_keeps_everything_else(tmp_path):
    config_dir = environments(tmp_path)
    before = (config_dir / "prod.yaml").read_text()
    assert shift(["--env", "prod", "--green", "50", "--config-dir", str(config_dir)]) == 0
    after = (config_dir / "prod.yaml").read_text()
    config = load_environment(config_dir / "prod.yaml")
    assert (config.compute.blue.weight, config.compute.green.weight) == (50, 50)
    assert config.compute.blue.kind == "onprem" and config.compute.blue.targets
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(changed) == 2 and len(before.splitlines()) == len(after.splitlines())


def test_explicit_blue_weight(tmp_path):
    config_dir = environments(tmp_path)
    assert shift(["--env", "staging", "--green", "100", "--blue", "0", "--config-dir", str(config_dir)]) == 0
    config = load_environment(config_dir / "staging.yaml")
    assert (config.compute.blue.weight, config.compute.green.weight) == (0, 100)


def test_invalid_shift_leaves_the_file_untouched(tmp_path, capsys):
    config_dir = environments(tmp_path)
    before = (config_dir / "prod.yaml").read_text()
    assert shift(["--env", "prod", "--green", "0", "--blue", "0", "--config-dir", str(config_dir)]) == 2
    assert "compute.traffic.green.weight: 0 is not allowed; expected a total weight above 0" in capsys.readouterr().err
    assert shift(["--env", "prod", "--green", "1000", "--config-dir", str(config_dir)]) == 2
    assert (config_dir / "prod.yaml").read_text() == before
    assert sorted(p.name for p in config_dir.iterdir()) == ["dev.yaml", "prod.yaml", "staging.yaml"]
