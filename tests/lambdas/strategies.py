"""Hypothesis strategies for the fuzz tests: hostile and almost-valid requests, each carrying a card number.

The request strategies draw `(event, pan)`: `pan` is the card number (digits) placed in the request's
`card.number`, or None when the event has no card number, so tests can assert it never comes back out. The
ones at the end hide a further card number where none may be (`misplaced_pan_*`).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

from tests.lambdas.support import luhn_complete

CURRENT_YEAR = time.gmtime().tm_year

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
# Repeating a drawn character is how huge values stay cheap to generate.
huge_strings = st.builds(lambda character, count: character * count, st.characters(), st.integers(1_000, 100_000))
# Look-alike digits and letters (Arabic-Indic, superscript, mathematical, full-width), case folding that
# changes length ("\u00df".upper() == "SS"), trailing newlines (Python's "$" matches before them), emoji.
tricky_strings = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "NaN",
        "-0",
        "1e3",
        "0x10",
        "US\n",
        "10.00\n",
        "\u0661\u0662\u0663",
        "\u00b2\u00b3",
        "\U0001d7d9\U0001d7da\U0001d7db",
        "\u00df",
        "\uff35\uff33\uff24",
        "\U0001f4b3" * 4,
    ]
)
hostile_values = st.one_of(
    json_values, huge_strings, tricky_strings, st.text(alphabet=st.characters(min_codepoint=0x80))
)

# (IIN prefixes, lengths) of the accepted brands.
BRAND_SHAPES = [
    (["4"], [13, 16, 19]),
    ([str(prefix) for prefix in range(51, 56)], [16]),
    ([str(prefix) for prefix in range(2221, 2721)], [16]),
    (["34", "37"], [15]),
    (["6011", "65", *(str(prefix) for prefix in range(644, 650))], [16, 19]),
]


@st.composite
def valid_pans(draw: st.DrawFn) -> str:
    prefixes, lengths = draw(st.sampled_from(BRAND_SHAPES))
    prefix, length = draw(st.sampled_from(prefixes)), draw(st.sampled_from(lengths))
    body = draw(st.text(alphabet="0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    return luhn_complete(prefix + body)


@st.composite
def typed_pans(draw: st.DrawFn) -> tuple[str, str]:
    """A valid card number and the text a client typed for it."""
    pan = draw(valid_pans())
    style = draw(st.sampled_from(["plain", "spaces", "dashes", "mixed"]))
    if style == "plain":
        return pan, pan
    groups = [pan[index : index + 4] for index in range(0, len(pan), 4)]
    if style == "mixed":
        return pan, "".join(group + draw(st.sampled_from(["", " ", "-"])) for group in groups[:-1]) + groups[-1]
    return pan, (" " if style == "spaces" else "-").join(groups)


def _mutate(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """The object with a few fields replaced by hostile values, a few dropped and a few unknown ones added."""
    mutated = dict(valid)
    if valid:
        mutated.update(draw(st.dictionaries(st.sampled_from(sorted(valid)), hostile_values, max_size=2)))
        for name in draw(st.sets(st.sampled_from(sorted(valid)), max_size=1)):
            mutated.pop(name, None)
    mutated.update(draw(st.dictionaries(st.text(max_size=12), json_values, max_size=1)))
    return mutated


@st.composite
def payment_requests(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid payment request with a valid card number; half of them then get hostile fields."""
    pan, typed = draw(typed_pans())
    card = {
        "number": typed,
        "expiry_month": draw(st.integers(1, 12)),
        "expiry_year": draw(st.integers(CURRENT_YEAR + 1, CURRENT_YEAR + 10)),
        "cvv": "1234" if pan[:2] in ("34", "37") else "123",
    }
    request = {
        "amount": draw(st.sampled_from(["49.99", "1", "0.01", "250.00", "1250.5"])),
        "currency": draw(st.sampled_from(["USD", "EUR", "GBP", "CAD", "usd"])),
        "merchant_id": draw(st.sampled_from(["merchant_001", "merchant_002"])),
        "customer_id": draw(st.sampled_from(["customer_fuzz_1", "customer_fuzz_2", "customer-fuzz-3"])),
        "merchant_category_code": draw(st.sampled_from(["5411", "7995", "5967"])),
        "billing_country": draw(st.sampled_from(["US", "gb", "NG"])),
        "ip_country": draw(st.sampled_from(["US", "GB", "ng"])),
        "card": card,
    }
    if draw(st.booleans()):
        request = _mutate(draw, request)
        if isinstance(request.get("card"), dict) and draw(st.booleans()):
            request["card"] = {**_mutate(draw, card), "number": typed}
    return request, pan


