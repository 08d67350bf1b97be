"""Where a run's time goes: one experiment run in this process, every stage timed (not collected by
pytest; run it as a script).

Stages: start-up (config, plugins, weights, dataset), each codec's transmissions (encode -> channel
-> decode; for the digital codecs split into LDPC decoding and the rest, which is mostly source
coding and rate control), each metric's scoring, the figures and the report. Prints seconds and
shares of the total, measured in one run.

    python tests/benchmarks/bench_stages.py                           # the default experiment
    python tests/benchmarks/bench_stages.py experiment=paper_snr dataset.limit=4
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

SPENT: dict[str, float] = defaultdict(float)


@contextmanager
def timed(stage: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        SPENT[stage] += time.perf_counter() - start


def _wrap(owner, attribute: str, stage_of):
    """Replace ``owner.attribute`` by a version that adds its time to ``stage_of(*args)``."""
    original = getattr(owner, attribute)

    def wrapper(*args, **kwargs):
        with timed(stage_of(*args)):
            return original(*args, **kwargs)

    setattr(owner, attribute, wrapper)


def instrument() -> None:
    """Time the link's stages by wrapping the functions every sweep point goes through."""
    import testbed.run.link as link
    import testbed.run.sweep as sweep
    from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G

    _wrap(sweep, "build", lambda *a: "start-up (config, plugins, weights, dataset)")
    _wrap(link, "transmit", lambda codec, *a: f"codec {codec.name}")
    _wrap(LDPC5G, "decode_batch", lambda *a: "  of which LDPC decoding")
    original_score = link.score

    def score(metrics, pairs, memo=None):  # per metric: call score() with one metric at a time
        values = [dict() for _ in pairs]
        for name, metric in metrics.items():
            with timed(f"metric {name}"):
                for value, got in zip(values, original_score({name: metric}, pairs, memo)):
                    value.update(got)
        return values

    link.score = score


def main(overrides: list[str]) -> None:
    from hydra import compose, initialize_config_module

    instrument()
    from testbed.report.page import build_report
    from testbed.report.plots import plot_results
    from testbed.run.sweep import run_sweep

    wall = time.perf_counter()
    with timed("start-up (config, plugins, weights, dataset)"):
        with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
            cfg = compose(config_name="config", overrides=overrides)
    with tempfile.TemporaryDirectory() as out:
        results = run_sweep(cfg, out)
        with timed("figures"):
            drawn = plot_results([results], Path(out) / "plots", formats=("png",), scope="run")
        with timed("report"):
            build_report([out], out, figures=[p for p in drawn if not p.stem.startswith("grid_")])
    total = time.perf_counter() - wall
    ldpc = SPENT.pop("  of which LDPC decoding", 0.0)
    print(f"{' '.join(overrides) or 'default experiment'}: {total:.1f} s in all (this process, after imports)")
    for stage, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"  {stage:48s} {seconds:8.1f} s  {100 * seconds / total:5.1f} %")
    print(f"  {'LDPC decoding (inside the digital codecs)':48s} {ldpc:8.1f} s  {100 * ldpc / total:5.1f} %")


if __name__ == "__main__":
    main(sys.argv[1:])
