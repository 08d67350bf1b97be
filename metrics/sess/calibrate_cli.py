"""``testbed sess-calibrate``: fit SeSS hyperparameters to human similarity scores.

    testbed sess-calibrate pairs.csv --fit location_weight relation_weight --folds 5 \\
                           --backend embedded --out sess_params.yaml --seed 0

Reads the annotation CSV (columns ``image_a`` = reference, ``image_b``, ``human_score``; image
paths relative to the CSV; format in :mod:`testbed.metrics.sess.calibrate`), builds every image's
scene graph once with the backend (through the disk cache of :mod:`testbed.metrics.sess.graph_cache`),
fits the named float fields by cross-validated Spearman correlation
(:func:`testbed.metrics.sess.calibrate.calibrate`), prints each fold's held-out Spearman for the
fitted and for the starting parameters and their means, and writes the YAML that
``metric=sess metric.sess.params_file=FILE`` loads.
"""

from __future__ import annotations

from pathlib import Path

from testbed.core.errors import ConfigError


def _mapping(items: list[str] | None, what: str) -> dict:
    """``["key=value", ...]`` -> dict, values read as YAML scalars (``3`` int, ``0.5`` float, ``true``)."""
    import yaml

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {item!r}: write KEY=VALUE")
        out[key.strip()] = yaml.safe_load(value)
    return out


def load_pairs(csv_path: str | Path, metric) -> list[tuple]:
    """``[(graph_a, graph_b, human_score)]`` of an annotation CSV, graphs from ``metric`` (a SeSS)."""
    from testbed.core.images import content_hash, read_image, rgb8_to_tensor
    from testbed.metrics.sess.calibrate import read_annotation_csv

    rows = read_annotation_csv(csv_path)
    paths = list(dict.fromkeys(p for a, b, _ in rows for p in (a, b)))
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise ConfigError(f"{csv_path}: image file(s) not found: {', '.join(missing[:5])}")
    keys, images = [], []
    for path in paths:
        try:
            rgb = read_image(path)
        except Exception as err:  # not an image, cut, too large
            raise ConfigError(f"{csv_path}: {path} is not a readable image ({type(err).__name__}: {err})") from None
        keys.append(content_hash(rgb))
        images.append(rgb8_to_tensor(rgb))
    graphs = dict(zip(paths, metric.reference_graphs(images, keys)))
    return [(graphs[a], graphs[b], score) for a, b, score in rows]


def run(args) -> int:
    from testbed.metrics.sess.calibrate import calibrate, write_calibration
    from testbed.metrics.sess.metric import SeSS

    metric = SeSS(backend=args.backend, backend_options=_mapping(args.backend_option, "--backend-option"),
                  params=_mapping(args.param, "--param"), params_file=args.params_file, cache_dir=args.cache_dir)
    metric.check()
    pairs = load_pairs(args.csv, metric)
    cache = metric.graph_cache
    if cache is not None:
        print(f"{len(pairs)} pairs; graphs: {cache.hits} from the cache, {cache.misses} built ({cache.folder})")
    result = calibrate(pairs, args.fit, metric.backend.predicate_similarity(), base=metric.params, folds=args.folds,
                       iterations_grid=args.iterations_grid, seed=args.seed, maxiter=args.maxiter,
                       popsize=args.popsize)
    # the report's "folds" is the per-fold list; the options' fold count would overwrite it there
    result.options["fold_count"] = result.options.pop("folds", args.folds)
    result.options.update(backend=args.backend, backend_description=metric.backend.describe(),
                          annotations=str(Path(args.csv).resolve()))
    print("fold  train  test  train_rho  heldout_rho  heldout_rho_start")
    for fold in result.folds:
        print(f"{fold.index:4d}  {fold.train:5d}  {fold.test:4d}  {fold.train_spearman:9.4f}  "
              f"{fold.heldout_spearman:11.4f}  {fold.heldout_default_spearman:17.4f}")
    print(f"mean held-out Spearman: fitted {result.mean_heldout:.4f}, starting parameters "
          f"{result.mean_heldout_default:.4f}")
    print(f"all pairs: fitted {result.spearman:.4f}, starting {result.default_spearman:.4f}; values "
          + ", ".join(f"{k}={v:.4g}" for k, v in result.values.items()))
    out = Path(args.out) if args.out else Path(args.csv).with_name(Path(args.csv).stem + "_sess_params.yaml")
    write_calibration(result, out)
    print(f"written: {out}  (use: metric=sess metric.sess.params_file={out})")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("sess-calibrate", help="fit SeSS hyperparameters to human similarity scores")
    p.add_argument("csv", help="annotation CSV: image_a, image_b, human_score (paths relative to it)")
    p.add_argument("--fit", nargs="+", default=[], help="float SeSSParams fields to fit")
    p.add_argument("--iterations-grid", dest="iterations_grid", nargs="+", type=int, default=None,
                   help="values of the integer 'iterations' to try")
    p.add_argument("--folds", type=int, default=5)
    from testbed.config.catalogue import available

    p.add_argument("--backend", default="embedded", choices=available("sess_backend"))
    p.add_argument("--backend-option", dest="backend_option", action="append", metavar="KEY=VALUE",
                   help="a backend constructor option (repeatable)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="a starting SeSSParams value (repeatable)")
    p.add_argument("--params-file", dest="params_file", default=None, help="starting parameters from a YAML")
    p.add_argument("--cache-dir", dest="cache_dir", default=None, help="graph cache root")
    p.add_argument("--out", default=None, help="output YAML (default: <csv stem>_sess_params.yaml beside the CSV)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--maxiter", type=int, default=30, help="differential-evolution generations")
    p.add_argument("--popsize", type=int, default=10, help="differential-evolution population multiplier")
    p.set_defaults(func=run)
