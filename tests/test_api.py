"""The Python API (testbed.api): compose, run, load, figures, as a notebook user calls them."""

import pandas as pd
import pytest

import testbed.api as tb
from testbed.core.errors import ConfigError
from testbed.run.results import read_results

from .conftest import TINY

SMALL = (*TINY, "codec=[uncoded,jpeg_capacity]", "channel=[awgn]", "snr_db=[1,10]", "cbr=[1/16]")


def test_compose_checks_overrides_like_the_cli():
    cfg = tb.compose("codec=[uncoded]", "snr_db=[3]")
    assert list(cfg.codec) == ["uncoded"] and list(cfg.snr_db) == [3]
    with pytest.raises(ConfigError, match="uncoded"):
        tb.compose("codec=[uncodd]")  # answered with the closest name, as on the command line


def test_run_returns_the_folder_and_every_row_as_a_dataframe(tmp_path):
    run = tb.run(*SMALL, out=tmp_path / "run")
    assert run.folder == tmp_path / "run" and (run.folder / "results.csv").is_file()
    rows = read_results(run.folder / "results.csv")
    assert isinstance(run.results, pd.DataFrame) and len(run.results) == len(rows) == 2 * 2 * 2
    assert set(run.results.codec) == {"uncoded", "jpeg_capacity"}
    # the same values as the file, typed
    by_key = {(r["image_id"], r["codec"], r["snr_db"]): r["psnr"] for r in rows}
    for r in run.results.itertuples():
        assert r.psnr == pytest.approx(by_key[(r.image_id, r.codec, r.snr_db)], rel=0, abs=0)
    assert run.results.psnr.dtype == float and run.results.decode_failed.dtype == bool
    assert isinstance(run.results.provenance.iloc[0], dict) and "codec" in run.results.provenance.iloc[0]
    # a second call resumes: nothing recomputed, nothing duplicated
    again = tb.run(*SMALL, out=tmp_path / "run")
    assert len(again.results) == len(run.results)


def test_load_joins_runs_and_figures_draw_from_a_dataframe(tmp_path):
    a = tb.run(*SMALL, out=tmp_path / "a", plots=False, report=False)
    b = tb.run(*SMALL, "seed=1", out=tmp_path / "b", plots=False, report=False)
    df = tb.load(a.folder, b.folder / "results.csv")
    assert len(df) == len(a.results) + len(b.results) and set(df.run) == {str(a.folder), str(b.folder)}
    figs = tb.figures(df[df.codec == "uncoded"], "psnr")
    assert list(figs) == ["psnr_vs_snr_cbr0.0625"]
    axes = figs["psnr_vs_snr_cbr0.0625"].axes[0]
    assert sorted(t.get_text() for t in axes.get_legend().get_texts()) == ["uncoded / awgn [a]", "uncoded / awgn [b]"]
    one = tb.figures(df[(df.codec == "uncoded") & (df.run == str(a.folder))], "psnr")["psnr_vs_snr_cbr0.0625"]
    (container,) = one.axes[0].containers
    line = container[0]  # the errorbar's data line
    mean_at_1 = a.results[(a.results.codec == "uncoded") & (a.results.snr_db == 1)].psnr.mean()
    assert line.get_ydata()[0] == pytest.approx(mean_at_1)
    with pytest.raises(ConfigError, match="no column 'lpips'"):
        tb.figures(df, "lpips")
    with pytest.raises(ConfigError, match="no results.csv"):
        tb.load(tmp_path / "nowhere")


def test_the_readme_example_runs(tmp_path, monkeypatch):
    """The notebook example of README.md's Python API section, as a user pastes it."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Python API"):]
    example = re.search(r"```python\n(import testbed\.api as tb\n.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md (Python API)", "exec"), namespace)
    assert (tmp_path / "outputs/notebook/report.html").is_file()
    assert (tmp_path / "outputs/notebook/adjscc_psnr.png").is_file()
    assert set(namespace["df"].codec) == {"bpg_capacity", "adjscc"} and len(namespace["df"]) == 2 * 3 * 2
