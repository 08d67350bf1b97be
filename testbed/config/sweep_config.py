"""Validation of the sweep settings, done before any image is loaded or bit is sent."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig, ListConfig, OmegaConf

from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole, parse_number
from testbed.config.catalogue import check_choice
from testbed.config.groups import LIST_GROUPS as PLUGIN_GROUPS  # noqa: F401



@dataclass(frozen=True)
class SweepGrid:
    """The swept values of one run: SNRs (dB, Es/N0), CBRs (k/n) and repetitions."""

    snr_db: tuple[float, ...]
    cbr: tuple[float, ...]
    repetitions: int


def _as_list(value, name: str) -> list:
    if isinstance(value, (ListConfig, list, tuple)):
        return list(value)
    if value is None:
        raise ConfigError(f"{name} is empty: give a number or a list, e.g. {name}=[1,4,7]")
    return [value]


def _number(value, name: str) -> float:
    try:
        return parse_number(value)
    except ValueError as err:
        hint = "finite number" if "finite" in str(err) else "number"
        raise ConfigError(f"{name}: {value!r} is not a {hint} (example: {name}=[1,4,7])") from None


#: SNRs a sweep accepts (dB, Es/N0): beyond them no scheme changes and the capacity overflows.
SNR_RANGE_DB = (-50.0, 100.0)


def whole_number(cfg: DictConfig, key: str, default, low: int | None = None, allow_null: bool = False,
                 high: int | None = None):
    """``cfg[key]`` as a whole number in ``[low, high]`` (``None`` allowed with ``allow_null``), else a clear error."""
    value = cfg.get(key, default)
    if value is None and allow_null:
        return None
    if not is_whole(value) or (low is not None and value < low) \
            or (high is not None and value > high):
        need = (f"a whole number from {low} to {high}" if high is not None else
                f"a whole number >= {low}" if low is not None else "a whole number")
        raise ConfigError(f"{key}={value!r}: {key} must be {need}" + (" or null" if allow_null else "")
                          + f" (e.g. {key}={default if default is not None else max(low or 0, 1)})")
    return value


def parse_grid(cfg: DictConfig) -> SweepGrid:
    """Read and check ``snr_db``, ``cbr`` and ``repetitions`` from the run config."""
    snrs = tuple(_number(v, "snr_db") for v in _as_list(cfg.get("snr_db"), "snr_db"))
    cbrs = tuple(_number(v, "cbr") for v in _as_list(cfg.get("cbr"), "cbr"))
    low, high = SNR_RANGE_DB
    for s in snrs:
        if not low <= s <= high:
            raise ConfigError(f"snr_db: {s:g} dB is outside the range a sweep accepts, {low:g} to {high:g} dB (Es/N0)")
    for c in cbrs:
        if not 0.0 < c <= 1.0:
            raise ConfigError(
                f"cbr: {c} is outside (0, 1]; CBR = channel uses / (H*W*3), e.g. cbr=[0.0625] for 1/16"
            )
    reps = cfg.get("repetitions", 1)
    if not is_whole(reps) or reps < 1:
        raise ConfigError(f"repetitions must be a whole number >= 1, got {reps!r}")
    if not snrs or not cbrs:
        raise ConfigError("snr_db and cbr need at least one value each")
    return SweepGrid(snrs, cbrs, reps)


def plugin_nodes(cfg: DictConfig, group: str) -> dict[str, DictConfig]:
    """The selected options of a list-capable group, as {name: config node}."""
    node = cfg.get(group)
    if node is None or (isinstance(node, DictConfig) and len(node) == 0):
        raise ConfigError(f"no {group} selected: add one, e.g. {group}=<name> (see `testbed list {group}`)")
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{group} must be chosen from the config group, got {node!r}")
    nodes = {}
    for name, sub in node.items():
        check_choice(group, str(name))
        if not isinstance(sub, DictConfig) or "_target_" not in sub:
            raise ConfigError(f"{group}.{name} has no _target_: is {group}/{name}.yaml a plugin config?")
        nodes[str(name)] = sub
    return nodes


def config_fingerprint(*nodes) -> str:
    """Short hash of config nodes, to tell results of different settings apart."""
    import hashlib

    text = "|".join(OmegaConf.to_yaml(n, resolve=True) if isinstance(n, DictConfig) else repr(n) for n in nodes)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
