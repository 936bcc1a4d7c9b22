"""Card data never reaches a log line: the Powertools formatter and the root-handler filter."""

from __future__ import annotations

import io
import json
import logging
import random
import string
from unittest.mock import patch

import pytest

from tests.lambdas.support import LAMBDA_SRC, card_number, load_handler

PAN = "4539578763621486"


@pytest.fixture(scope="module")
def redaction():
    load_handler("payment_validation")  # puts lambda_src on sys.path, as the zip layout does
    import payments_common.redaction as module

    assert module.__file__.startswith(str(LAMBDA_SRC))
    return module


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"card {PAN} declined", "card ************1486 declined"),
        ("card 4539 5787 6362 1486 declined", "card ************1486 declined"),
        ("card 4539-5787-6362-1486.", "card ************1486."),
        ("amex 378282246310005", "amex ************0005"),
        (f"glued x{PAN}99 y", "x************8699 y"),
        ("order 123456789012 total 1000", "order 123456789012 total 1000"),
        # Any punctuation, repeated, between the digits (issue 13: doubled separators got through).
        ("card 4539--5787--6362--1486 x", "card ************1486 x"),
        ("card 4539  5787  6362  1486 x", "card ************1486 x"),
        ("card 4539.5787/6362 - 1486 x", "card ************1486 x"),
        ('b\'{"n": "4539\\u00a05787\\u00a06362\\u00a01486"}\'', "************1486"),
        ("at 2026-12-01T01:42:03.123Z in arn:aws:lambda:us-east-1:123456789012:function:f", "2026-12-01T01:42:03.123Z"),
        ("'CVV2':   '987'", "'CVV2':   '***'"),
        ("cvv=123 and 'cvv': '4567' and \"cvc\": \"999\"", "cvv=*** and 'cvv': '***' and \"cvc\": \"***\""),
    ],
)
def test_mask_card_data(redaction, text, expected):
    assert expected in redaction.mask_card_data(text)


def test_scrub_drops_verification_codes_and_masks_numbers_at_any_depth(redaction):
    scrubbed = redaction.scrub(
        {"card": {"number": PAN, "cvv": "123", "CVC2": "456"}, "pans": [int(PAN), PAN], PAN: "key", "ok": True}
    )
    assert scrubbed == {
        "card": {"number": "************1486"},
        "pans": ["************1486", "************1486"],
        "************1486": "key",
        "ok": True,
    }


def _powertools_line(redaction, log_call) -> str:
    from aws_lambda_powertools import Logger

    stream = io.StringIO()
    # A fresh service name: Powertools reuses the first handler configured for a name.
    logger = Logger(
        # Letters only: random digits in the name made the "no 123 in the line" checks fail now and then.
        service="redaction-test-" + "".join(random.choices(string.ascii_lowercase, k=24)),
        stream=stream,
        logger_formatter=redaction.CardDataRedactingFormatter(),
    )
    log_call(logger)
    return stream.getvalue()


@pytest.mark.parametrize(
    "log_call",
    [
        lambda logger: logger.info(f"charging {PAN}"),
        lambda logger: logger.info("charging %s", PAN),
        lambda logger: logger.info({"card": {"number": PAN, "cvv": "123"}}),
        lambda logger: logger.info("charging", extra={"card_number": PAN, "cvv": "123"}),
        lambda logger: logger.info(json.dumps({"number": PAN, "cvv": "123"})),
    ],
    ids=["f-string", "args", "dict message", "extra keys", "json text"],
)
def test_powertools_lines_carry_no_pan_or_cvv(redaction, log_call):
    line = _powertools_line(redaction, log_call)
    assert PAN not in line
    assert "************1486" in line
    assert "123" not in line
    json.loads(line)


def test_exception_text_is_masked(redaction):
    def log_failure(logger):
        try:
            raise ValueError(f"bad card {PAN}")
        except ValueError:
            logger.exception("failed")

    line = _powertools_line(redaction, log_failure)
    assert PAN not in line
    assert "bad card ************1486" in json.loads(line)["exception"]


@pytest.mark.parametrize("typed", ["4539--5787--6362--1486", "4539  5787  6362  1486", "4539.5787/6362.1486"])
def test_exception_text_with_any_punctuation_is_masked_by_both_hooks(redaction, typed):
    def fail():
        raise ValueError(f"bad card {typed} cvv: 321")

    def log_failure(logger):
        try:
            fail()
        except ValueError:
            logger.exception("failed")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    with patch.object(logging.root, "handlers", [handler]):
        redaction.protect_log_handlers()
        log_failure(logging.getLogger("botocore.test"))
    for output in (_powertools_line(redaction, log_failure), stream.getvalue()):
        assert "************1486" in output
        assert typed not in output and "5787" not in output
        assert "321" not in output


def test_root_handler_filter_masks_library_records(redaction):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    # The root logger with only this handler, standing in for Lambda's (pytest's stay unfiltered).
    with patch.object(logging.root, "handlers", [handler]):
        redaction.protect_log_handlers()
        redaction.protect_log_handlers()  # idempotent: one filter per handler
        assert sum(isinstance(f, redaction.CardDataRedactionFilter) for f in handler.filters) == 1
        library = logging.getLogger("botocore.endpoint.test")
        library.warning("Making request with params: %s", {"Payload": json.dumps({"card": {"number": PAN}})})
        library.warning("broken format %s %s", PAN)
        try:
            raise RuntimeError(PAN)
        except RuntimeError:
            library.exception("failed")
    output = stream.getvalue()
    assert PAN not in output
    assert output.count("************1486") == 3


def test_generated_pans_are_always_masked(redaction):
    for length, prefix in [(13, "4"), (16, "5"), (15, "37"), (19, "6011")]:
        pan = card_number(prefix, length)
        assert pan not in redaction.mask_card_data(f"pan={pan};")
