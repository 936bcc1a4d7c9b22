"""Keeps card data out of logs (PCI DSS v4.0 3.3.1: no card verification code once authorized; 3.5.1: no
readable PAN wherever it is stored, log groups included): whatever a log call is handed, no line leaves the
function with a full PAN or a card verification code in it.

Two hooks, because two kinds of log lines leave a function:

- `CardDataRedactingFormatter` formats our Powertools loggers: it drops verification-code keys from the
  structured record, then masks PAN-like digit runs in the serialized line (which also covers exception
  text and objects that were turned into strings);
- `CardDataRedactionFilter`, installed on the root logger's handlers by `protect_root_log_handlers`, covers
  records from libraries (botocore logs request bodies at DEBUG, and the Lambda invoke body carries the
  card number).

Masking cannot tell a PAN from another long number, so it masks every run of 13 or more digits (spaces and
dashes allowed between them, as in "4111 1111 1111 1111"): a log line losing an unrelated long number is
the acceptable price for never leaking a card number.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

# Runs longer than 19 digits are masked too: a PAN glued to other digits must not escape by being "too long".
_PAN_LIKE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,}")
_VERIFICATION_KEYS = frozenset({"cvv", "cvv2", "cvc", "cvc2", "cid", "security_code"})
# A verification code written out as text, e.g. "cvv=123" or the repr of a dict ('cvv': '123'); the optional
# backslashes cover the same text after JSON escaping.
_VERIFICATION_TEXT = re.compile(
    r"""((?:cvv2?|cvc2?|security_code)(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?)[0-9]{3,4}(?![0-9])""",
    re.IGNORECASE,
)
_MASK = "*" * 12
_SMALLEST_PAN = 10**12


def _mask_pan(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return _MASK + digits[-4:]


def mask_card_data(text: str) -> str:
    """The text with every PAN-like digit run reduced to its last four digits and verification codes masked."""
    return _VERIFICATION_TEXT.sub(r"\1***", _PAN_LIKE.sub(_mask_pan, text))


def scrub(value: Any) -> Any:
    """A copy of a log payload without verification-code keys and with card numbers masked at any depth."""
    if isinstance(value, str):
        return mask_card_data(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) >= _SMALLEST_PAN:
        # As a JSON number it could not be masked in place without producing invalid JSON.
        return mask_card_data(str(value))
    if isinstance(value, dict):
        return {
            scrub(key): scrub(item)
            for key, item in value.items()
            if not (isinstance(key, str) and key.lower() in _VERIFICATION_KEYS)
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub(item) for item in value]
    return value


class CardDataRedactingFormatter(LambdaPowertoolsFormatter):
    """The Powertools JSON formatter, minus card data."""

    def serialize(self, log: dict[str, Any]) -> str:
        return mask_card_data(super().serialize(scrub(log)))


class CardDataRedactionFilter(logging.Filter):
    """Rewrites a plain logging record so that its message, exception and stack text carry no card data."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed library log call must not turn into an exception at the caller (filters run
            # outside the handler's error handling); its raw text is still masked.
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


def protect_root_log_handlers() -> None:
    """Installs `CardDataRedactionFilter` on every handler of the root logger (in Lambda: the runtime's)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, CardDataRedactionFilter) for existing in handler.filters):
            handler.addFilter(CardDataRedactionFilter())
