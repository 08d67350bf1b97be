"""The LDPC decoder choice (config group ``ldpc_decoder``): which belief-propagation decoder runs.

* :class:`FastBP` (``ldpc_decoder=fast``, default): the project's numba decoder
  (:mod:`.fast_decoder`) on the code Sionna defines: layered or flooding schedule, per-codeword
  early termination, five check-node rules.
* :class:`SionnaBP` (``ldpc_decoder=sionna``): Sionna's ``LDPC5GDecoder``, the reference: flooding
  schedule, every codeword runs all iterations; no early termination, no normalised min-sum.

Each validates only its own options, so a setting one decoder lacks is an unknown key, not a
silently ignored one. :class:`~testbed.codecs.digital.ldpc.ldpc5g.LDPC5G` builds one decoder per
(k, n, device) with :meth:`build` and runs groups of codewords with :meth:`run`.
"""

from __future__ import annotations

import torch

from testbed.core.errors import ConfigError

SCHEDULES: tuple[str, ...] = ("layered", "flooding")
CN_UPDATES: tuple[str, ...] = ("boxplus-phi", "boxplus", "minsum", "normalized-minsum", "offset-minsum")
#: check-node rules Sionna's LDPC5GDecoder implements (``normalized-minsum`` is ``fast`` only)
SIONNA_CN_UPDATES: tuple[str, ...] = ("boxplus-phi", "boxplus", "minsum", "offset-minsum")


class LDPCDecoder:
    """Base of the decoder choices: ``name`` (provenance), ``cn_update``, ``schedule``, ``early_stop``."""

    name = "decoder"
    schedule = "flooding"
    early_stop = False

    def __init__(self, cn_update: str = "boxplus-phi") -> None:
        self.cn_update = cn_update

    def build(self, encoder, iterations: int, device: torch.device):
        """The decoder of one code: logits float32 ``[B, n]`` -> hard information bits ``[B, k]``."""
        raise NotImplementedError

    def run(self, decoder, llrs: torch.Tensor, iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode ``[B, n]`` logits: (hard bits float32 ``[B, k]``, iterations used int32 ``[B]``)."""
        raise NotImplementedError

    def backend(self) -> str:
        """The library that decodes (provenance)."""
        raise NotImplementedError


class FastBP(LDPCDecoder):
    """Numba belief propagation (``fast``).

    Args:
        cn_update: ``boxplus-phi`` (exact sum-product, phi form), ``boxplus`` (exact, tanh rule),
            ``minsum``, ``normalized-minsum`` (scale 0.75) or ``offset-minsum`` (offset 0.5).
        schedule: ``layered`` (default) or ``flooding``.
        early_stop: stop each codeword once its hard decision satisfies every parity check.
    """

    name = "fast"

    def __init__(self, cn_update: str = "boxplus-phi", schedule: str = "layered", early_stop: bool = True) -> None:
        if cn_update not in CN_UPDATES:
            raise ConfigError(f"fec.decoder.cn_update must be one of {CN_UPDATES}, got {cn_update!r}")
        if schedule not in SCHEDULES:
            raise ConfigError(f"fec.decoder.schedule must be one of {SCHEDULES}, got {schedule!r}")
        if not isinstance(early_stop, bool):
            raise ConfigError(f"fec.decoder.early_stop must be true or false, got {early_stop!r}")
        super().__init__(cn_update)
        self.schedule, self.early_stop = schedule, early_stop

    def build(self, encoder, iterations: int, device: torch.device):
        from testbed.codecs.digital.ldpc.fast_decoder import FastLDPC5GDecoder

        return FastLDPC5GDecoder(encoder, cn_update=self.cn_update, num_iter=iterations, schedule=self.schedule,
                                 early_stop=self.early_stop)

    def run(self, decoder, llrs, iterations):
        bits = decoder(llrs)  # the numba kernel takes the whole group at once (memory is per thread)
        return bits, torch.from_numpy(decoder.last_iterations.astype("int32", copy=True))

    def backend(self) -> str:
        from importlib.metadata import version

        return f"numba {version('numba')}"


class SionnaBP(LDPCDecoder):
    """Sionna's ``LDPC5GDecoder`` (``sionna``): flooding, all iterations, the reference.

    Args:
        cn_update: ``boxplus-phi``, ``boxplus``, ``minsum`` or ``offset-minsum``.
        max_batch_messages: cap on codewords x Tanner-graph edges per decoder call, bounding
            memory; a (k, n) group larger than that is decoded in slices. ``None``: 2**21 on CPU
            (keeps the messages in cache, measured fastest) and 2**27 on GPU.
    """

    name = "sionna"

    def __init__(self, cn_update: str = "boxplus-phi", max_batch_messages: int | None = None) -> None:
        if cn_update not in SIONNA_CN_UPDATES:
            raise ConfigError(f"fec.decoder.cn_update {cn_update!r} is not available in the sionna decoder "
                              f"(it has {SIONNA_CN_UPDATES}); use ldpc_decoder=fast")
        if max_batch_messages is not None and (isinstance(max_batch_messages, bool)
                                               or not isinstance(max_batch_messages, int) or max_batch_messages < 1):
            raise ConfigError(f"fec.decoder.max_batch_messages must be a positive whole number or null, "
                              f"got {max_batch_messages!r}")
        super().__init__(cn_update)
        self.max_batch_messages = max_batch_messages

    def build(self, encoder, iterations: int, device: torch.device):
        from sionna.phy.fec.ldpc import LDPC5GDecoder

        return LDPC5GDecoder(encoder, cn_update=self.cn_update, num_iter=iterations, hard_out=True,
                             return_infobits=True, device=str(device))

    def run(self, decoder, llrs, iterations):
        cap = self.max_batch_messages or (2**27 if llrs.device.type == "cuda" else 2**21)
        step = max(1, cap // int(decoder.num_edges))
        bits = torch.cat([decoder(chunk) for chunk in torch.split(llrs, step, dim=0)], dim=0)
        return bits, torch.full((llrs.shape[0],), iterations, dtype=torch.int32)

    def backend(self) -> str:
        from importlib.metadata import version

        return f"sionna {version('sionna-no-rt')}"


def decoder_from_options(decoder: str, cn_update: str = "boxplus-phi", schedule: str | None = None,
                         early_stop: bool | None = None, max_batch_messages: int | None = None) -> LDPCDecoder:
    """The decoder choice from the flat options of the Python API (``LDPC5G(decoder="sionna", ...)``),
    with the errors of a setting the chosen decoder lacks."""
    if decoder == "fast":
        if max_batch_messages is not None:
            raise ConfigError("fec.max_batch_messages applies to the sionna decoder only")
        return FastBP(cn_update, schedule or "layered", True if early_stop is None else early_stop)
    if decoder == "sionna":
        if schedule == "layered":
            raise ConfigError("fec.schedule: the sionna decoder runs the flooding schedule only; "
                              "use decoder: fast for layered decoding")
        if early_stop:
            raise ConfigError("fec.early_stop: the sionna decoder has no early termination; "
                              "set early_stop: false (or null) or use decoder: fast")
        return SionnaBP(cn_update, max_batch_messages)
    raise ConfigError(f"fec.decoder must be one of ('fast', 'sionna'), got {decoder!r}")
