"""Modulation and coding schemes (MCS): a QAM order plus a 5G NR LDPC code rate.

An MCS is written ``"<modulation>-<rate>"``, e.g. ``"qpsk-1/2"`` or ``"16qam-2/3"``; configs may also
give ``{modulation: 16qam, code_rate: 0.5}``. The code rate must lie in the range the 5G NR LDPC
code supports without repetition (see :data:`~testbed.codecs.digital.ldpc.ldpc5g.MIN_CODE_RATE` and
:data:`~testbed.codecs.digital.ldpc.ldpc5g.MAX_CODE_RATE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from testbed.codecs.digital.ldpc.ldpc5g import MAX_CODE_RATE, MIN_CODE_RATE
from testbed.core.errors import ConfigError
from testbed.core.numbers import parse_number

#: Supported square QAM orders -> bits per symbol (Gray-labelled, unit average energy).
BITS_PER_SYMBOL: dict[str, int] = {"qpsk": 2, "16qam": 4, "64qam": 6}


@dataclass(frozen=True)
class MCS:
    """One modulation and coding scheme.

    Attributes:
        modulation: ``"qpsk"``, ``"16qam"`` or ``"64qam"``.
        code_rate: LDPC code rate (information bits / coded bits), in
            [``MIN_CODE_RATE``, ``MAX_CODE_RATE``] = [1/5, 948/1024].
    """

    modulation: str
    code_rate: float

    def __post_init__(self) -> None:
        if self.modulation not in BITS_PER_SYMBOL:
            raise ConfigError(
                f"unknown modulation {self.modulation!r}: choose one of {sorted(BITS_PER_SYMBOL)}"
            )
        rate = self.code_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise ConfigError(f"MCS code_rate must be a number, got {rate!r}")
        rate = float(rate)
        if not 0.0 < rate < 1.0:
            raise ConfigError(f"MCS code_rate must lie in (0, 1), got {rate!r}")
        if not MIN_CODE_RATE <= rate <= MAX_CODE_RATE:
            raise ConfigError(
                f"MCS code_rate {rate:g} is outside what 5G NR LDPC supports "
                f"(Sionna LDPC5GEncoder, no repetition): {MIN_CODE_RATE:g} (1/5) <= rate <= "
                f"{MAX_CODE_RATE:.4f} (948/1024)"
            )
        object.__setattr__(self, "code_rate", rate)

    @property
    def bits_per_symbol(self) -> int:
        """Coded bits per QAM symbol: 2, 4 or 6."""
        return BITS_PER_SYMBOL[self.modulation]

    @property
    def label(self) -> str:
        """Stable name for results rows, e.g. ``"qpsk-1/2"``, ``"16qam-2/3"``."""
        frac = Fraction(self.code_rate).limit_denominator(16)
        return f"{self.modulation}-{frac.numerator}/{frac.denominator}"

    def __str__(self) -> str:
        return self.label


def _parse_rate(value: object, context: str) -> float:
    """``0.5``, ``"1/2"`` or ``"0.5"`` -> float; anything else is a :class:`ConfigError`."""
    try:
        return parse_number(value)
    except ValueError:
        raise ConfigError(f"{context}: code rate must be a number or a fraction like '1/2', not {value!r}") from None


def parse_mcs(obj: object) -> MCS:
    """An :class:`MCS`, a label ``"16qam-1/2"`` or a mapping ``{modulation, code_rate}`` -> :class:`MCS`.

    Raises:
        ConfigError: unknown modulation, malformed label, or a code rate outside (0, 1) or outside
            the 5G NR LDPC range [1/5, 948/1024].
    """
    if isinstance(obj, MCS):
        return obj
    if isinstance(obj, str):
        text = obj.strip().lower()
        modulation, sep, rate = text.partition("-")
        if not sep or not modulation or not rate:
            raise ConfigError(
                f"cannot read MCS {obj!r}: write '<modulation>-<code rate>', "
                "e.g. 'qpsk-1/2' or '16qam-2/3'"
            )
        return MCS(modulation.strip(), _parse_rate(rate, f"MCS {obj!r}"))
    if isinstance(obj, Mapping):
        keys = set(obj.keys())
        if keys != {"modulation", "code_rate"}:
            raise ConfigError(
                "an MCS mapping needs exactly the keys 'modulation' and 'code_rate', "
                f"got {sorted(map(str, keys))}"
            )
        modulation = obj["modulation"]
        if not isinstance(modulation, str):
            raise ConfigError(f"MCS modulation must be a string, got {modulation!r}")
        return MCS(modulation.strip().lower(), _parse_rate(obj["code_rate"], f"MCS {dict(obj)!r}"))
    raise ConfigError(
        f"cannot read MCS from {obj!r} ({type(obj).__name__}): give a label like '16qam-1/2' "
        "or a mapping {modulation, code_rate}"
    )


#: MCS table for the AWGN envelope (per SNR, the best entry is plotted).
AWGN_MCS_TABLE: tuple[MCS, ...] = (
    MCS("qpsk", 1 / 3),
    MCS("qpsk", 1 / 2),
    MCS("qpsk", 2 / 3),
    MCS("16qam", 1 / 2),
    MCS("16qam", 2 / 3),
    MCS("64qam", 1 / 2),
)
