"""Numbers as configs and command lines write them: ``0.0625``, ``"1/16"``, ``"0.5"``, ``3``.

One parser for every such value (CBRs, SNRs, code rates): callers add the message that names the
setting and the fix.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction


def is_whole(value: object) -> bool:
    """True for a whole number (``int``, numpy integers), not a boolean (``True`` is an int to Python)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def parse_number(value: object) -> float:
    """A finite number from an int, a float or a string holding a decimal or a fraction ``a/b``.

    Raises:
        ValueError: booleans, other types, malformed text, a zero denominator, inf or NaN.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean, not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            top, slash, bottom = value.strip().partition("/")
            number = float(Fraction(top.strip())) / float(Fraction(bottom.strip())) if slash \
                else float(Fraction(top.strip()))  # "1/16", "682.5/1024", "0.5"
        except ZeroDivisionError:
            raise ValueError(f"{value!r} divides by zero") from None
        except ValueError:
            try:
                number = float(value)  # "inf", "nan": numbers, refused below as not finite
            except ValueError:
                raise ValueError(f"{value!r} is not a number or a fraction a/b") from None
    else:
        raise ValueError(f"{value!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number
