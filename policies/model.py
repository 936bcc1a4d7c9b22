"""The synthesized stacks, loaded once and indexed as linked resource views for the post-synth layers.

A *view* is a plain dict (so JMESPath can query it) describing one block of one stack::

    address         payments-prod-data:aws_s3_bucket.audit_1A2B3C   (data sources: <stack>:data.<type>.<name>)
    stack, kind     kind is resource, data, provider, output, variable or backend
    environment     the stack's environment (policies/scope.py): the scope of every control, never a tag
    type, selector  selector is what rules select on: the type, or data.<type> for data sources
    name, path      the logical id and the construct path from the "//" metadata
    attributes      the block as synthesized, without its "//" metadata
    refs            edges to the blocks this one references
    referenced_by   edges from the blocks that reference this one
    policy_documents  IAM statements of the block's policy attributes, normalized (see policies/iam.py)
    strings         [path, key, value] of every string in the attributes (for find_leaves)

An *edge* is ``{via, via_root, attribute, source, target}``: ``source.<via>`` holds ``${target.<attribute>}``.
References are resolved across stacks: ``data.terraform_remote_state.<x>.outputs.<output>`` is followed to
the output of the stack whose state it reads, and from there to the referenced block. Views link to each
other (the graph is cyclic), which JMESPath navigates lazily, one hop per expression step.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypedDict

from policies import iam
from policies.jsontypes import JsonObject, JsonValue
from policies.scope import environment_of
from policies.yamlfile import YamlFileError, quote, read_text

STACK_FILE = "cdk.tf.json"
AWS_MANAGED_POLICY = re.compile(r"^arn:(?:aws[a-z-]*|\$\{[^}]+\}):iam::aws:policy/(.+)$")
REFERENCE = re.compile(r"(?<![\w.\-\]])((?:data\.)?[a-z][a-z0-9_]*)\.([A-Za-z0-9_][A-Za-z0-9_\-]*)"
                       r"((?:\.[A-Za-z0-9_\-]+|\[\d+\]|\.\*)*)")
SIMPLE_INTERPOLATION = re.compile(r"\$\{([^{}\"]*)\}")
REMOTE_STATE = "data.terraform_remote_state"
MAX_REMOTE_HOPS = 5
# A synthesized stack is at most a few MB; a file over this is refused unread (parsing 200 MB takes ~5 GB).
MAX_STACK_BYTES = 64 * 1024 * 1024
MAX_MANIFEST_BYTES = 1024 * 1024  # a manifest of 21 stacks is ~8 KB

# Where each resource type keeps IAM policy documents, and what kind of policy each one is.
POLICY_ATTRIBUTES: dict[str, tuple[tuple[str, str], ...]] = {
    "aws_iam_role": (("assume_role_policy", "trust"), ("inline_policy[].policy", "identity")),
    "aws_iam_role_policy": (("policy", "identity"),),
    "aws_iam_policy": (("policy", "identity"),),
    "aws_iam_user_policy": (("policy", "identity"),),
    "aws_iam_group_policy": (("policy", "identity"),),
    "aws_kms_key": (("policy", "key"),),
    "aws_kms_key_policy": (("policy", "key"),),
    "aws_s3_bucket_policy": (("policy", "resource"),),
    "aws_sns_topic": (("policy", "resource"),),
    "aws_sns_topic_policy": (("policy", "resource"),),
    "aws_sqs_queue": (("policy", "resource"),),
    "aws_sqs_queue_policy": (("policy", "resource"),),
    "aws_secretsmanager_secret": (("policy", "resource"),),
    "aws_secretsmanager_secret_policy": (("policy", "resource"),),
    "aws_api_gateway_rest_api": (("policy", "resource"),),
    "aws_api_gateway_rest_api_policy": (("policy", "resource"),),
    "aws_cloudwatch_log_resource_policy": (("policy_document", "resource"),),
}
# Attachments of managed policies: a policy defined in the synth is evaluated where it is defined.
MANAGED_POLICY_ATTRIBUTES: dict[str, str] = {
    "aws_iam_role": "managed_policy_arns",
    "aws_iam_role_policy_attachment": "policy_arn",
    "aws_iam_policy_attachment": "policy_arn",
    "aws_iam_user_policy_attachment": "policy_arn",
    "aws_iam_group_policy_attachment": "policy_arn",
}
DATA_POLICY_DOCUMENT = "data.aws_iam_policy_document"
SEGMENT_SEPARATOR = re.compile(r"\.|\[\d+\]|\*")
ROOT_SEPARATOR = re.compile(r"[.\[]")


class Edge(TypedDict):
    """``source.<via>`` holds ``${target.<attribute>}`` (see the module docstring)."""

    via: str
    via_root: str
    attribute: str
    source: View
    target: View


class PolicyDocument(TypedDict):
    """One policy of a block: where it is, what kind, its annotated statements or why they cannot be known."""

    attribute: str
    kind: str  # policies.iam.POLICY_KINDS, or managed (an attached managed policy)
    source: JsonValue  # "inline JSON", the policy document's address, or the managed policy's ARN as written
    statements: list[iam.AnnotatedStatement]
    error: str | None


class View(TypedDict):
    """One block of one stack (see the module docstring); a dict so that JMESPath can query it."""

    address: str
    stack: str
    environment: str
    kind: str
    type: str
    selector: str
    name: str
    path: str
    attributes: JsonObject
    refs: list[Edge]
    referenced_by: list[Edge]
    policy_documents: list[PolicyDocument]
    strings: list[list[str]]


class InputError(Exception):
    """The synth directory cannot be evaluated (missing, malformed, incomplete); the gate exits 2."""


@dataclass(frozen=True)
class StackFile:
    name: str
    path: Path
    sha256: str
    document: JsonObject


def _shape_problem(document: JsonValue) -> str | None:
    if not isinstance(document, dict):
        return f"the document is a {type(document).__name__}, expected a JSON object"
    if "module" in document:
        return "it declares modules, whose resources are not in the synth and could not be checked"
    for block in ("resource", "data"):
        by_type = document.get(block, {})
        if not isinstance(by_type, dict):
            return f"{block} is not an object"
        for rtype, by_name in by_type.items():
            if not isinstance(by_name, dict) or not all(isinstance(b, dict) for b in by_name.values()):
                return f"{block}.{rtype} is not an object of named blocks"
    for block in ("output", "variable", "provider", "terraform", "locals"):
        if not isinstance(document.get(block, {}), dict):
            return f"{block} is not an object"
    return None


def read_stack_file(path: Path) -> StackFile:
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_STACK_BYTES + 1)
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(raw) > MAX_STACK_BYTES:
        raise InputError(f"{path}: larger than the limit of {MAX_STACK_BYTES} bytes for a stack file; refused "
                         "unscanned")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise InputError(f"{path}: malformed JSON: {error}") from None
    problem = _shape_problem(document)
    if problem:
        raise InputError(f"{path}: not a synthesized Terraform JSON stack: {problem}")
    return StackFile(name=path.parent.name, path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest(),
                     document=document)


def load_synth(synth_dir: Path, environments: Sequence[str] = ()) -> list[StackFile]:
    """Every stack of a synth directory (``stacks/<stack>/cdk.tf.json``), exactly those its ``manifest.json``
    lists (cdktf writes it with the stacks): without it nobody can tell whether a stack is missing, so a
    synth without one is refused. ``environments``: each must have at least one stack (policies/scope.py)."""
    synth_dir = Path(synth_dir)
    if not synth_dir.is_dir():
        raise InputError(f"{synth_dir}: no such synth directory (run `make synth` first)")
    paths = sorted(synth_dir.glob(f"stacks/*/{STACK_FILE}"))
    if not paths:
        raise InputError(f"{synth_dir}: no stacks/*/{STACK_FILE} found (run `make synth` first)")
    manifest = synth_dir / "manifest.json"
    if not manifest.is_file():
        raise InputError(f"{manifest}: missing; without the synth's manifest the gate cannot tell whether a stack "
                         "is missing (synthesize again with `make synth`, or copy the whole synth directory)")
    try:
        declared = json.loads(read_text(manifest, MAX_MANIFEST_BYTES, "manifest"))["stacks"]
        expected = {(synth_dir / spec["synthesizedStackPath"]).resolve(): name for name, spec in declared.items()}
    except YamlFileError as error:
        raise InputError(str(error)) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise InputError(f"{manifest}: malformed manifest ({quote(repr(error))})") from None
    found = {path.resolve() for path in paths}
    if set(expected) != found:
        missing = sorted(str(p) for p in set(expected) - found)
        extra = sorted(str(p) for p in found - set(expected))
        raise InputError(f"{synth_dir}: stacks do not match manifest.json (missing: {missing or 'none'}; "
                         f"not in the manifest: {extra or 'none'}); the synth is incomplete")
    misnamed = sorted(f"{name} at {path}" for path, name in expected.items() if path.parent.name != name)
    if misnamed:
        raise InputError(f"{manifest}: stack names differ from their directories ({', '.join(misnamed)}); the "
                         "environment of a stack is read from its name, so the two must agree")
    absent = [env for env in environments if env not in {environment_of(path.parent.name) for path in paths}]
    if absent:
        raise InputError(f"{synth_dir}: no stack of the expected environment(s) {', '.join(absent)} (stacks are "
                         "named <project>-<environment>-<domain>); synthesize every environment the run expects")
    return [read_stack_file(path) for path in paths]


def interpolations(text: str) -> Iterator[str]:
    """The expressions of every ``${...}`` in a string, honouring nested braces and quoted strings."""
    start = text.find("${")
    while start != -1:
        simple = SIMPLE_INTERPOLATION.match(text, start)
        if simple:  # the common case, at regex speed: no braces or quotes inside
            yield simple.group(1)
            start = text.find("${", simple.end())
            continue
        depth, index, quoted = 1, start + 2, False
        while index < len(text) and depth:
            char = text[index]
            if quoted:
                if char == "\\":
                    index += 1
                elif char == '"':
                    quoted = False
            elif char == '"':
                quoted = True
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            index += 1
        if depth:
            return
        yield text[start + 2:index - 1]
        start = text.find("${", index)


def is_pure_reference(value: JsonValue) -> bool:
    """A string that is exactly one ``${...}`` expression: a value known only at apply time."""
    if not isinstance(value, str) or not value.startswith("${") or not value.endswith("}"):
        return False
    expressions = list(interpolations(value))
    return len(expressions) == 1 and len(expressions[0]) == len(value) - 3


def string_leaves(value: JsonValue) -> list[list[str]]:
    """[path, key, string] for every string under value (key is "" for list items), "//" metadata excluded.
    Plain loops over an explicit stack: this walks every block of every stack."""
    found: list[list[str]] = []
    stack: list[tuple[str, JsonValue]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if key == "//":
                    continue
                if isinstance(item, str):
                    found.append([f"{path}.{key}" if path else key, key, item])
                elif isinstance(item, (dict, list)):
                    stack.append((f"{path}.{key}" if path else key, item))
        else:
            for index, item in enumerate(node):
                if isinstance(item, str):
                    found.append([f"{path}[{index}]", "", item])
                elif isinstance(item, (dict, list)):
                    stack.append((f"{path}[{index}]", item))
    return found


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the views form one large cyclic graph that it would otherwise
    traverse again and again while it is built and queried, for nothing (none of it is garbage yet)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _remote_stack(config: JsonObject) -> str | None:
    state = config.get("path") or config.get("key")
    if not isinstance(state, str) or not state.endswith(".tfstate"):
        return None
    return PurePosixPath(state).name[: -len(".tfstate")]


class Model:
    """Views of every block of every stack, with references resolved (see the module docstring)."""

    def __init__(self, stacks: list[StackFile], allowlist: iam.Allowlist | None = None):
        self.stacks = {stack.name: stack for stack in stacks}
        self.allowlist = allowlist or iam.default_allowlist()
        self.views: list[View] = []
        self.by_selector: dict[str, list[View]] = {}
        self.by_address: dict[str, View] = {}
        self._index: dict[tuple[str, str, str], View] = {}
        self._remote: dict[tuple[str, str], str] = {}
        self._resolved: dict[tuple[str, str], list[tuple[View, str]]] = {}
        with collector_paused():
            for stack in stacks:
                self._add_stack(stack)
            for view in self.views:
                self._link(view)
            for view in self.views:
                view["policy_documents"] = self._policy_documents(view)

    def set_attributes(self, view: View, attributes: JsonObject) -> None:
        """Give a view other attribute values (a plan's known values, tools/plan_gate.py) while keeping the edges
        its synthesized references made: what is derived from the values is derived again."""
        with collector_paused():
            view["attributes"] = attributes
            view["strings"] = string_leaves(attributes)
            view["policy_documents"] = self._policy_documents(view)

    def select(self, types: frozenset[str] | None) -> list[View]:
        if types is None:
            return list(self.views)
        return [view for selector in sorted(types) for view in self.by_selector.get(selector, ())]

    def _add(self, stack: str, kind: str, rtype: str, name: str, body: JsonValue, address: str) -> None:
        selector = {"resource": rtype, "data": f"data.{rtype}"}.get(kind, kind)
        meta = body.get("//", {}) if isinstance(body, dict) else {}
        attributes = {k: v for k, v in body.items() if k != "//"} if isinstance(body, dict) else {"value": body}
        view: View = {"address": address, "stack": stack, "environment": environment_of(stack), "kind": kind,
                "type": rtype, "selector": selector, "name": name, "path": meta.get("metadata", {}).get("path", name),
                "attributes": attributes,
                "refs": [], "referenced_by": [], "policy_documents": [], "strings": []}
        self.views.append(view)
        self.by_selector.setdefault(selector, []).append(view)
        self.by_address[address] = view
        self._index[(stack, selector, name)] = view

    def _add_stack(self, stack: StackFile) -> None:
        document, name = stack.document, stack.name
        for kind in ("resource", "data"):
            for rtype, by_name in sorted(document.get(kind, {}).items()):
                for rname, body in sorted(by_name.items()):
                    prefix = "" if kind == "resource" else "data."
                    self._add(name, kind, rtype, rname, body, f"{name}:{prefix}{rtype}.{rname}")
                    if kind == "data" and rtype == "terraform_remote_state":
                        source = _remote_stack(body.get("config", {}))
                        if source:
                            self._remote[(name, rname)] = source
        for provider, configs in sorted(document.get("provider", {}).items()):
            for index, config in enumerate(configs if isinstance(configs, list) else [configs]):
                self._add(name, "provider", provider, f"{provider}[{index}]", config,
                          f"{name}:provider.{provider}[{index}]")
        for output, body in sorted(document.get("output", {}).items()):
            self._add(name, "output", "output", output, body, f"{name}:output.{output}")
        for variable, body in sorted(document.get("variable", {}).items()):
            self._add(name, "variable", "variable", variable, body, f"{name}:var.{variable}")
        for backend, config in sorted(document.get("terraform", {}).get("backend", {}).items()):
            self._add(name, "backend", backend, backend, config, f"{name}:terraform.backend.{backend}")

    def resolve(self, stack: str, expression: str, hops: int = 0) -> list[tuple[View, str]]:
        """The blocks an expression references, with the referenced attribute, following remote state."""
        key = (stack, expression)
        if key not in self._resolved:  # the same expressions recur in every stack (account id, partition...)
            self._resolved[key] = self._resolve(stack, expression, hops)
        return self._resolved[key]

    def _resolve(self, stack: str, expression: str, hops: int) -> list[tuple[View, str]]:
        found: list[tuple[View, str]] = []
        for selector, name, rest in REFERENCE.findall(expression):
            segments = [s for s in SEGMENT_SEPARATOR.split(rest) if s]
            if selector == REMOTE_STATE and segments[:1] == ["outputs"] and len(segments) > 1:
                source = self._remote.get((stack, name))
                read = self.stacks.get(source) if source is not None else None
                output = read.document.get("output", {}).get(segments[1]) if read is not None else None
                value = output.get("value") if isinstance(output, dict) else None
                if read is not None and isinstance(value, str) and hops < MAX_REMOTE_HOPS:
                    for inner in interpolations(value):
                        found.extend(self.resolve(read.name, inner, hops + 1))
                continue
            target = self._index.get((stack, selector, name))
            if target is not None:
                found.append((target, segments[0] if segments else ""))
        return found

    def unresolved(self, stack: str, text: str) -> list[str]:
        """The ``${...}`` expressions of a string whose value the synth cannot tell: one naming a block, variable
        or remote-state output the synth does not define, or naming nothing at all (a function of literals,
        ``each``/``count``/``local`` values). A rule that reads such a value cannot judge it: fail closed."""
        found = []
        for expression in interpolations(text):
            references = REFERENCE.findall(expression)
            if not references or not all(self._defines(stack, selector, name, rest)
                                         for selector, name, rest in references):
                found.append("${" + expression + "}")
        return found

    def _defines(self, stack: str, selector: str, name: str, rest: str) -> bool:
        if selector == REMOTE_STATE:
            segments = [s for s in SEGMENT_SEPARATOR.split(rest) if s]
            source = self._remote.get((stack, name))
            return (len(segments) > 1 and segments[0] == "outputs" and source in self.stacks
                    and segments[1] in self.stacks[source].document.get("output", {}))
        return (stack, "variable" if selector == "var" else selector, name) in self._index

    def _link(self, view: View) -> None:
        seen: set[tuple[str, int, str]] = set()
        view["strings"] = string_leaves(view["attributes"])
        for path, _, text in view["strings"]:
            if "${" not in text:
                continue
            for expression in interpolations(text):
                for target, attribute in self.resolve(view["stack"], expression):
                    key = (path, id(target), attribute)
                    if key in seen or target is view:
                        continue
                    seen.add(key)
                    edge: Edge = {"via": path, "via_root": ROOT_SEPARATOR.split(path, maxsplit=1)[0],
                            "attribute": attribute, "source": view, "target": target}
                    view["refs"].append(edge)
                    target["referenced_by"].append(edge)

    def policy_document_statements(self, view: View, value: JsonValue,
                                   depth: int = 0) -> tuple[list[iam.Statement], str]:
        """Raw statements of a policy value (JSON text or a reference to a policy document data source),
        with a description of where they came from; raises PolicyError when they cannot be known."""
        if not isinstance(value, str):
            raise iam.PolicyError(f"expected a JSON policy string, got {value!r}")
        if is_pure_reference(value):
            targets = [(t, a) for t, a in self.resolve(view["stack"], value[2:-1])
                       if t["selector"] == DATA_POLICY_DOCUMENT and a in ("json", "minified_json")]
            if len(targets) != 1 or depth > MAX_REMOTE_HOPS:
                raise iam.PolicyError(f"{value} is not a policy document the gate can read: use a JSON string or "
                                      "a data.aws_iam_policy_document of the synth")
            document = targets[0][0]
            statements: list[iam.Statement] = []
            for key in ("source_policy_documents", "override_policy_documents"):
                for nested in document["attributes"].get(key) or []:
                    statements.extend(self.policy_document_statements(document, nested, depth + 1)[0])
            statements.extend(iam.statements_from_policy_document_data(document["attributes"]))
            return statements, document["address"]
        return iam.parse_policy_json(value), "inline JSON"

    def _policy_documents(self, view: View) -> list[PolicyDocument]:
        if view["kind"] != "resource":
            return []
        documents: list[PolicyDocument] = []
        for attribute, kind in POLICY_ATTRIBUTES.get(view["type"], ()):
            for path, value in values_at(view["attributes"], attribute):
                document: PolicyDocument = {"attribute": path, "kind": kind, "source": None, "statements": [],
                                            "error": None}
                try:
                    statements, document["source"] = self.policy_document_statements(view, value)
                    document["statements"] = [iam.annotate(s, kind, self.allowlist) for s in statements]
                except iam.PolicyError as error:
                    document["error"] = str(error)
                documents.append(document)
        managed = MANAGED_POLICY_ATTRIBUTES.get(view["type"])
        if managed:
            arns = view["attributes"].get(managed)
            for index, arn in enumerate(arns if isinstance(arns, list) else [arns] if arns is not None else []):
                documents.extend(self._managed_policy(view, f"{managed}[{index}]" if isinstance(arns, list)
                                                      else managed, arn))
        return documents

    def _managed_policy(self, view: View, path: str, arn: JsonValue) -> list[PolicyDocument]:
        if isinstance(arn, str) and is_pure_reference(arn) and any(
                t["selector"] == "aws_iam_policy" for t, _ in self.resolve(view["stack"], arn[2:-1])):
            return []  # defined in the synth: its own policy_documents are evaluated
        document: PolicyDocument = {"attribute": path, "kind": "managed", "source": arn, "statements": [],
                                    "error": None}
        match = AWS_MANAGED_POLICY.match(arn) if isinstance(arn, str) else None
        if match is None:
            document["error"] = (f"{arn!r} is a managed policy outside the synth; its statements cannot be "
                                 "checked (define the policy in the synth)")
        elif match.group(1) not in self.allowlist.aws_managed_policies:
            document["error"] = (f"AWS-managed policy {match.group(1)} cannot be inspected; use an inline policy "
                                 f"or list it with a reason under aws_managed_policies in {self.allowlist.source.name}")
        return [document]


def values_at(attributes: JsonObject, path: str) -> Iterator[tuple[str, JsonValue]]:
    """Values at a path such as ``inline_policy[].policy`` (``[]`` = every element of a list or block)."""
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        items = attributes.get(head[:-2])
        items = items if isinstance(items, list) else [items] if isinstance(items, dict) else []
        for index, item in enumerate(items):
            if isinstance(item, dict) and rest in item:
                yield f"{head[:-2]}[{index}].{rest}", item[rest]
    elif head in attributes and attributes[head] is not None:
        yield head, attributes[head]