def validation_events() -> st.SearchStrategy[tuple[Any, str | None]]:
    anything = json_values.map(lambda value: (value, None))
    return st.one_of(anything, payment_requests(), payment_requests())


@st.composite
def fraud_requests(draw: st.DrawFn) -> tuple[Any, None]:
    valid = {
        "valid": True,
        "payment": {
            "amount": draw(st.sampled_from(["49.99", "5000.00", "1"])),
            "currency": draw(st.sampled_from(["USD", "JPY"])),
            "merchant_id": "merchant_001",
            "customer_id": draw(st.sampled_from(["customer_fuzz_1", "customer_fuzz_2"])),
            "merchant_category_code": draw(st.sampled_from(["5411", "7995"])),
            "billing_country": draw(st.sampled_from(["US", "NG", None])),
            "ip_country": draw(st.sampled_from(["US", None])),
        },
        "card": {
            "token": draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)),
            "last4": "1111",
            "brand": "visa",
        },
        "transaction_id": str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
    }
    if draw(st.booleans()):
        valid = _mutate(draw, valid)
        if isinstance(valid.get("payment"), dict) and draw(st.booleans()):
            valid["payment"] = _mutate(draw, valid["payment"])
    return valid, None


def fraud_events() -> st.SearchStrategy[tuple[Any, None]]:
    return st.one_of(json_values.map(lambda value: (value, None)), fraud_requests(), fraud_requests())


@st.composite
def alb_events(draw: st.DrawFn) -> tuple[Any, str | None]:
    """Mostly well-formed POSTs (so that payloads reach validation, fraud scoring and the idempotency
    logic, with keys from a small pool to provoke replays and conflicts), the rest anything at all."""
    request, pan = draw(payment_requests())
    if draw(st.integers(0, 9)) < 6:
        key = draw(
            st.one_of(
                st.sampled_from(["fuzz-key-0001", "fuzz-key-0002"]), st.from_regex(r"[!-~]{8,40}", fullmatch=True)
            )
        )
        event = {
            "httpMethod": "POST",
            "path": "/v1/payments",
            "headers": {"content-type": "application/json", "idempotency-key": key},
            "body": json.dumps(request),
            "isBase64Encoded": False,
        }
        return event, pan
    body = draw(
        st.one_of(
            st.just(json.dumps(request)),
            st.none(),
            st.text(max_size=40),
            json_values.map(json.dumps),
            st.sampled_from(["{", "[]", "null", "NaN", '{"amount": Infinity}', "1" * 5_000, "[" * 100_000]),
        )
    )
    encoded = draw(st.booleans())
    if encoded and body is not None and draw(st.booleans()):
        body = base64.b64encode(body.encode()).decode()
    headers = draw(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=3))
    key = draw(st.one_of(st.none(), st.text(max_size=140), st.from_regex(r"[!-~]{8,40}", fullmatch=True)))
    if key is not None:
        headers[draw(st.sampled_from(["idempotency-key", "Idempotency-Key"]))] = key
    event = {
        "httpMethod": draw(st.sampled_from(["POST", "GET", "PUT", "DELETE", "post"]) | st.text(max_size=8)),
        "path": draw(
            st.one_of(
                st.sampled_from(["/v1/payments", "/v1/payments/", "/", "/v1/payment"]),
                st.uuids().map(lambda value: f"/v1/payments/{value}"),
                st.text(max_size=60).map(lambda value: f"/v1/payments/{value}"),
                st.text(max_size=30),
            )
        ),
        "headers": headers,
        "body": body,
        "isBase64Encoded": encoded,
    }
    if draw(st.integers(0, 9)) == 0:
        event[draw(st.sampled_from(sorted(event)))] = draw(hostile_values)
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values), None
    return event, pan


