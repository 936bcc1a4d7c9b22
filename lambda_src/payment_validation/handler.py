"""payment_validation: checks a payment request and replaces the card with a token.

Invoked synchronously by transaction_processing with the client's request as the event:

    {"amount": "10.50", "currency": "USD", "merchant_id": "...", "customer_id": "...",
     "merchant_category_code": "5411", "billing_country": "US", "ip_country": "US",
     "card": {"number": "4111 1111 1111 1111", "expiry_month": 12, "expiry_year": 2030, "cvv": "123"}}

`billing_country` and `ip_country` are optional. A card number anywhere but in `card.number` (a field's name
or value, at any depth; see payments_common.card_data) is refused before anything else is checked.

It answers `{"valid": true, "payment": {...}, "card":
{"token", "last4", "brand"}}` (see payments_common.contracts) or `{"valid": false, "errors": [{"field",
"message"}]}`. The answer never contains the card number or the verification code; the token is the
HMAC-SHA256 (hex) of the card number's digits under the key in `secure/card-token-key`, so the same card
always gets the same token (fraud velocity relies on that) and the token cannot be reversed without the key.

A rejection is an answer, not an error: only a broken configuration makes the function fail.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Optional

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from payments_common import settings, ssm_contract
from payments_common.card_data import CARD_NUMBER_FIELD, card_data_errors
from payments_common.cards import brand_of, card_number_digits, passes_luhn
from payments_common.clock import utc_now
from payments_common.contracts import (
    IDENTIFIER_LENGTHS,
    IDENTIFIER_PATTERN,
    IDENTIFIER_RULE,
    STRICT_MODEL,
    CardReference,
    NormalizedPayment,
    ValidatedPayment,
    field_errors,
)
from payments_common.countries import ISO_3166_ALPHA_2
from payments_common.currencies import MINOR_UNITS, format_amount
from payments_common.redaction import CardDataRedactingFormatter, protect_log_handlers
from pydantic import AfterValidator, BaseModel, Field, ValidationError, ValidationInfo, field_validator

logger = Logger(logger_formatter=CardDataRedactingFormatter())
tracer = Tracer()
protect_log_handlers()

# Card numbers are few enough to enumerate, so tokens are only as safe as the key is hard to guess.
SHORTEST_TOKEN_KEY = 32
# Card schemes issue cards valid for at most about ten years; twenty leaves room without accepting typos.
LONGEST_EXPIRY_YEARS = 20

_AMOUNT_TEXT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?")
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
_MERCHANT_CATEGORY_CODE = re.compile(r"[0-9]{4}")
_CONFIGURED_CURRENCY = re.compile(r"[A-Z]{3}")
_CURRENCY_CODE = re.compile(r"[A-Za-z]{3}")
_COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")
_CVV = re.compile(r"[0-9]{3,4}")


class ConfigurationError(RuntimeError):
    """A parameter this function reads is missing or invalid; the invocation fails rather than guess."""


class ValidationLimits(BaseModel):
    """The `validation/limits` parameter: the accepted currencies are its keys."""

    model_config = STRICT_MODEL

    max_amount: dict[str, Decimal] = Field(min_length=1)

    @field_validator("max_amount", mode="before")
    @classmethod
    def _amounts_are_decimal_text(cls, value: Any) -> Any:
        # Strict mode would refuse "25000.00"; the parameter writes amounts as text so they stay exact.
        if not isinstance(value, dict):
            return value
        try:
            return {currency: Decimal(str(amount)) for currency, amount in value.items()}
        except InvalidOperation:
            raise ValueError("must map currency codes to decimal amounts") from None

    @field_validator("max_amount")
    @classmethod
    def _positive_amounts_by_currency_code(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if not _CONFIGURED_CURRENCY.fullmatch(currency) or not amount > 0:
                raise ValueError("must map upper-case currency codes to amounts greater than zero")
        return value

    def usable_currencies(self) -> list[str]:
        return sorted(currency for currency in self.max_amount if currency in MINOR_UNITS)


def _limits(info: ValidationInfo) -> ValidationLimits:
    return info.context["limits"]


def _identifier(value: str) -> str:
    shortest, longest = IDENTIFIER_LENGTHS
    if not shortest <= len(value) <= longest or not _IDENTIFIER.fullmatch(value):
        raise ValueError(IDENTIFIER_RULE)
    return value


def _country(value: str) -> str:
    # ASCII first: upper-casing other text can produce a valid code ("ß".upper() == "SS").
    code = value.upper() if _COUNTRY_CODE.fullmatch(value) else ""
    if code not in ISO_3166_ALPHA_2:
        raise ValueError('must be an ISO 3166-1 alpha-2 country code such as "US"')
    return code


Identifier = Annotated[str, AfterValidator(_identifier)]
CountryCode = Annotated[str, AfterValidator(_country)]


class CardDetails(BaseModel):
    model_config = STRICT_MODEL

    # repr=False: printing or logging the model must not show the card number or verification code.
    number: str = Field(repr=False)
    expiry_month: int
    expiry_year: int
    cvv: str = Field(repr=False)

    @field_validator("number")
    @classmethod
    def _valid_card_number(cls, value: str) -> str:
        digits = card_number_digits(value)
        if digits is None:
            raise ValueError("must contain only digits, optionally grouped with spaces or dashes")
        brand = brand_of(digits)
        if brand is None:
            raise ValueError("is not from a supported card brand (Visa, Mastercard, American Express, Discover)")
        if len(digits) not in brand.lengths:
            raise ValueError(
                f"has {len(digits)} digits, but {brand.display_name} card numbers have {brand.describe_lengths()}"
            )
        if not passes_luhn(digits):
            raise ValueError("is not a valid card number (its check digit is wrong)")
        return digits

    @field_validator("expiry_month")
    @classmethod
    def _month(cls, value: int) -> int:
        if not 1 <= value <= 12:
            raise ValueError("must be a month number from 1 to 12")
        return value

    @field_validator("expiry_year")
    @classmethod
    def _not_expired(cls, value: int, info: ValidationInfo) -> int:
        today: date = info.context["today"]
        if not 2000 <= value <= today.year + LONGEST_EXPIRY_YEARS:
            raise ValueError(f"must be a four-digit year no later than {today.year + LONGEST_EXPIRY_YEARS}")
        month = info.data.get("expiry_month")
        # A card is valid through the last day of its expiry month.
        if month is not None and (value, month) < (today.year, today.month):
            raise ValueError(f"is in the past: the card expired at the end of {month:02d}/{value}")
        return value

    @field_validator("cvv")
    @classmethod
    def _cvv_fits_brand(cls, value: str, info: ValidationInfo) -> str:
        number = info.data.get("number")
        brand = brand_of(number) if number else None
        if brand is None:
            if not _CVV.fullmatch(value):
                raise ValueError("must be 3 digits (4 for American Express)")
        elif len(value) != brand.cvv_length or not _CVV.fullmatch(value):
            raise ValueError(f"must be {brand.cvv_length} digits for {brand.display_name}")
        return value


class PaymentRequest(BaseModel):
    """The client's request. Fields are checked in declaration order, and `amount` needs the currency."""

    model_config = STRICT_MODEL

    currency: str
    amount: str
    merchant_id: Identifier
    customer_id: Identifier
    merchant_category_code: str
    # Optional[...] rather than "X | None": pydantic evaluates annotations, and that syntax fails on 3.9.
    billing_country: Optional[CountryCode] = None  # noqa: UP045
    ip_country: Optional[CountryCode] = None  # noqa: UP045
    card: CardDetails

    @field_validator("currency")
    @classmethod
    def _accepted_currency(cls, value: str, info: ValidationInfo) -> str:
        if not _CURRENCY_CODE.fullmatch(value):
            raise ValueError('must be a three-letter ISO 4217 currency code such as "USD"')
        code = value.upper()
        limits = _limits(info)
        if code not in limits.usable_currencies():
            if code in limits.max_amount:
                logger.error("configured currency has no ISO 4217 minor-unit entry", extra={"currency": code})
            raise ValueError(f"{code} is not accepted (accepted: {', '.join(limits.usable_currencies())})")
        return code

    @field_validator("amount")
    @classmethod
    def _amount_within_limits(cls, value: str, info: ValidationInfo) -> str:
        if not _AMOUNT_TEXT.fullmatch(value):
            raise ValueError('must be a decimal number written as a string, such as "10.50"')
        amount = Decimal(value)
        if amount <= 0:
            raise ValueError("must be greater than zero")
        currency = info.data.get("currency")
        if currency is None:
            return value  # the currency's own error is reported; nothing to compare with
        minor_units = MINOR_UNITS[currency]
        decimals = len(value.partition(".")[2])
        if decimals > minor_units:
            if minor_units == 0:
                raise ValueError(f"must be a whole number for {currency}, which has no minor unit")
            raise ValueError(f"has {decimals} decimal places, but {currency} allows at most {minor_units}")
        maximum = _limits(info).max_amount[currency]
        if amount > maximum:
            raise ValueError(f"exceeds the maximum of {format_amount(maximum, currency)} {currency}")
        return format_amount(amount, currency)

    @field_validator("merchant_category_code")
    @classmethod
    def _merchant_category_code(cls, value: str) -> str:
        if not _MERCHANT_CATEGORY_CODE.fullmatch(value):
            raise ValueError("must be a four-digit ISO 18245 merchant category code")
        return value


