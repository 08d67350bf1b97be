"""What one released SwinJSCC / WITT file serves: variant, size, channel, CBRs and SNRs.

A codec config lists released files by name; what each serves is read from the name the authors
gave it (:func:`~testbed.codecs.learned.swin.released.parse_released_name`) and any field can be
stated (or corrected) in the config entry. Matching follows the rule of every learned codec here: a
file is used only for the channel it was trained on, at the CBRs it sends, at the SNRs it was
trained for (a random-SNR file: its training range; a fixed-SNR file: that SNR only).

Channels, in this project's terms (README "SwinJSCC and WITT"):

* ``awgn``: :class:`testbed.channels.awgn.AWGNChannel` (Es/N0 = the authors' SNR, unit-energy
  complex symbols: their normalisation).
* ``rayleigh``: the authors multiply each complex symbol by a real Rayleigh gain |h| and give the
  decoder the result unequalised. :class:`testbed.channels.rayleigh.RayleighChannel` with fast
  fading (``coherence: 1``) and ``csi: perfect`` gives exactly that after the receiver removes the
  phase of h (``y conj(h) / |h| = |h| x + n'``, n' again CN(0, N0)); no other channel setting can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from testbed.core.errors import ConfigError

#: The channel spec (:meth:`testbed.core.channel.Channel.spec`) each released channel name maps to.
CHANNEL_SPECS = {
    "awgn": {"channel": "testbed.channels.awgn.AWGNChannel"},
    "rayleigh": {"channel": "testbed.channels.rayleigh.RayleighChannel", "coherence": 1, "csi": "perfect"},
}

#: Where the authors publish the files (their READMEs link these drives; not reachable from here).
SOURCES = {
    "swinjscc": "the authors' Google Drive folder linked from github.com/semcomm/SwinJSCC's README "
                "(drive.google.com/drive/folders/1_EouRY4yYvMCtamX2ReBzEd5YBQbyesc; also an Aliyun Drive mirror)",
    "witt": "the authors' Google Drive folder linked from github.com/KeYang8/WITT's README "
            "(drive.google.com/drive/folders/1YdnShbfIT03p_e30vjkV2wPKYOQPmUWp; also a Baidu Netdisk mirror)",
}

FIELDS = ("file", "variant", "size", "channel", "rates", "snr_db", "family")
FAMILIES, VARIANTS, SIZES = ("swinjscc", "witt"), ("wo", "sa", "ra", "sa_ra"), ("small", "base", "large", "cifar")


@dataclass
class ReleasedFile:
    """One released weights file and what it serves.

    Attributes:
        file: the released file name (or a path).
        family: ``swinjscc`` or ``witt`` (which authors' network and release it is).
        variant: ``wo``, ``sa``, ``ra`` or ``sa_ra``.
        size: ``small``, ``base``, ``large`` or ``cifar``.
        channel: ``awgn`` or ``rayleigh``.
        rates: latent channel counts C it sends (one for ``wo``/``sa``; the rate list for ``ra``/``sa_ra``).
        snr_db: the training SNRs (dB): one value for a fixed-SNR file, else the list it was drawn from.
        path: where the file was found (``None``: missing).
    """

    file: str
    family: str
    variant: str
    size: str
    channel: str
    rates: list[int]
    snr_db: list[float]
    path: Path | None = None
    net: object = field(default=None, repr=False)

    @classmethod
    def from_entry(cls, entry, parse) -> "ReleasedFile":
        """A config entry (a file name, or a mapping with ``file`` and any of :data:`FIELDS`) ->
        :class:`ReleasedFile`; fields the entry leaves out are read from the name by ``parse``."""
        if isinstance(entry, str):
            entry = {"file": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or not entry["file"]:
            raise ConfigError(f"codec files: each entry is a released file name or a mapping with `file`, got {entry!r}")
        unknown = set(entry) - set(FIELDS)
        if unknown:
            raise ConfigError(f"codec files entry {entry['file']!r}: unknown field(s) {sorted(unknown)}; "
                              f"known: {', '.join(FIELDS)}")
        stated = {k: v for k, v in entry.items() if v is not None}
        missing = [k for k in FIELDS if k not in stated]
        try:
            read = parse(Path(entry["file"]).name) if missing else {}
        except ConfigError as err:
            raise ConfigError(f"{err}; this entry leaves out {', '.join(missing)} (e.g. {{file: ..., "
                              f"{missing[0]}: ...}})") from None
        values = {**read, **stated}
        gaps = [k for k in FIELDS if values.get(k) is None]
        if gaps:
            raise ConfigError(f"codec files entry {entry['file']!r}: its name does not say {', '.join(gaps)}; "
                              f"state them in the entry (e.g. {{file: ..., {gaps[0]}: ...}})")
        return cls(file=str(values["file"]), family=str(values["family"]), variant=str(values["variant"]),
                   size=str(values["size"]), channel=str(values["channel"]).lower(),
                   rates=_numbers(values["rates"], int, entry["file"], "rates"),
                   snr_db=_numbers(values["snr_db"], float, entry["file"], "snr_db"))

    def __post_init__(self) -> None:
        self.family, self.variant, self.size = self.family.lower(), self.variant.lower(), self.size.lower()
        for key, allowed in (("family", FAMILIES), ("variant", VARIANTS), ("size", SIZES)):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"released file {self.file}: {key} {getattr(self, key)!r}; use one of {allowed}")
        if self.channel not in CHANNEL_SPECS:
            raise ConfigError(f"released file {self.file}: channel {self.channel!r}; use one of {sorted(CHANNEL_SPECS)}")
        if self.variant in ("wo", "sa") and len(self.rates) != 1:
            raise ConfigError(f"released file {self.file}: variant {self.variant} sends one C, got rates {self.rates}")

    @property
    def name(self) -> str:
        return Path(self.file).name

    def fits_channel(self, spec: dict) -> bool:
        """Trained for the channel whose :meth:`~testbed.core.channel.Channel.spec` is ``spec``."""
        return CHANNEL_SPECS[self.channel] == spec

    def cbrs(self, downsampling: int) -> list[float]:
        """The CBRs it sends: C / (2 * 3 * downsampling^2) for each rate C."""
        return [c / (6 * downsampling**2) for c in self.rates]

    def rate_for(self, cbr: float, downsampling: int) -> int | None:
        """The C that sends ``cbr`` (within 1 %), else ``None``."""
        return next((c for c, v in zip(self.rates, self.cbrs(downsampling)) if abs(v - cbr) <= 0.01 * cbr), None)

    def serves_snr(self, snr_db: float) -> bool:
        """Random-SNR files serve their training range (inclusive), fixed ones their SNR (±0.05 dB)."""
        low, high = min(self.snr_db), max(self.snr_db)
        return low - 0.05 <= float(snr_db) <= high + 0.05

    def snr_label(self) -> str:
        low, high = min(self.snr_db), max(self.snr_db)
        return f"{low:g} dB" if low == high else f"{low:g}-{high:g} dB"

    def label(self, downsampling: int) -> str:
        """``file (awgn; CBR 1/48..1/8; SNR 1-13 dB; missing)`` for messages."""
        cbrs = ", ".join(f"1/{1 / c:.3g}" for c in self.cbrs(downsampling))
        where = "" if self.path else "; missing"
        return f"{self.name} ({self.channel}; CBR {cbrs}; SNR {self.snr_label()}{where})"


def _numbers(value, kind, file: str, key: str) -> list:
    """One number or a list of numbers -> a non-empty list of ``kind``; a clear error otherwise."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    try:
        out = [kind(v) for v in items if not isinstance(v, bool)]
    except (TypeError, ValueError):
        out = []
    if not out or len(out) != len(items):
        raise ConfigError(f"codec files entry {file!r}: {key}={value!r} is not a number or a list of numbers")
    return out
