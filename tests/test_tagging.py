"""Tag coverage: every resource whose type has `tags` in the AWS provider schema carries all seven
cost-allocation tags, in every stack of every environment."""

from __future__ import annotations

import copy

from app.aspects.tagging import merged_tags, taggable_resource_types
from policies.catalog import default_catalog
from tests.synth_view import SynthView

REQUIRED_TAGS = tuple(default_catalog().parameter("required_tags"))


def untagged_resources(view: SynthView, taggable: frozenset[str]) -> list[str]:
    """Addresses of taggable resources lacking a required tag, with the missing keys."""
    missing = []
    for resource in view.all_resources():
        if resource.type not in taggable:
            continue
        tags = resource.body.get("tags") or {}
        absent = [key for key in REQUIRED_TAGS if not tags.get(key)]
        if absent:
            missing.append(f"{resource.address} ({resource.path}) lacks {', '.join(absent)}")
    return missing


def test_every_taggable_resource_carries_all_required_tags(synth):
    taggable = taggable_resource_types()
    checked = [r for r in synth.all_resources() if r.type in taggable]
    assert len(checked) > 100
    assert untagged_resources(synth, taggable) == []


def test_tag_values_come_from_the_environment_config(synth, configs):
    for resource in synth.all_resources():
        if resource.type in taggable_resource_types():
            environment = resource.stack.split("-")[1]
            for key in REQUIRED_TAGS:
                assert resource.body["tags"][key] == configs[environment].tags[key], resource.address


def test_coverage_check_names_a_resource_missing_a_tag(synth):
    broken = copy.copy(synth)
    broken.stacks = {name: copy.deepcopy(stack) for name, stack in synth.stacks.items()}
    vpc = broken.stack("prod", "network").one("aws_vpc")
    del vpc.body["tags"]["PciScope"]
    assert untagged_resources(broken, taggable_resource_types()) == [f"{vpc.address} ({vpc.path}) lacks PciScope"]


def test_untaggable_types_are_left_alone(synth):
    untaggable = ("aws_route", "aws_kms_alias", "aws_route_table_association")
    routes = [r for r in synth.all_resources() if r.type in untaggable]
    assert routes and all("tags" not in r.body for r in routes)
    assert not {"aws_route", "aws_kms_alias"} & taggable_resource_types()


def test_data_sources_are_not_tagged(synth):
    for stack in synth.stacks.values():
        for data_type, by_name in stack.document.get("data", {}).items():
            assert all("tags" not in body for body in by_name.values()), f"{stack.name}: data.{data_type} tagged"


def test_resource_specific_tags_win():
    assert merged_tags({"Owner": "team", "PciScope": "in-scope"}, {"PciScope": "connected"}) == {
        "Owner": "team",
        "PciScope": "connected",
    }


def test_taggable_extract_matches_the_pinned_provider_schema(terraform):
    from tools.extract_taggable_types import EXTRACT, render, taggable_types_from_schema

    assert EXTRACT.read_text() == render(taggable_types_from_schema()), "stale extract: run `make taggable-types`"
