"""ISO 4217 minor units of the currencies this platform can process.

Which currencies are accepted is configuration (the keys of the `validation/limits` parameter); this table
only says how many decimal places each may carry. A configured currency missing here is refused rather than
guessed, because assuming two decimals for, say, KWD (three) would silently accept wrong amounts.
"""

from __future__ import annotations

from decimal import Decimal

MINOR_UNITS: dict[str, int] = {
    "AUD": 2,
    "BHD": 3,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CLP": 0,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "INR": 2,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "OMR": 3,
    "PLN": 2,
    "SEK": 2,
    "SGD": 2,
    "TND": 3,
    "USD": 2,
    "VND": 0,
    "ZAR": 2,
}


def format_amount(amount: Decimal, currency: str) -> str:
    """The amount written with exactly the currency's minor-unit digits, e.g. 10.5 USD -> "10.50"."""
    return str(amount.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency])))