# Card numbers where they must not be (issue 13): disguised by any punctuation, in any client-supplied place.
_SEPARATORS = ["", " ", "  ", "-", "--", ".", "/", " - ", "_", ":", ",", "\t", "\n", "\u00a0", "\u2013", "|"]


@st.composite
def disguised_pans(draw: st.DrawFn) -> str:
    """Text holding a valid card number: cut into groups of 1 to 6 digits joined by runs of punctuation,
    maybe inside other text."""
    pan = draw(valid_pans())
    pieces, position = [], 0
    while position < len(pan):
        size = draw(st.integers(1, 6))
        pieces.append(pan[position : position + size])
        position += size
    text = pieces[0] + "".join(draw(st.sampled_from(_SEPARATORS)) + piece for piece in pieces[1:])
    prefix = draw(st.sampled_from(["", "card ", "x-", "order:", "{", "note\u00a0"]))
    return prefix + text + draw(st.sampled_from(["", " ok", "-z", "]", "\U0001f4b3"]))


# Where in a payment request a card number may be hidden (the card's own number is not one of them).
BODY_PLACES = (
    "merchant_id",
    "customer_id",
    "amount",
    "currency",
    "billing_country",
    "unknown value",
    "unknown name",
    "metadata value",
    "metadata name",
    "list item",
    "number",
    "card.cvv",
    "card extra",
)
REQUEST_LINE_PLACES = ("idempotency-key", "header value", "header name", "query value", "query name", "path")


def _hide_in_body(request: dict[str, Any], place: str, text: str) -> dict[str, Any]:
    hidden = {**request, "card": dict(request["card"])}
    if place in ("merchant_id", "customer_id", "amount", "currency", "billing_country"):
        hidden[place] = text
    elif place == "unknown value":
        hidden["note"] = text
    elif place == "unknown name":
        hidden[text] = "x"
    elif place == "metadata value":
        hidden["metadata"] = {"order": {"reference": text}}
    elif place == "metadata name":
        hidden["metadata"] = {text: "x"}
    elif place == "list item":
        hidden["tags"] = ["a", text]
    elif place == "number":
        hidden["reference"] = int("".join(character for character in text if character in "0123456789"))
    elif place == "card.cvv":
        hidden["card"]["cvv"] = text
    else:
        hidden["card"]["holder_note"] = text
    return hidden


@st.composite
def misplaced_pan_requests(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A payment request (with its own valid card) that also holds a card number somewhere else."""
    request, pan = draw(payment_requests())
    if not isinstance(request.get("card"), dict):
        request["card"] = {"number": pan, "expiry_month": 12, "expiry_year": CURRENT_YEAR + 2, "cvv": "123"}
    return _hide_in_body(request, draw(st.sampled_from(BODY_PLACES)), draw(disguised_pans())), pan


@st.composite
def misplaced_pan_alb_events(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed POST (or GET) with a card number in the body, a header, the query or the path."""
    if draw(st.booleans()):
        request, _ = draw(misplaced_pan_requests())
        place, text = "body", ""
    else:
        request, _ = draw(payment_requests())
        place, text = draw(st.sampled_from(REQUEST_LINE_PLACES)), draw(disguised_pans())
    headers = {
        "content-type": "application/json",
        "idempotency-key": draw(st.sampled_from(["fuzz-key-0003", "fuzz-key-0004"])),
    }
    event: dict[str, Any] = {
        "httpMethod": "POST",
        "path": "/v1/payments",
        "headers": headers,
        "body": json.dumps(request),
    }
    if place == "idempotency-key":
        headers["idempotency-key"] = "key-" + text
    elif place == "header value":
        headers["x-client-note"] = text
    elif place == "header name":
        headers[text.lower()] = "1"
    elif place == "query value":
        event["queryStringParameters"] = {"ref": draw(st.sampled_from([text, quote_plus(text)]))}
    elif place == "query name":
        event["multiValueQueryStringParameters"] = {quote_plus(text): ["1"]}
    elif place == "path":
        event.update(httpMethod=draw(st.sampled_from(["GET", "POST"])), path="/v1/payments/" + quote(text))
    event["isBase64Encoded"] = False
    return event
