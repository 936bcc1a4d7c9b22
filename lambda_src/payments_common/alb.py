"""Application Load Balancer (Lambda target) requests and responses.

The ALB sends `httpMethod`, `path`, `queryStringParameters`, `headers` (lower-case names), `body` and
`isBase64Encoded` (with multi-value headers enabled: `multiValueQueryStringParameters` and
`multiValueHeaders`), and expects `statusCode`, `statusDescription`, `headers`, `body` and `isBase64Encoded`
back. Path and query arrive as the client sent them, percent-encoded. Every response here is JSON, and every
error body is `{"error": <code>, "message": <text>, ...}`.

A body is read only if it can be turned back into the same JSON: at most `MAX_BODY_BYTES`, nested at most
`contracts.MAX_NESTING` deep, numbers finite (`1e309` would become infinity, which JSON cannot write).
Anything else is a 400 before the body is looked at, so client input never makes a function fail.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

from payments_common.card_data import card_data_message
from payments_common.cards import contains_card_number
from payments_common.contracts import MAX_NESTING

# A payment request is well under 1 KiB; 32 KiB leaves room for any honest one.
MAX_BODY_BYTES = 32 * 1024
# Set by the load balancer and never stored, logged or passed on: their IP addresses and hex trace ids are
# digit runs that would look like card numbers (10.0.12.134, 203.0.113.195 is one run of 18 digits).
LOAD_BALANCER_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"})
_PLAIN_NAME = re.compile(r"[!-~]{1,40}")
# What decides nesting in JSON text: brackets, and the quotes and backslashes that put them in strings.
_JSON_SYNTAX = re.compile(r'["\\\[\]{}]')


@dataclass(frozen=True)
class AlbRequest:
    method: str
    path: str
    # Client text, which may hold card data, stays out of the repr (and so out of log lines and tracebacks).
    headers: Mapping[str, str] = field(repr=False)
    body: str | None = field(repr=False)
    # Every name and value, as sent; read only to keep card numbers out (no route takes parameters).
    query: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    all_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)


class HttpError(Exception):
    """A request that ends with an error response; raised from anywhere in the request's handling."""

    def __init__(
        self,
        status: HTTPStatus,
        error: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(f"{int(status)} {error}: {message}")
        self.status = status
        self.body = {"error": error, "message": message, **details}
        self.headers = dict(headers or {})

    def response(self) -> dict[str, Any]:
        return json_response(self.status, self.body, headers=self.headers)


def json_response(
    status: int, body: Mapping[str, Any] | str, *, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An ALB response; `body` is a JSON-serializable mapping or text that already is JSON."""
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return {
        "statusCode": int(status),
        "statusDescription": f"{int(status)} {HTTPStatus(status).phrase}",
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": text,
        "isBase64Encoded": False,
    }


def _malformed(message: str) -> HttpError:
    return HttpError(HTTPStatus.BAD_REQUEST, "malformed_request", message)


def parse_alb_event(event: Any) -> AlbRequest:
    if not isinstance(event, dict):
        raise _malformed("The request could not be read")
    method, path = event.get("httpMethod"), event.get("path")
    if not isinstance(method, str) or not isinstance(path, str):
        raise _malformed("The request has no method or path")
    raw_headers = event.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise _malformed("The request headers could not be read")
    headers = {
        name.lower(): value for name, value in raw_headers.items() if isinstance(name, str) and isinstance(value, str)
    }
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise _malformed("The request body could not be read")
    if body and len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise _too_large()
    if body and event.get("isBase64Encoded") is True:
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _malformed("The request body is not valid base64-encoded UTF-8") from None
    return AlbRequest(
        method=method,
        path=path,
        headers=headers,
        body=body,
        query=_pairs(event, "queryStringParameters", "multiValueQueryStringParameters"),
        all_headers=_pairs(event, "headers", "multiValueHeaders"),
    )


def _pairs(event: dict[str, Any], single: str, multiple: str) -> tuple[tuple[str, str], ...]:
    """Every (name, value) of a single-value and a multi-value map; what is not text is left out (it
    cannot be a header or parameter the ALB sent)."""
    pairs = []
    for name, value in (event.get(single) or {}).items() if isinstance(event.get(single), dict) else ():
        if isinstance(name, str) and isinstance(value, str):
            pairs.append((name, value))
    for name, values in (event.get(multiple) or {}).items() if isinstance(event.get(multiple), dict) else ():
        if isinstance(name, str) and isinstance(values, list):
            pairs.extend((name, value) for value in values if isinstance(value, str))
    return tuple(pairs)


def _too_large() -> HttpError:
    return HttpError(
        HTTPStatus.BAD_REQUEST, "invalid_json", f"The request body must not be larger than {MAX_BODY_BYTES} bytes"
    )


def _named(kind: str, name: str) -> str:
    """How an error names a header or query parameter: by its name, unless the name is unusual or holds a
    card number itself."""
    if _PLAIN_NAME.fullmatch(name) and not contains_card_number(name):
        return f"{kind} {name}"
    return f"a {kind} name"


def card_data_outside_body(request: AlbRequest, *, check_path: bool = True) -> list[dict[str, str]]:
    """`{"field", "message"}` for each header, query parameter or path that holds a card number (see
    `card_data`); percent-encoded text is checked as sent and decoded. The path is left to the caller when
    it is an identifier of ours (a transaction id, whose hex digits may contain a Luhn-valid stretch)."""
    errors = []

    def check(field_name: str, text: str, *, encoded: bool) -> None:
        if contains_card_number(text) or (encoded and contains_card_number(unquote_plus(text))):
            errors.append({"field": field_name, "message": card_data_message(field_name)})

    if check_path:
        check("path", request.path, encoded=True)
    for name, value in request.query:
        field_name = _named("query parameter", unquote_plus(name))
        check(field_name, name, encoded=True)
        check(field_name, value, encoded=True)
    for name, value in request.all_headers:
        if name.lower() not in LOAD_BALANCER_HEADERS:
            field_name = _named("header", name.lower())
            check(field_name, name, encoded=False)
            check(field_name, value, encoded=False)
    # A header sent twice (single- and multi-value maps) is one problem.
    return [dict(pair) for pair in dict.fromkeys(tuple(error.items()) for error in errors)]


def _reject_non_finite(constant: str) -> Any:
    # json accepts NaN and Infinity, but they are not JSON and the Lambda Invoke API would refuse them.
    raise ValueError(f"{constant} is not valid JSON")


class _NotRoundTrippable(ValueError):
    """A number that would parse as infinity."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotRoundTrippable
    return value


def _nesting(body: str) -> int:
    """How deep the JSON text nests arrays and objects (brackets inside strings do not count); linear, and
    without recursion, unlike the parser it protects."""
    depth = deepest = 0
    in_string = False
    escaped_position = -1
    for match in _JSON_SYNTAX.finditer(body):
        position, character = match.start(), match.group()
        if position == escaped_position:
            continue
        if in_string:
            if character == "\\":
                escaped_position = position + 1
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json_object(body: str | None) -> dict[str, Any]:
    if body is None or not body.strip():
        raise HttpError(HTTPStatus.BAD_REQUEST, "invalid_json", "The request body must be a JSON object")
    if len(body.encode()) > MAX_BODY_BYTES:
        raise _too_large()
    if _nesting(body) > MAX_NESTING:
        raise HttpError(
            HTTPStatus.BAD_REQUEST, "invalid_json", f"The request body must not be nested more than {MAX_NESTING} deep"
        )
    try:
        value = json.loads(body, parse_constant=_reject_non_finite, parse_float=_finite_float)
    except _NotRoundTrippable:
        raise HttpError(
            HTTPStatus.BAD_REQUEST,
            "invalid_json",
            "The request body has a number too large to represent (JSON numbers must be finite); "
            "amounts are sent as strings",
        ) from None
    except (ValueError, RecursionError):
        # ValueError also covers integers too long to convert; RecursionError cannot happen below MAX_NESTING,
        # but a parse failure must never become a 500.
        raise HttpError(HTTPStatus.BAD_REQUEST, "invalid_json", "The request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise HttpError(HTTPStatus.BAD_REQUEST, "invalid_json", "The request body must be a JSON object")
    return value
