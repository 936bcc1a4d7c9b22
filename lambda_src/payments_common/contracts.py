"""The payloads the payment functions exchange, defined once so that producer and consumers agree.

transaction_processing sends the client's request to payment_validation, which answers `ValidatedPayment`
or `ValidationRejection`; it then sends the `ValidatedPayment` plus a `transaction_id` to fraud_detection,
which answers `RiskAssessment`. None of them carries a card number or verification code: after validation the
card is known only by its HMAC token, last four digits and brand.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from payments_common.cards import contains_card_number
from payments_common.redaction import mask_card_data

# Merchant and customer ids: 3 to 64 letters, digits, "_" and "-", with at most 12 digits between two letters
# ("_" and "-" do not separate digits), so that no identifier can hold a card number however it is punctuated.
# Written without look-arounds, so that the API's JSON schema (draft 4) can use the same pattern; the length
# is checked separately (`minLength`/`maxLength` there).
IDENTIFIER_PATTERN = r"^[_-]*(?:[0-9][_-]*){0,12}(?:[A-Za-z][A-Za-z_-]*(?:[0-9][_-]*){0,12})*$"
IDENTIFIER_LENGTHS = (3, 64)
IDENTIFIER_RULE = "must be 3 to 64 letters, digits, '_' or '-', with at most 12 digits between two letters"
IdentifierText = Annotated[
    str, Field(pattern=IDENTIFIER_PATTERN, min_length=IDENTIFIER_LENGTHS[0], max_length=IDENTIFIER_LENGTHS[1])
]
# No payload of ours is nested deeper than this; deeper input is refused before it is processed.
MAX_NESTING = 16

# hide_input_in_errors: a validation error must never carry the rejected value, which may be a card number.
STRICT_MODEL = ConfigDict(extra="forbid", strict=True, frozen=True, hide_input_in_errors=True)


class NormalizedPayment(BaseModel):
    model_config = STRICT_MODEL

    amount: str = Field(pattern=r"^[0-9]{1,18}(\.[0-9]{1,3})?$")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    merchant_id: IdentifierText
    customer_id: IdentifierText
    merchant_category_code: str = Field(pattern=r"^[0-9]{4}$")
    # Optional[...] rather than "X | None": pydantic evaluates annotations, and that syntax fails on 3.9.
    billing_country: Optional[str] = Field(default=None, pattern=r"^[A-Z]{2}$")  # noqa: UP045
    ip_country: Optional[str] = Field(default=None, pattern=r"^[A-Z]{2}$")  # noqa: UP045


# HMAC-SHA256 in hex (see payment_validation).
TOKEN_PATTERN = r"^[0-9a-f]{64}$"


class CardReference(BaseModel):
    model_config = STRICT_MODEL

    token: str = Field(pattern=TOKEN_PATTERN)
    last4: str = Field(pattern=r"^[0-9]{4}$")
    brand: Literal["visa", "mastercard", "amex", "discover"]


class ValidatedPayment(BaseModel):
    model_config = STRICT_MODEL

    valid: Literal[True] = True
    payment: NormalizedPayment
    card: CardReference


class FieldError(BaseModel):
    model_config = STRICT_MODEL

    field: str
    message: str


class ValidationRejection(BaseModel):
    model_config = STRICT_MODEL

    valid: Literal[False] = False
    errors: list[FieldError] = Field(min_length=1)


class RiskReason(BaseModel):
    model_config = STRICT_MODEL

    rule: str
    points: int = Field(ge=0, le=100)
    detail: str


class RiskAssessment(BaseModel):
    model_config = STRICT_MODEL

    score: int = Field(ge=0, le=100)
    decision: Literal["approve", "review", "decline"]
    reasons: list[RiskReason]


_PHRASES = {
    "missing": "is required",
    "extra_forbidden": "is not an accepted field",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "string_pattern_mismatch": "has an invalid format",
    "string_too_short": "is too short",
    "string_too_long": "is too long",
    "literal_error": "has a value that is not allowed",
}
_LONGEST_FIELD_PART = 40
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")


def field_path(location: tuple[int | str, ...], root: str) -> str:
    """The field at `location` as clients write it (`card.number`, `items[0]`); an unusual name is quoted."""
    if not location:
        return root
    parts = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _PLAIN_NAME.fullmatch(part) and not contains_card_number(part):
            parts.append(f".{part}" if parts else part)
        else:
            # An unknown key is client text: masked in case it is a card number, shortened, and quoted so
            # that even an empty or blank key names something.
            text = mask_card_data(part)
            text = text if len(text) <= _LONGEST_FIELD_PART else text[:_LONGEST_FIELD_PART] + "..."
            parts.append(f"[{json.dumps(text)}]")
    return "".join(parts)


def field_errors(error: ValidationError, root: str = "request") -> list[dict[str, str]]:
    """One `{"field", "message"}` per problem; each message names the field and never quotes its value.

    Custom validators raise ValueError with a phrase that continues the field name ("must be ...").
    """
    errors = []
    for detail in error.errors(include_url=False, include_input=False, include_context=True):
        field = field_path(detail["loc"], root)
        if detail["type"] == "value_error":
            phrase = str(detail["ctx"]["error"])
        else:
            # Not pydantic's own text: it can name our classes ("instance of CardDetails").
            phrase = _PHRASES.get(detail["type"], "is invalid")
        errors.append({"field": field, "message": f"{field} {phrase}"})
    return errors
