"""Card brands we accept, identified by their leading digits (IIN ranges), and the Luhn check digit."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Digits in groups separated by single spaces or dashes, as people type them; ASCII digits only, because
# `str.isdigit` and regex `\d` would also accept characters such as "٣" or "²".
_CARD_NUMBER_TEXT = re.compile(r"[0-9]+(?:[ -][0-9]+)*")


@dataclass(frozen=True)
class CardBrand:
    name: str
    display_name: str
    # Inclusive ranges of leading digits; both ends of a range have the same number of digits.
    iin_ranges: tuple[tuple[int, int], ...]
    lengths: tuple[int, ...]
    cvv_length: int

    def owns(self, digits: str) -> bool:
        for low, high in self.iin_ranges:
            width = len(str(low))
            if len(digits) >= width and low <= int(digits[:width]) <= high:
                return True
        return False

    def describe_lengths(self) -> str:
        words = [str(length) for length in self.lengths]
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


BRANDS: tuple[CardBrand, ...] = (
    CardBrand("visa", "Visa", ((4, 4),), (13, 16, 19), 3),
    CardBrand("mastercard", "Mastercard", ((51, 55), (2221, 2720)), (16,), 3),
    CardBrand("amex", "American Express", ((34, 34), (37, 37)), (15,), 4),
    CardBrand("discover", "Discover", ((6011, 6011), (65, 65), (644, 649)), (16, 19), 3),
)


def card_number_digits(text: str) -> str | None:
    """The digits of a card number typed with optional spaces or dashes, or None if it is not such text."""
    if not _CARD_NUMBER_TEXT.fullmatch(text):
        return None
    return text.replace(" ", "").replace("-", "")


def brand_of(digits: str) -> CardBrand | None:
    return next((brand for brand in BRANDS if brand.owns(digits)), None)


def passes_luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0
