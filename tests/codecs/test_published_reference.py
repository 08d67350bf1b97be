"""The digital baselines on Kodak-24 against CompressAI's published curves (slow: about 40 min).

Run with ``pytest -m slow tests/codecs/test_published_reference.py`` (Kodak in
``$TESTBED_KODAK`` or ``../shared/data/kodak``). One sweep, AWGN, CBR 1/16, SNR 1..13 dB:

* ``bpg_capacity`` (the stand-in at bpgenc's settings, 4:4:4) within 0.3 dB of CompressAI's BPG
  4:4:4 results put through the capacity bound (:mod:`testbed.report.published`), at every SNR:
  issue 14's bar. The remaining difference is the averaging (per budget here, per quality there)
  and x265's version (the one libbpg 0.9.8 bundles against the one in PyAV's wheel).
* ``jpeg_capacity`` against CompressAI's JPEG curve the same way (SNR 4..13 dB; 1 dB lies below
  JPEG quality 5, the curve's first point). With Pillow's defaults, as CompressAI ran it
  (``source.optimize=false``), within 0.4 dB (measured +0.27..+0.34 dB: the published curve is
  interpolated between qualities 5 apart, and a chord of a concave curve lies under it). Our
  default writes optimised Huffman tables (``optimize: true``), which buys a further 0.2-1.0 dB,
  most at the lowest rates: measured +0.50..+1.33 dB over the published curve, bounded here by
  0.3..1.5 dB.
* ``bpg_ldpc_table``'s envelope over the TS 38.214 MCS table 1 rises with SNR, and at 13 dB it
  stays within 1.1 dB of ``bpg_capacity`` (measured 34.78 against 35.77 dB). Issue 14 asked for
  35.0 dB there; the table's step from 64QAM 616/1024 (3.61 bit per use: no errors on any image
  at 13 dB) to 666/1024 (3.90: residual errors on every image, 50 decoder iterations as well as
  20) costs that. A finer table would reach it; TS 38.214 has none.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from testbed.report.aggregate import curves
from testbed.report.published import COMPRESSAI_BPG_444, COMPRESSAI_JPEG, capacity_derived_curve

from ..conftest import run_cli

SNRS = [1.0, 4.0, 7.0, 10.0, 13.0]
KODAK = Path(os.environ.get("TESTBED_KODAK", Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "kodak"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not KODAK.is_dir(), reason=f"Kodak-24 not found at {KODAK} (set TESTBED_KODAK)"),
]


def _sweep(out: Path, *overrides: str) -> list[dict]:
    """Rows of one Kodak sweep at AWGN, CBR 1/16, the SNRS, PSNR only, into ``out``."""
    run = run_cli(
        "dataset=kodak", f"dataset.path={KODAK}", *overrides, "channel=[awgn]", "metric=[psnr]",
        f"snr_db=[{','.join(f'{s:g}' for s in SNRS)}]", "cbr=[1/16]", "save_images=0", "plots=false",
        "report=false", "threads=1", f"hydra.run.dir={out}", timeout=4 * 3600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    with (out / "results.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> list[dict]:
    return _sweep(tmp_path_factory.mktemp("kodak") / "run", "codec=[bpg_capacity,jpeg_capacity,bpg_ldpc_table]")


def mean_psnr(rows: list[dict], codec: str) -> dict[float, float]:
    per_snr = defaultdict(list)
    for row in rows:
        if row["codec"] == codec:
            per_snr[float(row["snr_db"])].append(float(row["psnr"]))
    assert all(len(per_snr[s]) == 24 for s in SNRS), {s: len(v) for s, v in per_snr.items()}
    return {s: float(np.mean(per_snr[s])) for s in SNRS}


def test_bpg_capacity_within_0_3_db_of_compressai(rows):
    ours = mean_psnr(rows, "bpg_capacity")
    published = capacity_derived_curve(COMPRESSAI_BPG_444, SNRS, 1 / 16)
    gaps = {s: round(ours[s] - published[s], 3) for s in SNRS}
    assert all(abs(g) <= 0.3 for g in gaps.values()), gaps


def test_jpeg_capacity_above_compressai_by_its_optimised_huffman_tables(rows):
    ours = mean_psnr(rows, "jpeg_capacity")
    published = capacity_derived_curve(COMPRESSAI_JPEG, SNRS[1:], 1 / 16)
    gaps = {s: round(ours[s] - published[s], 3) for s in SNRS[1:]}
    assert all(0.3 <= g <= 1.5 for g in gaps.values()), gaps


def test_jpeg_capacity_with_pillow_defaults_equals_compressai(tmp_path):
    rows = _sweep(tmp_path / "run", "codec=[jpeg_capacity]", "codec.jpeg_capacity.source.optimize=false")
    ours = mean_psnr(rows, "jpeg_capacity")
    published = capacity_derived_curve(COMPRESSAI_JPEG, SNRS[1:], 1 / 16)
    gaps = {s: round(ours[s] - published[s], 3) for s in SNRS[1:]}
    assert all(abs(g) <= 0.4 for g in gaps.values()), gaps


def test_mcs_table_envelope_rises_and_follows_the_capacity_bound(rows):
    table = [r for r in rows if r["codec"] == "bpg_ldpc_table"]
    assert {r["mcs"] for r in table} and all(r["mcs_policy"] == "table" for r in table)
    (envelope,) = curves(table, "psnr", "snr_db", "cbr", 1 / 16)
    assert list(envelope.x) == SNRS and all(envelope.count == 24)
    assert np.all(np.diff(envelope.mean) > 0), dict(zip(envelope.x, envelope.mean))
    (bound,) = curves([r for r in rows if r["codec"] == "bpg_capacity"], "psnr", "snr_db", "cbr", 1 / 16)
    assert bound.mean[-1] - envelope.mean[-1] <= 1.1, (bound.mean[-1], envelope.mean[-1])
    assert envelope.mean[-1] >= 34.7, dict(zip(envelope.x, envelope.mean))
