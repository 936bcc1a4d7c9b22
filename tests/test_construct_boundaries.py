"""Stacks use what a component exposes (attributes it documents, grant_* and metric_* methods), never the
resources inside it: a chain of three or more attribute hops from a stack (``compute.alb.alb.arn_suffix``,
``self.aurora.cluster.endpoint``) reaches through a component into its internals, and breaks silently when the
component is rebuilt. The check reads the source (no synth): it belongs to the fast tier."""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

STACKS_DIR = Path(__file__).resolve().parent.parent / "app" / "stacks"
MAX_HOPS = 2
# Plain data, not constructs: the environment's frozen configuration and the stacks' parameter object.
CONFIG_ATTRIBUTES = frozenset({"config"})
PARAMETER_OBJECTS = frozenset({"foundation"})


def attribute_hops(chain: ast.expr) -> int | None:
    """The attribute hops into constructs of an attribute/subscript chain; None when it reads configuration."""
    hops = 0
    node = chain
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            if node.attr in CONFIG_ATTRIBUTES:
                return None
            hops += node.attr not in PARAMETER_OBJECTS
        node = node.value
    if isinstance(node, ast.Name) and node.id in CONFIG_ATTRIBUTES:
        return None
    return hops


def deep_chains(source: str) -> list[tuple[int, str]]:
    """(line, expression) of every outermost attribute chain of more than MAX_HOPS hops into constructs."""
    tree = ast.parse(source)
    inner = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.value, (ast.Attribute, ast.Subscript))
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and id(node) not in inner:
            hops = attribute_hops(node)
            if hops is not None and hops > MAX_HOPS:
                found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_stacks_do_not_reach_into_components() -> None:
    files = sorted(STACKS_DIR.glob("*.py"))
    assert len(files) >= 9, f"expected the stack modules under {STACKS_DIR}"
    violations = [
        f"{path.name}:{line}: {expression}" for path in files for line, expression in deep_chains(path.read_text())
    ]
    assert not violations, (
        "stacks reach into another construct's internals; expose an attribute, grant_* or metric_* method on the "
        "component instead:\n" + "\n".join(violations)
    )


def test_the_chains_that_motivated_the_rule_are_caught() -> None:
    source = """
function_name = payment_function.function.function.function_name
load_balancer = compute.alb.alb.arn_suffix
group = compute.alb.target_groups[slot].arn_suffix
endpoint = self.aurora.cluster.endpoint
dimensions = data.aurora.metric_dimensions()
vpc = self.foundation.vpc.vpc_id
cidrs = config.compute.vpn.onprem_cidrs
weights = self.config.compute.blue.weight
models = Path(__file__).resolve().parent.parent
"""
    assert [expression for _, expression in deep_chains(source)] == [
        "payment_function.function.function.function_name",
        "compute.alb.alb.arn_suffix",
        "compute.alb.target_groups[slot].arn_suffix",
        "self.aurora.cluster.endpoint",
    ]


identifiers = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
    lambda name: name not in CONFIG_ATTRIBUTES | PARAMETER_OBJECTS and name not in {"if", "in", "is", "or", "as"}
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    root=identifiers,
    hops=st.lists(
        st.one_of(identifiers, st.sampled_from(sorted(PARAMETER_OBJECTS)), st.sampled_from(["[0]", "[key]"])),
        max_size=6,
    ),
)
def test_hops_are_counted_as_written(root: str, hops: list[str]) -> None:
    """Generated chains: flagged exactly when more than MAX_HOPS of their attributes are not parameter objects
    (subscripts do not count, and do not reset the count)."""
    expression = root + "".join(hop if hop.startswith("[") else f".{hop}" for hop in hops)
    counted = sum(not hop.startswith("[") and hop not in PARAMETER_OBJECTS for hop in hops)
    expected = [(1, expression)] if counted > MAX_HOPS else []
    assert deep_chains(f"value = {expression}\n") == expected


def test_every_log_group_is_placed_at_the_component_that_names_it(synth_dir: Path) -> None:
    """The source map (SARIF locations) points at the call a developer changes: a log group made through the
    shared factory is placed at its component's call, not in app/components/log_groups.py."""
    import json

    places = json.loads((synth_dir / "source-map.json").read_text())["constructs"]
    log_groups = {path: place for path, place in places.items() if "log" in path.lower()}
    assert len(log_groups) >= 30, "expected the log groups of every environment in the source map"
    misplaced = sorted(path for path, place in places.items() if place["file"] == "app/components/log_groups.py")
    assert not misplaced, f"placed in the factory instead of their component: {misplaced[:5]}"
    flow_logs = [place for path, place in places.items() if path.endswith("/network/flow-log-group")]
    assert flow_logs and all(place["file"] == "app/components/network.py" for place in flow_logs), flow_logs
