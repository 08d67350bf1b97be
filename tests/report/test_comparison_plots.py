"""The metric-comparison figures: normalisation, rank correlation (checked against scipy's spearmanr)."""

import numpy as np
from scipy.stats import spearmanr

from testbed.report.comparison_plots import correlation_figure, normalise, panel_figure, panel_metrics, rank_correlation


def _rows(n=40, seed=0):
    rng = np.random.default_rng(seed)
    quality = rng.uniform(0, 1, n)
    rows = []
    for i, q in enumerate(quality):
        rows.append(dict(codec="a" if i % 2 else "b", channel="awgn", mcs="analog", mcs_policy="analog",
                         snr_db=float(i % 4), cbr=0.0625, psnr=20 + 10 * q + rng.normal(0, 1),
                         st_lpips=0.5 - 0.4 * q + rng.normal(0, 0.05), sess=float(np.round(q, 1))))
    return rows


def test_rank_correlation_matches_scipy_with_lower_is_better_negated():
    rows = _rows()
    names, rho, n = rank_correlation(rows, ["sess", "st_lpips", "psnr"])
    assert names == ["psnr", "-st_lpips", "sess"] and n == len(rows)  # panel order, lower-is-better negated
    table = np.array([[r["psnr"], -r["st_lpips"], r["sess"]] for r in rows])
    expected = spearmanr(table).statistic  # independent implementation (ties: mean ranks, as here)
    assert np.allclose(rho, expected, atol=1e-12)
    assert rho[0, 1] > 0.5  # PSNR up, ST-LPIPS down: they agree, so rho is positive


def test_two_metrics_and_too_few_rows():
    names, rho, _ = rank_correlation(_rows(), ["psnr", "sess"])
    assert rho.shape == (2, 2) and np.isclose(rho[0, 0], 1.0)
    _, rho, n = rank_correlation(_rows(2), ["psnr", "sess"])
    assert n == 2 and np.isnan(rho).all()


def test_normalise_maps_best_to_one_for_both_directions():
    assert np.allclose(normalise(np.array([20.0, 30.0]), "psnr", 20.0, 30.0), [0.0, 1.0])
    assert np.allclose(normalise(np.array([0.1, 0.5]), "st_lpips", 0.1, 0.5), [1.0, 0.0])
    assert panel_metrics(["sess", "custom", "psnr"]) == ["psnr", "sess", "custom"]


def test_figures_draw_one_panel_per_metric():
    rows = _rows()
    fig = panel_figure(rows, ["psnr", "st_lpips", "sess"], "snr_db", "cbr", 0.0625, "t")
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split("\n")[0] for ax in axes] == ["psnr", "st_lpips", "sess"]
    assert all(len(ax.lines) == 2 for ax in axes)  # codecs a and b
    for ax in axes:
        for line in ax.lines:
            assert np.nanmin(line.get_ydata()) >= 0 and np.nanmax(line.get_ydata()) <= 1
    assert correlation_figure(rows, ["psnr", "sess"]).axes
