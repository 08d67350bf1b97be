"""5G NR LDPC code-block layout (TS 38.212 §5.2.2, §5.4.2): how a payload becomes codewords.

Pure arithmetic, no Sionna: a payload of B bits is split into ``C = ceil(B / K_max)`` codewords of
equal length ``k = ceil(B / C)`` (the last one zero-padded), each rate-matched to ``n = ceil(k / R)``
coded bits (:func:`plan_codewords`, used by :meth:`~.ldpc5g.LDPC5G.plan`).

Constraints found in Sionna 2.2 (``fec/ldpc/encoding.py``) and how :func:`plan_codewords` meets them:

- 12 <= k <= 8448 (BG1 maximum): short payloads are zero-padded up to k = 12.
- 1/5 <= k/n <= 0.95 (a warning above 948/1024, the 38.212 limit): ``n = ceil(k / R)`` keeps
  k/n <= R. Rates below 1/5 (down to 1/10; the TS 38.214 MCS tables start at 120/1024) send the
  rate-1/5 codeword repeated cyclically up to n bits, which is where 38.212's circular buffer
  wraps; the receiver adds the LLRs of the copies before decoding.
- BG1 needs k/n >= 1/3 and BG2 needs k <= 3840; Sionna picks BG1 for k > 3824 unless k/n <= 1/4,
  so for R < 1/3 segments are capped at k <= 3824 (BG2), as 38.212 segments for BG2.
- Decodability (found by noiseless round trips, not a Sionna check): at the highest rates and
  small k (BG2, k < ~300) the rate-matched code does not decode even without noise unless at
  least floor(Z/2) + 1 parity bits are sent (Z = lifting size); the plan adds those few bits.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from fractions import Fraction

import torch

from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole

MIN_CODE_RATE: float = 1 / 5  #: lowest rate without repetition coding (BG2 mother code)
#: lowest rate accepted at all: below 1/5 the rate-1/5 codeword is repeated (38.212's circular
#: buffer wrapping around), as the lowest entries of the TS 38.214 MCS tables need (120/1024)
MIN_REPEATED_RATE: float = 1 / 10
MAX_CODE_RATE: float = 948 / 1024  #: highest rate allowed by 38.212 §5.4.2.1
MIN_K: int = 12  #: smallest information length Sionna's LDPC5GEncoder accepts
MAX_K: int = 8448  #: largest information length (BG1, Z = 384)
MAX_K_BELOW_THIRD: int = 3824  #: largest k for which Sionna selects BG2 at rates in (1/4, 1/3)
#: 38.212 Table 5.3.2-1 lifting sizes Z.
LIFTING_SIZES: tuple[int, ...] = tuple(
    sorted(a * 2**j for a in (2, 3, 5, 7, 9, 11, 13, 15) for j in range(8) if a * 2**j <= 384)
)


@dataclass(frozen=True)
class CodewordPlan:
    """Code-block layout for one payload.

    Attributes:
        k: information bits per codeword (payload share plus zero padding).
        n: coded bits per codeword after rate matching.
        num_codewords: number of codewords C.
        payload_bits: bits actually carried (<= num_codewords * k); defaults to num_codewords * k.
        mother_n: bits of the rate-matched LDPC codeword when ``n`` exceeds it (rates below 1/5:
            the codeword is repeated cyclically up to ``n`` bits, and the receiver adds the LLRs
            of the copies); defaults to ``n``.
        coded_bits: num_codewords * n, the bits handed to the modulator.
    """

    k: int
    n: int
    num_codewords: int
    payload_bits: int | None = None
    mother_n: int | None = None
    coded_bits: int = field(init=False)

    def __post_init__(self) -> None:
        if self.payload_bits is None:
            object.__setattr__(self, "payload_bits", self.num_codewords * self.k)
        if self.mother_n is None:
            object.__setattr__(self, "mother_n", self.n)
        if not 0 < self.mother_n <= self.n:
            raise ValueError(f"mother_n={self.mother_n} must lie in (0, n={self.n}]")
        if not 0 <= self.payload_bits <= self.num_codewords * self.k:
            raise ValueError(
                f"payload_bits={self.payload_bits} does not fit {self.num_codewords} x k={self.k}"
            )
        object.__setattr__(self, "coded_bits", self.num_codewords * self.n)

    @property
    def code_rate(self) -> float:
        """Actual rate k / n of each codeword (<= the requested rate)."""
        return self.k / self.n

    def segment(self, bits: torch.Tensor) -> torch.Tensor:
        """float32 ``[payload_bits]`` -> ``[num_codewords, k]``, zero-padded at the end."""
        if bits.shape != (self.payload_bits,):
            raise ValueError(f"expected {self.payload_bits} payload bits, got shape {tuple(bits.shape)}")
        out = torch.zeros(self.num_codewords * self.k, dtype=torch.float32, device=bits.device)
        out[: self.payload_bits] = bits
        return out.view(self.num_codewords, self.k)

    def desegment(self, bits: torch.Tensor) -> torch.Tensor:
        """``[num_codewords, k]`` -> ``[payload_bits]`` (padding dropped)."""
        return bits.reshape(-1)[: self.payload_bits]


def plan_codewords(payload_bits: int, code_rate: float, max_info_bits: int = MAX_K, align: int = 1) -> CodewordPlan:
    """Codeword layout for ``payload_bits`` at ``code_rate``, segments of at most ``max_info_bits``
    and n a multiple of ``align`` (the QAM bits per symbol when interleaving, as 38.212 sizes E)."""
    if not is_whole(payload_bits) or payload_bits < 0:
        raise ValueError(f"payload_bits must be a whole number >= 0, got {payload_bits!r}")
    rate = _rate_fraction(code_rate)
    cap = max_info_bits
    if rate < Fraction(1, 3):  # keep BG2: above k = 3824 Sionna picks BG1, which needs rate >= 1/3
        cap = min(cap, MAX_K_BELOW_THIRD)
    num_codewords, k, n = _layout(payload_bits, rate, cap, align)
    if k > MAX_K_BELOW_THIRD and Fraction(k, n) < Fraction(1, 3):  # rounding n up crossed rate 1/3
        num_codewords, k, n = _layout(payload_bits, rate, MAX_K_BELOW_THIRD, align)
    # below rate 1/5 (or pushed there by rounding): the rate-1/5 codeword, repeated up to n bits
    return CodewordPlan(k=k, n=n, num_codewords=num_codewords, payload_bits=int(payload_bits),
                        mother_n=min(n, 5 * k))


def _layout(payload_bits: int, rate: Fraction, cap: int, align: int) -> tuple[int, int, int]:
    """(num_codewords, k, n) for segments of at most ``cap`` bits, n a multiple of ``align``."""
    num_codewords = math.ceil(payload_bits / cap)
    k = max(math.ceil(payload_bits / num_codewords), MIN_K) if num_codewords else MIN_K
    n = _round_up(math.ceil(k * rate.denominator / rate.numerator), align)  # k / n <= rate, exactly
    if rate >= Fraction(1, 5):
        for _ in range(2):  # decodability margin; the lifting size depends on the rate (via the base graph)
            n = _round_up(max(n, k + lifting_size(k, Fraction(k, n)) // 2 + 1), align)
    return num_codewords, k, n


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def base_graph(k: int, rate: Fraction) -> int:
    """Base graph (1 or 2) that Sionna's LDPC5GEncoder selects for k and actual rate k/n."""
    if k <= 292 or (k <= 3824 and rate <= 0.67) or rate <= 0.25:
        return 2
    return 1


def lifting_size(k: int, rate: Fraction) -> int:
    """Lifting size Z (38.212 §5.3.2, as Sionna selects it): smallest Z with K_b * Z >= k."""
    if base_graph(k, rate) == 1:
        k_b = 22
    else:
        k_b = 10 if k > 640 else 9 if k > 560 else 8 if k > 192 else 6
    return min(z for z in LIFTING_SIZES if k_b * z >= k)


def _rate_fraction(code_rate: float) -> Fraction:
    """Validated code rate as an exact fraction (so that 1/3 gives n = 3k, not 3k + 1)."""
    if isinstance(code_rate, bool) or not isinstance(code_rate, numbers.Real):
        raise ConfigError(f"code rate must be a number, got {code_rate!r}")
    rate = float(code_rate)
    if not MIN_REPEATED_RATE <= rate <= MAX_CODE_RATE:
        raise ConfigError(
            f"code rate {rate:g} is outside what 5G NR LDPC supports here: "
            f"{MIN_REPEATED_RATE:g} <= rate <= {MAX_CODE_RATE:.4f} (948/1024); below 1/5 by repetition"
        )
    return Fraction(rate).limit_denominator(1 << 20)
