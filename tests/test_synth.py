"""Synth as a whole: stack naming, outputs and atomic publication (make's reuse: tests/test_incremental.py)."""

from __future__ import annotations

import pytest

from app.config import DOMAINS
from policies.outputdir import MARKER

BUILT_DOMAINS = ("security", "network", "data", "compute", "api", "monitoring", "audit")


def test_one_stack_per_domain_and_environment(synth):
    assert set(synth.stacks) == {
        f"payments-{env}-{domain}" for env in ("dev", "staging", "prod") for domain in BUILT_DOMAINS
    }
    assert BUILT_DOMAINS == DOMAINS


def test_each_stack_has_its_own_provider_region_and_backend(synth, configs):
    for name, stack in synth.stacks.items():
        environment = name.split("-")[1]
        [provider] = stack.document["provider"]["aws"]
        assert provider["region"] == configs[environment].region
        backend = stack.document["terraform"]["backend"]
        if configs[environment].backend.type == "local":
            assert backend == {"local": {"path": f"../../../.terraform-state/{name}.tfstate"}}
        else:
            s3 = configs[environment].backend.s3
            assert backend["s3"]["key"] == f"{s3.key_prefix}/{name}.tfstate" and backend["s3"]["encrypt"] is True


def test_outputs_have_descriptions(synth):
    for stack in synth.stacks.values():
        assert stack.outputs, f"{stack.name} has no outputs"
        for name, output in stack.outputs.items():
            if not name.startswith("cross-stack-output-"):
                assert output.get("description"), f"{stack.name}: output {name} lacks a description"


def test_network_outputs_for_operations(synth):
    outputs = synth.stack("prod", "network").outputs
    assert {
        "vpc_id",
        "public_subnet_ids",
        "private_subnet_ids",
        "database_subnet_ids",
        "vpc_endpoint_ids",
        "nat_gateway_ids",
    } <= set(outputs)


def test_cross_stack_reference_reads_the_security_stack_state(synth):
    remote = synth.stack("dev", "network").data("terraform_remote_state")
    [reference] = remote.values()
    assert reference["config"]["path"] == "../../../.terraform-state/payments-dev-security.tfstate"


def test_s3_backend_is_selected_by_config(configs, tmp_path, app_synth):
    import dataclasses

    from app.config import BackendConfig, S3BackendConfig
    from tests.synth_view import SynthView

    s3 = S3BackendConfig(
        bucket="tfstate-bucket",
        key_prefix="payments",
        region="us-east-1",
        kms_key_id="alias/tfstate",
        locking="lockfile",
        dynamodb_table=None,
    )
    dev = dataclasses.replace(configs["dev"], backend=BackendConfig(type="s3", s3=s3))
    app_synth.synthesize([dev], tmp_path / "out")
    stack = SynthView(tmp_path / "out").stack("dev", "network")
    assert stack.document["terraform"]["backend"]["s3"] == {
        "bucket": "tfstate-bucket",
        "key": "payments/payments-dev-network.tfstate",
        "region": "us-east-1",
        "encrypt": True,
        "kms_key_id": "alias/tfstate",
        "use_lockfile": True,
    }
    [remote] = stack.data("terraform_remote_state").values()
    assert remote["backend"] == "s3" and remote["config"]["key"] == "payments/payments-dev-security.tfstate"


def test_failed_synth_leaves_previous_output_untouched(configs, tmp_path, app_synth):
    from cdktf import Annotations

    outdir = tmp_path / "cdktf.out"
    outdir.mkdir()
    (outdir / MARKER).write_text("synth\n")  # a previous synth's output
    (outdir / "manifest.json").write_text("previous")

    def violate(_app, stacks):
        Annotations.of(stacks["dev"].network.network.vpc).add_error("PCI-TEST-001: injected violation")

    with pytest.raises(app_synth.SynthError, match="PCI-TEST-001: injected violation"):
        app_synth.synthesize([configs["dev"]], outdir, customize=violate)
    assert sorted(p.name for p in outdir.iterdir()) == [MARKER, "manifest.json"]
    assert (outdir / "manifest.json").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"], "staging directory left behind"


def test_successful_synth_replaces_output_whole(configs, tmp_path, monkeypatch, app_synth):
    """Also through the two-rename fallback (no renameat2), with a fault injected between the renames: the
    previous output is back in place, nothing is left beside it, and the next synth publishes."""
    import errno
    import os

    from policies import outputdir

    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "payments-old-stack").mkdir(parents=True)
    (outdir / MARKER).write_text("synth\n")

    def no_exchange(*_args):
        raise OSError(errno.ENOSYS, "renameat2 is not available")

    renames, real_rename = [], os.rename

    def fault_between_renames(source, target):
        renames.append(source)
        if len(renames) == 2:
            raise OSError(errno.EIO, "injected fault between the renames")
        real_rename(source, target)

    monkeypatch.setattr(outputdir, "_exchange", no_exchange)
    monkeypatch.setattr(outputdir.os, "rename", fault_between_renames)
    with pytest.raises(OSError, match="injected fault"):
        app_synth.synthesize([configs["dev"]], outdir)
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == ["payments-old-stack"]
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]

    monkeypatch.setattr(outputdir.os, "rename", real_rename)
    app_synth.synthesize([configs["dev"]], outdir)
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == [f"payments-dev-{d}" for d in sorted(BUILT_DOMAINS)]
    assert (outdir / MARKER).read_text().startswith("synth\n")
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]


def test_synth_refuses_a_directory_it_did_not_make_before_building_anything(configs, tmp_path, monkeypatch, app_synth):

    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks").mkdir(parents=True)
    (outdir / "stacks" / "mine.txt").write_text("not the synth's")
    monkeypatch.setattr(app_synth, "build_app", lambda *_: pytest.fail("built before checking the output"))
    with pytest.raises(app_synth.OutputDirError, match="did not make"):
        app_synth.synthesize([configs["dev"]], outdir)
    assert (outdir / "stacks" / "mine.txt").read_text() == "not the synth's"
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]


def test_no_security_group_mixes_inline_rules_with_rule_resources(synth):
    """Inline ingress/egress lists and separate rule resources on one group overwrite each other on every
    apply (found by the deploy rehearsal): a group uses one style or the other."""
    for stack in synth.stacks.values():
        for kind in ("ingress", "egress"):
            ruled = {r.body["security_group_id"] for r in stack.resources(f"aws_vpc_security_group_{kind}_rule")}
            inline = {g.ref() for g in stack.resources("aws_security_group") if kind in g.body}
            assert not ruled & inline, f"{stack.name}: {sorted(ruled & inline)} mix inline {kind} with rules"
