"""The settings of the ``ofdm`` channel, checked before any work (every value may come from a hostile config).

Defaults: a 5G NR-like slot of 14 OFDM symbols, 64 subcarriers at 30 kHz (1.92 MHz), a cyclic
prefix of 6 samples (3.1 us), pilots on every subcarrier of OFDM symbols 2 and 11 (Sionna's
Kronecker pattern, seeded QPSK), over 3GPP TDL-A with 300 ns delay spread ("long", TR 38.901
Table 7.7.3-1) at 3.5 GHz without Doppler, with LS estimation and linear interpolation.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole

MODELS = ("tdl", "exponential")
TDL_PROFILES = ("A", "B", "C", "D", "E")
CSI_MODES = ("perfect", "estimated", "none")
ESTIMATORS = ("ls", "lmmse")
#: Sionna's LS interpolators: nearest neighbour, linear, linear with averaging over OFDM symbols.
INTERPOLATIONS = ("nn", "lin", "lin_time_avg")


@dataclass(frozen=True)
class OFDMSettings:
    """Resource grid, multipath model and receiver of the ``ofdm`` channel (units in the names' docs).

    Attributes:
        fft_size: subcarriers F (12..4096), all used for data or pilots.
        subcarrier_spacing: Hz (1 kHz..1 MHz).
        num_ofdm_symbols: OFDM symbols S per slot (2..64).
        cyclic_prefix_length: samples (0..F); must cover the last path's delay.
        pilot_ofdm_symbol_indices: OFDM symbols that carry pilots on every subcarrier (distinct, < S).
        model: ``tdl`` (3GPP TR 38.901 TDL) or ``exponential`` (sample-spaced taps, exp. profile).
        tdl_model: ``A``..``E`` (NLOS A-C, LOS D-E).
        delay_spread: s (RMS delay spread of the TDL; decay constant of the exponential profile).
        carrier_frequency: Hz (the Doppler shift of ``max_speed``).
        max_speed: m/s; each slot draws a speed uniform in [0, max_speed] (TDL only; 0 = static).
        num_paths: taps of the exponential profile (1..64).
        csi: ``perfect``, ``estimated`` or ``none``.
        estimator: ``ls`` (at the pilots, then ``interpolation``) or ``lmmse`` (Sionna's LMMSE
            estimator with the model's frequency and time covariances).
        interpolation: the LS estimator's interpolator (``nn``, ``lin``, ``lin_time_avg``).
    """

    fft_size: int = 64
    subcarrier_spacing: float = 30e3
    num_ofdm_symbols: int = 14
    cyclic_prefix_length: int = 6
    pilot_ofdm_symbol_indices: tuple = (2, 11)
    model: str = "tdl"
    tdl_model: str = "A"
    delay_spread: float = 300e-9
    carrier_frequency: float = 3.5e9
    max_speed: float = 0.0
    num_paths: int = 8
    csi: str = "estimated"
    estimator: str = "ls"
    interpolation: str = "lin"

    @classmethod
    def parse(cls, options: dict) -> "OFDMSettings":
        """Settings from a config node's keys; :class:`ConfigError` naming the key and the fix."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"channel ofdm: unknown option(s) {unknown}; the options are {sorted(known)}")
        values = {**asdict(cls()), **options}
        values["pilot_ofdm_symbol_indices"] = _indices(values["pilot_ofdm_symbol_indices"])
        for key, low, high in (("fft_size", 12, 4096), ("num_ofdm_symbols", 2, 64), ("num_paths", 1, 64),
                               ("cyclic_prefix_length", 0, int(values.get("fft_size") or 0) or 4096)):
            values[key] = _whole(key, values[key], low, high)
        for key, low, high in (("subcarrier_spacing", 1e3, 1e6), ("delay_spread", 1e-10, 1e-5),
                               ("carrier_frequency", 1e8, 1e11), ("max_speed", 0.0, 500.0)):
            values[key] = _real(key, values[key], low, high)
        for key, allowed in (("model", MODELS), ("tdl_model", TDL_PROFILES), ("csi", CSI_MODES),
                             ("estimator", ESTIMATORS), ("interpolation", INTERPOLATIONS)):
            if values[key] not in allowed:
                raise ConfigError(f"channel ofdm: {key}={values[key]!r}: use one of {allowed}")
        pilots = values["pilot_ofdm_symbol_indices"]
        if not pilots or max(pilots) >= values["num_ofdm_symbols"] or len(set(pilots)) != len(pilots):
            raise ConfigError(f"channel ofdm: pilot_ofdm_symbol_indices={list(pilots)}: give distinct OFDM symbol "
                              f"indices below num_ofdm_symbols={values['num_ofdm_symbols']} (e.g. [2, 11])")
        if len(pilots) >= values["num_ofdm_symbols"]:
            raise ConfigError("channel ofdm: every OFDM symbol carries pilots, none is left for data")
        if values["model"] == "exponential" and values["max_speed"] > 0:
            raise ConfigError("channel ofdm: the exponential profile is static within a slot; "
                              "set max_speed=0 or use model=tdl for Doppler")
        return cls(**values)

    def as_dict(self) -> dict:
        """The settings as plain values (rows, checkpoint specs)."""
        out = asdict(self)
        out["pilot_ofdm_symbol_indices"] = list(self.pilot_ofdm_symbol_indices)
        return out


def _whole(key: str, value, low: int, high: int) -> int:
    if not is_whole(value) or not low <= value <= high:
        raise ConfigError(f"channel ofdm: {key}={value!r}: use a whole number in [{low}, {high}]")
    return value


def _real(key: str, value, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise ConfigError(f"channel ofdm: {key}={value!r}: use a number in [{low:g}, {high:g}]")
    return float(value)


def _indices(value) -> tuple:
    try:
        items = tuple(value)
    except TypeError:
        raise ConfigError(f"channel ofdm: pilot_ofdm_symbol_indices={value!r}: give a list such as [2, 11]") from None
    for item in items:
        if not is_whole(item) or item < 0:
            raise ConfigError(f"channel ofdm: pilot_ofdm_symbol_indices={list(items)!r}: "
                              "use whole numbers >= 0, e.g. [2, 11]")
    return items
