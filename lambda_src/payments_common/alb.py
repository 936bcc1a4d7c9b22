"""Application Load Balancer (Lambda target) requests and responses.

The ALB sends `httpMethod`, `path`, `headers` (lower-case names), `body` and `isBase64Encoded`, and expects
`statusCode`, `statusDescription`, `headers`, `body` and `isBase64Encoded` back. Every response here is JSON,
and every error body is `{"error": <code>, "message": <text>, ...}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any


@dataclass(frozen=True)
class AlbRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: str | None


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
    if body and event.get("isBase64Encoded") is True:
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _malformed("The request body is not valid base64-encoded UTF-8") from None
    return AlbRequest(method=method, path=path, headers=headers, body=body)


def _reject_non_finite(constant: str) -> Any:
    # json accepts NaN and Infinity, but they are not JSON and the Lambda Invoke API would refuse them.
    raise ValueError(f"{constant} is not valid JSON")


def parse_json_object(body: str | None) -> dict[str, Any]:
    if body is None or not body.strip():
        raise HttpError(HTTPStatus.BAD_REQUEST, "invalid_json", "The request body must be a JSON object")
    try:
        value = json.loads(body, parse_constant=_reject_non_finite)
    except (ValueError, RecursionError):
        # ValueError also covers integers too long to convert; RecursionError, absurdly deep nesting.
        raise HttpError(HTTPStatus.BAD_REQUEST, "invalid_json", "The request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise HttpError(HTTPStatus.BAD_REQUEST, "invalid_json", "The request body must be a JSON object")
    return value
