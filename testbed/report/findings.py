"""What a run found, computed from its rows alone: the first thing a report shows.

Per channel and CBR:

* **cliff**: each digital codec's cliff SNR, the lowest swept SNR from which on at least half of
  the images decode at every higher swept SNR (the curve's MCS at each point: its fixed MCS, or
  the envelope's choice for an MCS table);
* **wins**: per metric, the swept SNRs where each analog codec (learned deep-JSCC, uncoded) has a
  better mean than each digital codec (separation with LDPC, or the capacity bound);
* **rank flips**: the (SNR, metric) points where a semantic metric (LPIPS, ST-LPIPS, ViTScore,
  SeSS) orders the codecs differently from PSNR.

Codecs are told apart by their rows: ``mcs_policy`` ``fixed``/``table`` or ``mcs == capacity`` is
digital, ``mcs == analog`` is analog.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from testbed.report.aggregate import LOWER_IS_BETTER, curve_label, curves

#: Metrics that score meaning rather than pixels (their order is compared with PSNR's).
SEMANTIC_METRICS = ("lpips", "st_lpips", "vitscore", "sess")
#: Fraction of images that must decode for a point to be above the cliff.
DECODE_SHARE = 0.5


@dataclass(frozen=True)
class Finding:
    """One line of the findings table: where (channel, CBR), what kind, about whom, and the fact."""

    channel: str
    cbr: float
    kind: str  # cliff | wins | rank flip
    subject: str
    metric: str
    text: str


def is_digital(row: dict) -> bool:
    return row.get("mcs_policy") in ("fixed", "table") or row.get("mcs") == "capacity"


def snr_ranges(snrs: list[float], chosen: set[float]) -> str:
    """``[1, 4, 7, 10]``, ``{1, 4, 10}`` -> ``"1-4, 10 dB"`` (runs of consecutive swept SNRs)."""
    runs, current = [], []
    for s in snrs:
        if s in chosen:
            current.append(s)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    if not runs:
        return "nowhere"
    if runs == [snrs]:
        return "at every SNR"
    return ", ".join(f"{r[0]:g}" if len(r) == 1 else f"{r[0]:g}-{r[-1]:g}" for r in runs) + " dB"


def cliff_snr(rows: list[dict], chosen: dict[float, str]) -> float | None:
    """The cliff SNR of one codec's rows (``chosen``: SNR -> MCS of its curve); ``None``: it never
    decodes at the highest SNR. ``-inf``: it decodes at every swept SNR."""
    cliff = None
    for snr in sorted(chosen, reverse=True):
        if not _decodes(rows, snr, chosen[snr]):
            break
        cliff = snr
    if cliff is not None and cliff == min(chosen):
        return float("-inf")
    return cliff


def _better(a: float, b: float, metric: str) -> bool:
    return a < b if metric in LOWER_IS_BETTER else a > b


def findings(rows: list[dict], metrics: list[str]) -> list[Finding]:
    """Every finding of ``rows`` (results rows of one or more runs). Codecs are named as their
    curves are (:func:`~testbed.report.aggregate.curve_label` without the channel): runs that hold a
    codec with other settings (rows marked ``_set``) are separate subjects."""
    out: list[Finding] = []
    by_point = defaultdict(list)
    for r in rows:
        by_point[(r["channel"], float(r["cbr"]))].append(r)
    pixel = "psnr" if "psnr" in metrics else (metrics[0] if metrics else None)
    if pixel is None:
        return out
    for (channel, cbr), part in sorted(by_point.items()):
        snrs = sorted({float(r["snr_db"]) for r in part})
        name = {curve_label(r): _subject(r) for r in part}
        digital = sorted({curve_label(r) for r in part if is_digital(r)})
        analog = sorted({curve_label(r) for r in part if r.get("mcs") == "analog"})
        means = {m: {c.label: dict(zip(c.x, c.mean)) for c in curves(part, m, "snr_db", "cbr", cbr)} for m in metrics}
        for label in digital:
            mine = [r for r in part if curve_label(r) == label]
            found = [c for c in curves(mine, pixel, "snr_db", "cbr", cbr)]
            if not found or any(r.get("mcs") == "capacity" for r in mine):
                continue  # an ideal code has no cliff; no pixel scores, nothing to say
            chosen = dict(zip(found[0].x, found[0].chosen))
            out.append(Finding(channel, cbr, "cliff", name[label], pixel, _cliff_text(mine, chosen)))
        for metric in metrics:
            for a in analog:
                for d in digital:
                    ma, md = means[metric].get(a, {}), means[metric].get(d, {})
                    wins = {s for s in snrs if s in ma and s in md and _better(ma[s], md[s], metric)}
                    out.append(Finding(channel, cbr, "wins", f"{name[a]} over {name[d]}", metric,
                                       snr_ranges(snrs, wins)))
        for metric in [m for m in metrics if m in SEMANTIC_METRICS]:
            for snr in snrs:
                flips = _discordant(means[pixel], means[metric], snr, pixel, metric, name)
                if flips:
                    out.append(Finding(channel, cbr, "rank flip", f"{snr:g} dB", metric, "; ".join(
                        f"{pixel} ranks {a} above {b}, {metric} {b} above {a}" for a, b in flips)))
    return out


def _subject(row: dict) -> str:
    """The codec as findings name it: its option, and its run folder where runs differ (``_set``)."""
    return row["codec"] + (f" [{row['_set']}]" if row.get("_set") else "")


def _cliff_text(rows: list[dict], chosen: dict[float, str]) -> str:
    cliff = cliff_snr(rows, chosen)
    if cliff == float("-inf"):
        return "decodes at every swept SNR"
    if cliff is not None:
        return f"cliff at {cliff:g} dB: at least half the images decode from there up"
    top = max(chosen)
    if not any(_decodes(rows, s, m) for s, m in chosen.items()):
        return f"fails at every swept SNR (fewer than half the images decode even at {top:g} dB)"
    return f"no clean cliff: fewer than half the images decode at its highest SNR, {top:g} dB, though more do below"


def _decodes(rows: list[dict], snr: float, mcs: str) -> bool:
    """At least :data:`DECODE_SHARE` of the images decode at ``snr`` with ``mcs``."""
    fails = [bool(r.get("decode_failed")) for r in rows if np.isclose(r["snr_db"], snr) and r["mcs"] == mcs]
    return bool(fails) and 1.0 - float(np.mean(fails)) >= DECODE_SHARE


def _discordant(first: dict, second: dict, snr: float, m1: str, m2: str, name: dict) -> list[tuple[str, str]]:
    """Codec pairs (a, b) that ``m1`` orders a > b and ``m2`` b > a at ``snr``, both strictly (by
    more than 1e-9 relative: two identical fallback images are a tie, not an order). ``first`` and
    ``second``: curve label -> {snr: mean}; ``name``: curve label -> the codec as findings name it."""
    one = {name.get(label, label): v[snr] for label, v in sorted(first.items()) if snr in v}
    two = {name.get(label, label): v[snr] for label, v in sorted(second.items()) if snr in v}
    codecs = [c for c in one if c in two]
    out = []
    for i, a in enumerate(codecs):
        for b in codecs[i + 1:]:
            for x, y in ((a, b), (b, a)):
                if _strictly(one[x], one[y], m1) and _strictly(two[y], two[x], m2):
                    out.append((x, y))
    return out


def _strictly(a: float, b: float, metric: str) -> bool:
    """``a`` better than ``b`` by more than float noise."""
    return _better(a, b, metric) and abs(a - b) > 1e-9 * max(abs(a), abs(b), 1.0)
