"""5G NR LDPC forward error correction (3GPP TS 38.212): Sionna's encoder, a fast numba BP decoder.

A payload of B bits is split into ``C = ceil(B / K_max)`` codewords of equal length
``k = ceil(B / C)`` (the last one zero-padded) and each is rate-matched to ``n = ceil(k / R)`` coded
bits with Sionna's :class:`~sionna.phy.fec.ldpc.LDPC5GEncoder` (filler bits, 2Z systematic
puncturing and circular-buffer rate matching, RV 0). No CRC is attached: residual errors are kept.

Constraints found in Sionna 2.2 (``fec/ldpc/encoding.py``) and how :meth:`LDPC5G.plan` meets them:

- 12 <= k <= 8448 (BG1 maximum): short payloads are zero-padded up to k = 12.
- 1/5 <= k/n <= 0.95 (a warning above 948/1024, the 38.212 limit): ``n = ceil(k / R)`` keeps
  k/n <= R. Rates below 1/5 (down to 1/10; the TS 38.214 MCS tables start at 120/1024) send the
  rate-1/5 codeword repeated cyclically up to n bits, which is where 38.212's circular buffer
  wraps; the receiver adds the LLRs of the copies before decoding.
- BG1 needs k/n >= 1/3 and BG2 needs k <= 3840; Sionna picks BG1 for k > 3824 unless k/n <= 1/4,
  so for R < 1/3 segments are capped at k <= 3824 (BG2), as 38.212 segments for BG2.
- Decodability (found by noiseless round trips, not a Sionna check): at the highest rates and
  small k (BG2, k < ~300) the rate-matched code does not decode even without noise unless at
  least floor(Z/2) + 1 parity bits are sent (Z = lifting size); ``plan`` adds those few bits.

LLR sign convention (Sionna's, used by its Demapper and its decoder alike): logits
``llr = ln P(b=1 | y) / P(b=0 | y)``, i.e. a positive LLR favours bit 1.

Decoders: the config group ``ldpc_decoder`` (:mod:`.decoders`): ``fast`` (default), the numba
BP decoder on the same code (graph read from Sionna's encoder), layered or flooding, early
termination, sum-product or min-sum check nodes -- with ``schedule: flooding, early_stop: false``
it makes the same decisions as Sionna's decoder (up to float32 rounding); ``sionna``, Sionna's
``LDPC5GDecoder``, the reference (flooding, all iterations).

Bit interleaving (TS 38.212 §5.4.2.2, :mod:`.interleaver`): with ``interleave=True`` (the default,
``fec.interleave``) :class:`~testbed.codecs.digital.coded_modulation.CodedModulation` interleaves
each rate-matched codeword for the QAM order before mapping and deinterleaves the LLRs before
decoding (:meth:`LDPC5G.interleave_bits`, :meth:`LDPC5G.deinterleave_llrs`; it needs the bits per
symbol, which the code itself does not know); :meth:`LDPC5G.encode` / :meth:`LDPC5G.decode` work
in codeword order. Interleaving, :meth:`LDPC5G.plan` rounds n up to a multiple of the bits per
symbol (38.212's E is one), which can add up to Qm - 1 parity bits per codeword, tip a rate just
above 1/3 below it (then segments stay within BG2's k <= 3824) or one at 1/5 into repetition.

Sionna's objects are imported lazily (importing Sionna takes seconds) and cached per (k, n, device).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from fractions import Fraction

import torch

from testbed.codecs.digital.ldpc.decoders import (CN_UPDATES, SCHEDULES, SIONNA_CN_UPDATES, FastBP,  # noqa: F401
                                                  LDPCDecoder, SionnaBP, decoder_from_options)
from testbed.codecs.digital.ldpc.interleaver import deinterleave, interleave
from testbed.core.errors import ConfigError

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
DECODERS: tuple[str, ...] = ("fast", "sionna")


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


class LDPC5G:
    """5G NR LDPC code: segmentation, Sionna encoding and batched belief-propagation decoding.

    Args:
        iterations: BP iterations (the maximum when early stopping).
        max_info_bits: segment size cap K_max, 12..8448 (8448 = BG1 maximum).
        decoder: the decoder choice, an :class:`~testbed.codecs.digital.ldpc.decoders.LDPCDecoder`
            (the config node ``fec.decoder``, group ``ldpc_decoder``: :class:`FastBP` or
            :class:`SionnaBP`), or its name ``fast`` / ``sionna`` with the flat options below
            (Python API): ``cn_update``, ``schedule`` and ``early_stop`` (``None``: what the decoder
            does best, layered with early stop for ``fast``), ``max_batch_messages`` (``sionna``).
        interleave: apply the 38.212 §5.4.2.2 bit interleaver between rate matching and QAM.

    After each decode, :attr:`last_iterations` holds, per decoded item, int32 ``[num_codewords]``
    with the iterations each codeword used (``iterations`` for every codeword with ``sionna``).
    """

    def __init__(
        self,
        iterations: int = 20,
        max_info_bits: int = MAX_K,
        decoder: str | LDPCDecoder = "fast",
        cn_update: str | None = None,
        schedule: str | None = None,
        early_stop: bool | None = None,
        max_batch_messages: int | None = None,
        interleave: bool = True,
    ) -> None:
        if not isinstance(interleave, bool):
            raise ConfigError(f"fec.interleave must be true or false, got {interleave!r}")
        if not _is_int(iterations) or iterations < 1:
            raise ConfigError(f"fec.iterations must be a whole number >= 1, got {iterations!r}")
        if not _is_int(max_info_bits) or not MIN_K <= max_info_bits <= MAX_K:
            raise ConfigError(
                f"fec.max_info_bits must be a whole number in [{MIN_K}, {MAX_K}] (5G NR LDPC), "
                f"got {max_info_bits!r}"
            )
        if isinstance(decoder, LDPCDecoder):
            if any(v is not None for v in (cn_update, schedule, early_stop, max_batch_messages)):
                raise ConfigError("fec: give cn_update, schedule, early_stop and max_batch_messages in the "
                                  "decoder node (fec.decoder.*), not beside it")
            self.choice = decoder
        else:
            if cn_update is not None and cn_update not in CN_UPDATES:
                raise ConfigError(f"fec.cn_update must be one of {CN_UPDATES}, got {cn_update!r}")
            if schedule is not None and schedule not in SCHEDULES:
                raise ConfigError(f"fec.schedule must be one of {SCHEDULES} or null, got {schedule!r}")
            if early_stop is not None and not isinstance(early_stop, bool):
                raise ConfigError(f"fec.early_stop must be true, false or null, got {early_stop!r}")
            self.choice = decoder_from_options(decoder, cn_update or "boxplus-phi", schedule, early_stop,
                                               max_batch_messages)
        self.iterations = int(iterations)
        self.max_info_bits = int(max_info_bits)
        self.interleave = interleave
        self.decoder = self.choice.name
        self.cn_update, self.schedule, self.early_stop = self.choice.cn_update, self.choice.schedule, self.choice.early_stop
        self.last_iterations: list[torch.Tensor] = []
        self._coders: dict[tuple[int, int, str], tuple[object, object]] = {}

    # ------------------------------------------------------------------ planning (no Sionna)
    def plan(self, payload_bits: int, code_rate: float, bits_per_symbol: int | None = None) -> CodewordPlan:
        """Codeword layout for ``payload_bits`` at ``code_rate``; pure arithmetic, deterministic.

        With the interleaver on and ``bits_per_symbol`` (Qm) given, n is rounded up to a multiple of
        Qm, as 38.212 sizes E, so that each codeword fills whole QAM symbols (:mod:`.interleaver`).
        """
        if not _is_int(payload_bits) or payload_bits < 0:
            raise ValueError(f"payload_bits must be a whole number >= 0, got {payload_bits!r}")
        rate = _rate_fraction(code_rate)
        align = int(bits_per_symbol) if self.interleave and bits_per_symbol else 1
        cap = self.max_info_bits
        if rate < Fraction(1, 3):  # keep BG2: above k = 3824 Sionna picks BG1, which needs rate >= 1/3
            cap = min(cap, MAX_K_BELOW_THIRD)
        num_codewords, k, n = _layout(payload_bits, rate, cap, align)
        if k > MAX_K_BELOW_THIRD and Fraction(k, n) < Fraction(1, 3):  # rounding n up crossed rate 1/3
            num_codewords, k, n = _layout(payload_bits, rate, MAX_K_BELOW_THIRD, align)
        # below rate 1/5 (or pushed there by rounding): the rate-1/5 codeword, repeated up to n bits
        return CodewordPlan(k=k, n=n, num_codewords=num_codewords, payload_bits=int(payload_bits),
                            mother_n=min(n, 5 * k))

    # ------------------------------------------------------------------ Sionna objects
    def _get(self, k: int, n: int, device: torch.device) -> tuple[object, object]:
        """Cached (LDPC5GEncoder, decoder) for (k, n) on ``device`` (the decoder from the choice)."""
        key = (k, n, str(device))
        if key not in self._coders:
            from sionna.phy.fec.ldpc import LDPC5GEncoder

            enc = LDPC5GEncoder(k, n, device=str(device))
            self._coders[key] = (enc, self.choice.build(enc, self.iterations, device))
        return self._coders[key]

    # ------------------------------------------------------------------ encode / decode
    def encode(self, bits: torch.Tensor, plan: CodewordPlan) -> torch.Tensor:
        """float32 ``[num_codewords, k]`` of {0, 1} -> codewords float32 ``[num_codewords, n]``."""
        _check_shape(bits, (plan.num_codewords, plan.k), "bits")
        if plan.num_codewords == 0:
            return torch.zeros(0, plan.n, dtype=torch.float32, device=bits.device)
        enc, _ = self._get(plan.k, plan.mother_n, bits.device)
        coded = enc(bits.to(torch.float32)).to(torch.float32)
        if plan.n > plan.mother_n:  # repetition below rate 1/5: the circular buffer wraps around
            coded = coded[:, torch.arange(plan.n, device=coded.device) % plan.mother_n]
        return coded

    def interleave_bits(self, coded: torch.Tensor, bits_per_symbol: int) -> torch.Tensor:
        """Codewords ``[num_codewords, n]`` -> interleaved for ``bits_per_symbol`` (as is when off)."""
        return interleave(coded, bits_per_symbol) if self.interleave else coded

    def deinterleave_llrs(self, llrs: torch.Tensor, bits_per_symbol: int) -> torch.Tensor:
        """Demapped LLRs ``[num_codewords, n]`` -> codeword order (as is when off)."""
        return deinterleave(llrs, bits_per_symbol) if self.interleave else llrs

    def decode(self, llrs: torch.Tensor, plan: CodewordPlan) -> torch.Tensor:
        """Logit LLRs float32 ``[num_codewords, n]`` (ln P(1)/P(0)) -> hard bits ``[num_codewords, k]``."""
        return self.decode_batch([(plan, llrs)])[0]

    def decode_batch(self, items: list[tuple[CodewordPlan, torch.Tensor]]) -> list[torch.Tensor]:
        """Decode many payloads: all codewords sharing (k, n) go through one decoder call.

        Args:
            items: ``(plan, llrs)`` pairs, llrs float32 ``[plan.num_codewords, plan.n]``.

        Returns:
            Hard information bits float32 ``[plan.num_codewords, plan.k]`` per item, in order.
        """
        out: list[torch.Tensor | None] = [None] * len(items)
        iters: list[torch.Tensor] = [torch.zeros(0, dtype=torch.int32)] * len(items)
        groups: dict[tuple[int, int, str], list[int]] = {}
        for i, (plan, llrs) in enumerate(items):
            _check_shape(llrs, (plan.num_codewords, plan.n), "llrs")
            if plan.num_codewords == 0:
                out[i] = torch.zeros(0, plan.k, dtype=torch.float32, device=llrs.device)
                continue
            groups.setdefault((plan.k, plan.mother_n, str(llrs.device)), []).append(i)
        for (k, n, _), idx in groups.items():
            device = items[idx[0]][1].device
            _, dec = self._get(k, n, device)
            llr_all = torch.cat([_combine_copies(items[i][1].to(torch.float32), items[i][0]) for i in idx], dim=0)
            bits, group_iters = self.choice.run(dec, llr_all, self.iterations)
            sizes = [items[i][0].num_codewords for i in idx]
            for i, part, it in zip(idx, torch.split(bits.to(torch.float32), sizes, dim=0),
                                   torch.split(group_iters, sizes)):
                out[i] = part
                iters[i] = it
        self.last_iterations = iters
        return out  # type: ignore[return-value]

    def describe(self) -> dict:
        """Provenance fields for results rows."""
        from importlib.metadata import version

        sionna = f"sionna {version('sionna-no-rt')}"
        backend = self.choice.backend()
        if self.decoder == "fast":
            fec = f"5G NR LDPC ({sionna} LDPC5GEncoder, {backend} BP decoder)"
        else:
            fec = f"5G NR LDPC ({sionna} LDPC5GEncoder/LDPC5GDecoder)"
        return {
            "fec": fec,
            "fec_iterations": self.iterations,
            "fec_decoder": self.decoder,
            "fec_decoder_backend": backend,
            "fec_schedule": self.schedule,
            "fec_early_stop": self.early_stop,
            "fec_cn_update": self.cn_update,
            "fec_max_info_bits": self.max_info_bits,
            "fec_interleave": self.interleave,
        }


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


def _combine_copies(llrs: torch.Tensor, plan: CodewordPlan) -> torch.Tensor:
    """``[C, n]`` LLRs of a repeated codeword -> ``[C, mother_n]``: the copies of each bit added
    (the exact LLR of a bit seen several times through independent noise)."""
    if plan.n == plan.mother_n:
        return llrs
    index = torch.arange(plan.n, device=llrs.device) % plan.mother_n
    return torch.zeros(llrs.shape[0], plan.mother_n, dtype=llrs.dtype, device=llrs.device).index_add_(1, index, llrs)


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


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


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


def _check_shape(t: torch.Tensor, shape: tuple[int, int], name: str) -> None:
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {list(shape)} for this plan, got {list(t.shape)}")
