"""Keeps card data out of logs (PCI DSS v4.0 3.3.1: no card verification code once authorized; 3.5.1: no
readable PAN wherever it is stored, log groups included): whatever a log call is handed, no line leaves the
function with a full PAN or a card verification code in it.

Two hooks, because two kinds of log lines leave a function:

- `CardDataRedactingFormatter` formats our Powertools loggers: it drops verification-code keys from the
  structured record, then masks PAN-like digit runs in the serialized line (which also covers exception
  text and objects that were turned into strings);
- `CardDataRedactionFilter`, installed by `protect_log_handlers` on the root logger's handlers (in Lambda,
  the runtime's) and on those of loggers that do not propagate to it (Powertools' own package logger gets
  a stdout handler when POWERTOOLS_DEBUG is set), covers records from libraries: botocore logs request
  and response bodies at DEBUG, and the Lambda invoke body carries the card number.

What counts as a card number is `cards.card_number_spans`: any run of digits separated by anything but
letters and digits (spaces, dashes, dots, slashes, repeated, escaped) with a Luhn-valid stretch of 13 to 19
digits; the whole run is masked to its last four digits. A log line losing an unrelated long number that
happens to pass the Luhn check is the acceptable price for never leaking a card number.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from payments_common.cards import card_number_spans

_VERIFICATION_KEYS = frozenset({"cvv", "cvv2", "cvc", "cvc2", "cvn", "cid", "security_code"})
# A verification code written out as text after its name, whatever stands between them: "cvv=123",
# "'cvv': '4567'", '\\"cvc\\": \\"999\\"' after JSON escaping, "card_cvv  :  123".
_VERIFICATION_TEXT = re.compile(
    r"((?<![A-Za-z])(?:cvv2?|cvc2?|cvn|cid|security_?code)[^0-9A-Za-z]{0,16})[0-9]{3,4}(?![0-9])", re.IGNORECASE
)
_MASK = "*" * 12
# ISO 8601 in UTC with a "Z": Powertools' default ("2026-12-01 01:42:03,123+0000") is one 21-digit run, which
# would be masked as a card number in every line.
LOG_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%FZ"


def mask_card_data(text: str) -> str:
    """The text with every card number reduced to its last four digits and verification codes masked."""
    spans = card_number_spans(text)
    if spans:
        parts, position = [], 0
        for start, end in spans:
            parts += [text[position:start], _MASK, re.sub(r"[^0-9]", "", text[start:end])[-4:]]
            position = end
        text = "".join(parts) + text[position:]
    return _VERIFICATION_TEXT.sub(r"\1***", text)


def scrub(value: Any) -> Any:
    """A copy of a log payload without verification-code keys and with card numbers masked at any depth;
    anything but JSON's own types becomes (masked) text, as the serializer would otherwise print it unmasked."""
    if isinstance(value, str):
        return mask_card_data(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        # As a JSON number it could not be masked in place without producing invalid JSON.
        text = repr(value)
        return value if not card_number_spans(text) else mask_card_data(text)
    if isinstance(value, dict):
        return {
            scrub(key): scrub(item)
            for key, item in value.items()
            if not (isinstance(key, str) and key.lower() in _VERIFICATION_KEYS)
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub(item) for item in value]
    return mask_card_data(str(value))


class CardDataRedactingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON formatter, minus card data, with timestamps that cannot look like card numbers."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"datefmt": LOG_TIMESTAMP_FORMAT, "utc": True, **options})

    def serialize(self, log: dict[str, Any]) -> str:
        return mask_card_data(super().serialize(scrub(log)))


class CardDataRedactionFilter(logging.Filter):
    """Rewrites a plain logging record so that its message, exception and stack text carry no card data."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A malformed library log call (or an argument whose str() fails) must not turn into an exception
            # at the caller: filters run outside the handler's error handling. Its raw text is still masked.
            message = f"{record.msg} {record.args}"
        record.msg = mask_card_data(message)
        record.args = None
        if record.exc_info:
            record.exc_text = mask_card_data(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask_card_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_card_data(record.stack_info)
        return True


def protect_log_handlers() -> None:
    """Installs `CardDataRedactionFilter` on every handler that can write a library's records: the root
    logger's and those of loggers that keep their records to themselves. Handlers formatted by
    `CardDataRedactingFormatter` need none (the filter would flatten their structured messages)."""
    loggers = [logging.getLogger()] + [
        candidate
        for candidate in logging.root.manager.loggerDict.values()
        if isinstance(candidate, logging.Logger) and not candidate.propagate
    ]
    for handler in (handler for logger in loggers for handler in logger.handlers):
        protected = isinstance(handler.formatter, CardDataRedactingFormatter) or any(
            isinstance(existing, CardDataRedactionFilter) for existing in handler.filters
        )
        if not protected:
            handler.addFilter(CardDataRedactionFilter())
