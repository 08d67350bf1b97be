"""Modulation and coding schemes (MCS): a QAM order plus a 5G NR LDPC code rate.

An MCS is written ``"<modulation>-<rate>"``, e.g. ``"qpsk-1/2"`` or ``"16qam-2/3"``; configs may also
give ``{modulation: 16qam, code_rate: 0.5}``. The code rate must lie in the range the 5G NR LDPC
code supports here (:data:`~testbed.codecs.digital.ldpc.codeword_plan.MIN_REPEATED_RATE` = 1/10 with
repetition below 1/5, to :data:`~testbed.codecs.digital.ldpc.codeword_plan.MAX_CODE_RATE` = 948/1024).
The MCS index tables of TS 38.214 are in :mod:`.mcs_tables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from testbed.codecs.digital.ldpc.codeword_plan import MAX_CODE_RATE, MIN_REPEATED_RATE
from testbed.core.errors import ConfigError
from testbed.core.numbers import parse_number

#: Supported square QAM orders -> bits per symbol (Gray-labelled, unit average energy).
BITS_PER_SYMBOL: dict[str, int] = {"qpsk": 2, "16qam": 4, "64qam": 6, "256qam": 8}


@dataclass(frozen=True)
class MCS:
    """One modulation and coding scheme.

    Attributes:
        modulation: ``"qpsk"``, ``"16qam"``, ``"64qam"`` or ``"256qam"``.
        code_rate: LDPC code rate (information bits / coded bits), in
            [``MIN_REPEATED_RATE``, ``MAX_CODE_RATE``] = [1/10, 948/1024] (repetition below 1/5).
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
        if not MIN_REPEATED_RATE <= rate <= MAX_CODE_RATE:
            raise ConfigError(
                f"MCS code_rate {rate:g} is outside what 5G NR LDPC supports here: "
                f"{MIN_REPEATED_RATE:g} <= rate <= {MAX_CODE_RATE:.4f} (948/1024; below 1/5 by repetition)"
            )
        object.__setattr__(self, "code_rate", rate)

    @property
    def bits_per_symbol(self) -> int:
        """Coded bits per QAM symbol: 2, 4, 6 or 8."""
        return BITS_PER_SYMBOL[self.modulation]

    @property
    def label(self) -> str:
        """Stable name for results rows: ``"qpsk-1/2"``, ``"16qam-2/3"`` for rates that are simple
        fractions, else the 38.214 form in 1024ths, ``"qpsk-120/1024"``, ``"256qam-682.5/1024"``."""
        frac = Fraction(self.code_rate).limit_denominator(16)
        if abs(float(frac) - self.code_rate) < 1e-9:
            return f"{self.modulation}-{frac.numerator}/{frac.denominator}"
        return f"{self.modulation}-{round(self.code_rate * 1024, 3):g}/1024"

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
