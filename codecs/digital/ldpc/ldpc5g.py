"""5G NR LDPC forward error correction (3GPP TS 38.212): Sionna's encoder, a fast numba BP decoder.

A payload of B bits is split into ``C = ceil(B / K_max)`` codewords of equal length
``k = ceil(B / C)`` (the last one zero-padded) and each is rate-matched to ``n = ceil(k / R)`` coded
bits with Sionna's :class:`~sionna.phy.fec.ldpc.LDPC5GEncoder` (filler bits, 2Z systematic
puncturing and circular-buffer rate matching, RV 0). No CRC is attached: residual errors are kept.

The layout (segmentation, rate matching, the limits of Sionna's encoder and how they are met) is
:mod:`.codeword_plan`'s.

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

import torch

from testbed.codecs.digital.ldpc.decoders import (CN_UPDATES, SCHEDULES, SIONNA_CN_UPDATES, FastBP,  # noqa: F401
                                                  LDPCDecoder, SionnaBP, decoder_from_options)
from testbed.codecs.digital.ldpc.codeword_plan import MAX_K, MIN_K, CodewordPlan, plan_codewords
from testbed.codecs.digital.ldpc.interleaver import deinterleave, interleave
from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole

DECODERS: tuple[str, ...] = ("fast", "sionna")


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
        if not is_whole(iterations) or iterations < 1:
            raise ConfigError(f"fec.iterations must be a whole number >= 1, got {iterations!r}")
        if not is_whole(max_info_bits) or not MIN_K <= max_info_bits <= MAX_K:
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
        align = int(bits_per_symbol) if self.interleave and bits_per_symbol else 1
        return plan_codewords(payload_bits, code_rate, self.max_info_bits, align)

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


def _combine_copies(llrs: torch.Tensor, plan: CodewordPlan) -> torch.Tensor:
    """``[C, n]`` LLRs of a repeated codeword -> ``[C, mother_n]``: the copies of each bit added
    (the exact LLR of a bit seen several times through independent noise)."""
    if plan.n == plan.mother_n:
        return llrs
    index = torch.arange(plan.n, device=llrs.device) % plan.mother_n
    return torch.zeros(llrs.shape[0], plan.mother_n, dtype=llrs.dtype, device=llrs.device).index_add_(1, index, llrs)


def _check_shape(t: torch.Tensor, shape: tuple[int, int], name: str) -> None:
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {list(shape)} for this plan, got {list(t.shape)}")
