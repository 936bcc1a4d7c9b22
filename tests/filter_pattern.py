"""An evaluator for the subset of CloudWatch Logs JSON filter patterns the security-event metric filters use.

Grammar: ``{ expr }``; ``expr`` is terms joined by ``&&`` or by ``||`` (mixing the two at one level is refused,
as the patterns parenthesize); a term is ``( expr )`` or ``selector = value``, ``selector != value``,
``selector EXISTS``, ``selector NOT EXISTS``; a selector is ``$.a.b`` (``[n]`` for array items); a value is a
double-quoted string where ``*`` matches any run of characters (CloudWatch's wildcard), or a bare token.
As in CloudWatch Logs, a comparison on a property the event does not have is false (``=`` and ``!=`` alike).
Anything outside the subset raises :class:`PatternError`, so a pattern this cannot read fails its test.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>&&|\|\||!=|=|\(|\)|\{|\})
      | (?P<selector>\$(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])+)
      | (?P<word>[A-Za-z0-9_.:*/-]+)
    )""",
    re.VERBOSE,
)
_MISSING = object()


class PatternError(ValueError):
    pass


def _tokens(pattern: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(pattern):
        if pattern[position:].strip() == "":
            break
        match = _TOKEN.match(pattern, position)
        if match is None:
            raise PatternError(f"cannot read {pattern[position:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, pattern: str):
        self.tokens = _tokens(pattern)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1] != expected):
            raise PatternError(f"expected {expected or 'a token'}, found {token}")
        self.index += 1
        return token

    def pattern(self):
        self.take("{")
        tree = self.expression()
        self.take("}")
        if self.peek() is not None:
            raise PatternError(f"text after the closing brace: {self.tokens[self.index :]}")
        return tree

    def expression(self):
        terms, operators = [self.term()], set()
        while self.peek() in (("op", "&&"), ("op", "||")):
            operators.add(self.take()[1])
            terms.append(self.term())
        if len(operators) > 1:
            raise PatternError("&& and || mixed without parentheses")
        return ("and" if operators == {"&&"} else "or", terms) if operators else terms[0]

    def term(self):
        if self.peek() == ("op", "("):
            self.take("(")
            inner = self.expression()
            self.take(")")
            return inner
        kind, selector = self.take()
        if kind != "selector":
            raise PatternError(f"expected a $. selector, found {selector!r}")
        following = self.take()
        if following == ("word", "EXISTS"):
            return ("exists", selector)
        if following == ("word", "NOT"):
            self.take("EXISTS")
            return ("not-exists", selector)
        if following not in (("op", "="), ("op", "!=")):
            raise PatternError(f"unsupported operator {following[1]!r} after {selector}")
        value_kind, value = self.take()
        if value_kind == "string":
            value = json.loads(value)
        elif value_kind != "word":
            raise PatternError(f"expected a value after {selector} {following[1]}, found {value!r}")
        return ("eq" if following[1] == "=" else "ne", selector, value)


def parse(pattern: str):
    return _Parser(pattern).pattern()


def _lookup(event: Any, selector: str) -> Any:
    value = event
    for step in re.findall(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]", selector):
        name, index = step
        if name and isinstance(value, dict) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def _equals(actual: Any, expected: str) -> bool:
    if actual is None or isinstance(actual, (dict, list)):
        return False
    text = str(actual).lower() if isinstance(actual, bool) else str(actual)
    regex = ".*".join(re.escape(part) for part in expected.split("*"))
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def _evaluate(tree, event: Any) -> bool:
    kind = tree[0]
    if kind == "and":
        return all(_evaluate(term, event) for term in tree[1])
    if kind == "or":
        return any(_evaluate(term, event) for term in tree[1])
    value = _lookup(event, tree[1])
    if kind == "exists":
        return value is not _MISSING
    if kind == "not-exists":
        return value is _MISSING
    if value is _MISSING:
        return False
    return _equals(value, tree[2]) if kind == "eq" else not _equals(value, tree[2])


def matches(pattern: str, event: dict) -> bool:
    """Whether a CloudWatch Logs JSON filter pattern matches one log event (a parsed JSON object)."""
    return _evaluate(parse(pattern), event)