def _card_token_key() -> bytes:
    key = settings.read(ssm_contract.CARD_TOKEN_KEY)
    if len(key) < SHORTEST_TOKEN_KEY:
        raise ConfigurationError(f"{ssm_contract.CARD_TOKEN_KEY.name} must be at least {SHORTEST_TOKEN_KEY} characters")
    return key.encode()


def _load_limits() -> ValidationLimits:
    try:
        return ValidationLimits.model_validate(settings.read(ssm_contract.VALIDATION_LIMITS))
    except ValidationError as error:
        raise ConfigurationError(f"{ssm_contract.VALIDATION_LIMITS.name} is invalid: {error}") from None


def tokenize(card: CardDetails, key: bytes) -> CardReference:
    brand = brand_of(card.number)
    return CardReference(
        token=hmac.new(key, card.number.encode(), hashlib.sha256).hexdigest(),
        last4=card.number[-4:],
        brand=brand.name,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    limits = _load_limits()
    key = _card_token_key()
    misplaced = card_data_errors(event, permitted={CARD_NUMBER_FIELD: None})
    if misplaced:
        logger.info("payment request rejected", extra={"rejected_fields": [item["field"] for item in misplaced]})
        return {"valid": False, "errors": misplaced}
    try:
        request = PaymentRequest.model_validate(event, context={"limits": limits, "today": utc_now().date()})
    except ValidationError as error:
        errors = field_errors(error)
        logger.info("payment request rejected", extra={"rejected_fields": [item["field"] for item in errors]})
        return {"valid": False, "errors": errors}
    payment = NormalizedPayment(**request.model_dump(exclude={"card"}))
    card = tokenize(request.card, key)
    logger.info("payment request valid", extra={"merchant_id": payment.merchant_id, "card_brand": card.brand})
    return ValidatedPayment(payment=payment, card=card).model_dump(mode="json")
