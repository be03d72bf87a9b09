"""Exact quantities: capacities and demands as the decimals written (TIER-MODEL "Inputs").

Every capacity and demand is a `Fraction`, so sums and comparisons are exact with no
tolerance anywhere: 3.6 + 8.8 + 8.8 + 8.8 is 30, and 30000.00002 exceeds 30000.

How a value becomes exact (`exact`):

* the text of a YAML scalar, kept by the config loader (`WrittenFloat`, below), or any
  decimal string ("3.6", "1e20", "0.000001"): the decimal it spells, digit for digit;
* an int: itself;
* a float from Python code (tests, a measured demand): the shortest decimal that reads back
  as that float, `repr(x)` ("3.6" for 3.6, not the binary 3.599999999999999866...). A
  decimal written with up to 15 significant digits always comes back as written;
* a `Fraction` or a finite `Decimal`: itself.

NaN, infinity, negatives and booleans are refused (`QuantityError`, a ValueError), and so
is any string that is not a plain decimal number.

Output: quantities go to JSON twice, as a float for display (`display`, saturating at the
largest float) and as the exact decimal text (`decimal_text`) in a `*_exact` field beside
it, because a float cannot hold 1e20 + 100.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

# A plain decimal number: digits with an optional point and exponent (no sign: negatives
# are refused anyway; no "inf", "nan", "1/3", "0x10").
_DECIMAL = re.compile(r"\+?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?")
_FLOAT_MAX = Fraction(sys.float_info.max)


class QuantityError(ValueError):
    """A value that cannot be a capacity or a demand."""


class WrittenFloat(float):
    """A float read from a file, which remembers the text it was written as.

    The config loader makes YAML floats of this type so that `exact` reads `3.6` as 36/10
    from its text (and `1.0e+400`, a float infinity, as the finite decimal it spells).
    Everywhere else it is an ordinary float.
    """

    text: str

    def __new__(cls, value: float, text: str | None = None) -> WrittenFloat:
        made = super().__new__(cls, value)
        made.text = repr(float(value)) if text is None else text
        return made

    def __reduce__(self) -> tuple[type[WrittenFloat], tuple[float, str]]:
        # copy and pickle keep the text (float's own reduction would drop it)
        return (WrittenFloat, (float(self), self.text))


def exact(value: object) -> Fraction:
    """The exact, finite, non-negative quantity `value` stands for; QuantityError if none."""
    if isinstance(value, bool):
        raise QuantityError(f"must be a number, not a boolean ({str(value).lower()})")
    if isinstance(value, Fraction):
        found = value
    elif isinstance(value, int):
        found = Fraction(value)
    elif isinstance(value, WrittenFloat):
        found = _from_text(value.text, value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"must be a finite number, got {value}")
        found = Fraction(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise QuantityError(f"must be a finite number, got {value}")
        found = Fraction(value)
    elif isinstance(value, str):
        found = _from_text(value, value)
    else:
        raise QuantityError(f"must be a number, got {type(value).__name__}")
    if found < 0:
        raise QuantityError(f"must be >= 0, got {decimal_text(-found, sign='-')}")
    return found


def _from_text(text: str, shown: object) -> Fraction:
    stripped = text.strip()
    if stripped.startswith("-") and _DECIMAL.fullmatch(stripped[1:]):
        raise QuantityError(f"must be >= 0, got {stripped}")
    if not _DECIMAL.fullmatch(stripped):
        raise QuantityError(f"must be a finite decimal number, got {shown!r}")
    return Fraction(stripped.replace("_", "").lstrip("+"))


def scale_for(values: Iterable[Fraction], start: int = 1) -> int:
    """The least multiple of `start` that makes every value a whole number (the LCM of
    `start` and the denominators)."""
    scale = start
    for value in values:
        den = value.denominator
        if scale % den:
            scale = scale * den // math.gcd(scale, den)
    return scale


def display(value: Fraction) -> float:
    """A float for display; the largest float for anything beyond (see `decimal_text`)."""
    return float(value) if value <= _FLOAT_MAX else sys.float_info.max


def decimal_text(value: Fraction, sign: str = "") -> str:
    """The exact decimal of a quantity: "3.6", "30000.00002", "100000000000000000100".

    Beyond 30 digits (1e308) it is written with an exponent, still exactly: "1E+308".
    A fraction with no finite decimal (none arises from decimal inputs) is written "p/q".
    """
    num, den = value.numerator, value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{sign}{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    digits = num * (2 ** (places - twos)) * (5 ** (places - fives))
    # digits / 10**places, exactly; trailing zeros carry no information
    exponent = -places
    while digits and digits % 10 == 0:
        digits //= 10
        exponent += 1
    text = str(digits)
    if digits == 0:
        return "0"
    if len(text) + exponent > 30 or -exponent > 30:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        power = exponent + len(text) - 1
        return f"{sign}{mantissa}E{'+' if power >= 0 else ''}{power}"
    if exponent >= 0:
        return sign + text + "0" * exponent
    point = len(text) + exponent
    if point > 0:
        return f"{sign}{text[:point]}.{text[point:]}"
    return f"{sign}0.{'0' * -point}{text}"
