"""SeSS semantic sanity (issue 6): each image against (a) itself, (b) its mirror, (c) a 5-degree
rotation, (d) +20 % brightness, (e) Gaussian noise sigma 0.1, (f) JPEG quality 5, (g) the next image
of the set. Prints mean +- std of SeSS and PSNR per condition and the fraction of images for which

* the strict order holds: a > max(b, c, d), min(b, c, d) > max(e, f), min(e, f) > g;
* the relaxed order holds: mean(b, c, d) > mean(e, f) > g;

and whether the means follow a > (b, c, d) > (e, f) > g. Not collected by pytest.

    OMP_NUM_THREADS=1 python tests/benchmarks/sess_sanity.py --dataset kodak [--option sess_448]
    OMP_NUM_THREADS=1 python tests/benchmarks/sess_sanity.py --dataset folder --path ../shared/data/photos
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

CONDITIONS = {"a": "identity", "b": "hflip", "c": "rotate5", "d": "brightness20", "e": "noise0.1", "f": "jpeg5",
              "g": "other image"}


def other_image_scores(metric, records) -> np.ndarray:
    """(g): each image against the next one of the set (resized to its size if they differ)."""
    refs = [r.pixels for r in records]
    preds = [records[(i + 1) % len(records)].pixels for i in range(len(records))]
    preds = [p if p.shape == ref.shape else torch.nn.functional.interpolate(
        p[None], size=ref.shape[-2:], mode="bilinear", antialias=True)[0] for p, ref in zip(preds, refs)]
    return metric.score_many(preds, refs, [r.content_hash for r in records]).numpy()


def main() -> None:
    from testbed.config.catalogue import instantiate, option_node
    from testbed.report.transforms import evaluate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="kodak")
    parser.add_argument("--path", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--option", default="sess", help="the metric option (sess, sess_448, ...)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    node = option_node("dataset", args.dataset)
    for key in ("path", "limit"):
        if getattr(args, key) is not None:
            node[key] = getattr(args, key)
    records = instantiate(node).load()
    metrics = {"psnr": instantiate(option_node("metric", "psnr")), args.option: instantiate(option_node("metric", args.option))}
    for m in metrics.values():
        m.check()
    started = time.perf_counter()
    transforms = [c for c in CONDITIONS.values() if c != "other image"]
    rows = evaluate(records, metrics, transforms)  # (a)-(f): the transformation experiment's scoring
    table = {letter: {name: np.array([r[name] for r in rows if r["transform"] == condition]) for name in metrics}
             for letter, condition in CONDITIONS.items() if condition in transforms}
    table["g"] = {name: other_image_scores(m, records) for name, m in metrics.items()}
    seconds = time.perf_counter() - started
    print(f"{args.option} on {args.dataset} ({len(records)} images), {seconds:.0f} s")
    print(f"| condition | {args.option} | PSNR (dB) |\n|---|---|---|")
    for letter, condition in CONDITIONS.items():
        s, p = table[letter][args.option], table[letter]["psnr"]
        print(f"| ({letter}) {condition} | {s.mean():.3f} +- {s.std():.3f} | {p.mean():.2f} |")
    s = {k: v[args.option] for k, v in table.items()}
    kept, degraded = np.stack([s["b"], s["c"], s["d"]]), np.stack([s["e"], s["f"]])
    strict = (s["a"] > kept.max(0)) & (kept.min(0) > degraded.max(0)) & (degraded.min(0) > s["g"])
    relaxed = (kept.mean(0) > degraded.mean(0)) & (degraded.mean(0) > s["g"])
    means = {k: float(v.mean()) for k, v in s.items()}
    shape = (means["a"] > max(means[k] for k in "bcd") and min(means[k] for k in "bcd") > max(means[k] for k in "ef")
             and min(means[k] for k in "ef") > means["g"])
    print(f"strict order: {int(strict.sum())}/{len(records)}; relaxed order: {int(relaxed.sum())}/{len(records)}; "
          f"means follow a > (b,c,d) > (e,f) > g: {shape}")


if __name__ == "__main__":
    main()
