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


SHORTEST_CARD_NUMBER = 13
LONGEST_CARD_NUMBER = 19
# Digits separated by anything but ASCII letters and digits, in any number: "4111 1111", "4111--1111",
# "4111/1111", "4111 . 1111", "4111\n1111". A letter ends a run; so does a non-ASCII digit, which is not a digit here.
_DIGIT_RUN = re.compile(r"[0-9](?:[^0-9A-Za-z]*[0-9])*")
# An escape as serializers write one ("\u00a0" in JSON, "\xa0" or "\n" in a repr, with doubled backslashes
# after a second round): it stands for one separator, so its own hex digits must not join or split a run.
# The lookbehind starts a match at the first backslash of a run only, which keeps long backslash runs linear.
_ESCAPE = re.compile(r"(?<!\\)\\+(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|[abfnrtv])")
# A run this long holds a Luhn-valid 13-19 digit stretch all but certainly; it is treated as one unchecked.
_LONGEST_CHECKED_RUN = 40


def card_number_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` holds a card number: the (start, end) of each digit run (separators as above) with a
    Luhn-valid stretch of 13 to 19 consecutive digits. A card number glued to other digits is found too."""
    neutral = _ESCAPE.sub(lambda match: " " * len(match.group(0)), text) if "\\" in text else text
    spans = []
    for run in _DIGIT_RUN.finditer(neutral):
        digits = re.sub(r"[^0-9]", "", run.group(0))
        if len(digits) >= SHORTEST_CARD_NUMBER and _has_luhn_valid_stretch(digits):
            spans.append(run.span())
    return spans


def contains_card_number(text: str) -> bool:
    return bool(card_number_spans(text))


def _has_luhn_valid_stretch(digits: str) -> bool:
    if len(digits) > _LONGEST_CHECKED_RUN:
        return True
    return any(
        passes_luhn(digits[start : start + length])
        for length in range(SHORTEST_CARD_NUMBER, min(LONGEST_CARD_NUMBER, len(digits)) + 1)
        for start in range(len(digits) - length + 1)
    )


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
