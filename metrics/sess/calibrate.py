"""Calibration: fit SeSS hyperparameters to human similarity scores (maximum Spearman correlation).

Annotation CSV (what the calibration command reads; :func:`read_annotation_csv`): UTF-8, a header
row, one image pair per row, columns ``image_a`` (the reference), ``image_b`` (the other image) and
``human_score`` (a number, higher = more similar; only its ranking matters). Image paths are
relative to the CSV file's folder and inside it (absolute paths and ``..`` are refused: link images
into the folder to use them from elsewhere); other columns are ignored.

:func:`calibrate` takes the pairs as scene graphs, maximises the Spearman rank correlation between
SeSS and the human scores over the named :class:`SeSSParams` float fields with scipy's seeded
differential evolution inside bounds (Spearman is piecewise constant in the parameters, so
gradient and simplex methods stall on its plateaus), optionally for each value of a small grid of
``iterations``, and reports k-fold cross-validation (the fit on k-1 folds scored on the held-out
fold, for the fitted and for the default parameters) plus the fit on all pairs, which is what
:func:`write_calibration` saves: a YAML file with a flat ``params:`` mapping of every SeSSParams
field (:func:`params.load_params` reads it) and a ``calibration:`` report.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.optimize import differential_evolution
from scipy.stats import spearmanr

from testbed.core.errors import ConfigError

from testbed.metrics.sess.graph import SceneGraph
from testbed.metrics.sess.matching.score import SeSSPair
from testbed.metrics.sess.params import BUILD_FIELDS, IMPORTANCE_FIELDS, SeSSParams, float_fields

#: Search ranges of the fittable fields (exponents > 0, weights and rates in [0, 1]).
DEFAULT_BOUNDS = {"saliency_exponent": (0.5, 10.0), "relation_exponent": (0.5, 10.0)}


def read_annotation_csv(path: str | Path) -> list[tuple[Path, Path, float]]:
    """``[(image_a, image_b, human_score)]`` of an annotation CSV (format in the module docstring)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
    except OSError as err:
        raise ConfigError(f"cannot read annotation file {path}: {err}") from err
    missing = {"image_a", "image_b", "human_score"} - set(reader.fieldnames or [])
    if missing:
        raise ConfigError(f"{path}: needs columns image_a, image_b, human_score (missing {sorted(missing)})")
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            score = float(row["human_score"])
        except (TypeError, ValueError):
            raise ConfigError(f"{path}, line {line}: human_score {row['human_score']!r} is not a number") from None
        if not np.isfinite(score):
            raise ConfigError(f"{path}, line {line}: human_score must be finite")
        pair = []
        for column in ("image_a", "image_b"):
            name = row[column] or ""
            inside = os.path.normpath(name) if name else ""
            image = path.parent / inside
            if not inside or Path(name).is_absolute() or inside == ".." or inside.startswith(".." + os.sep):
                raise ConfigError(f"{path}, line {line}: {column} {name!r} is not a path inside the CSV's folder "
                                  f"{path.parent} (image paths are relative to it)")
            pair.append(image)
        out.append((pair[0], pair[1], score))
    return out


@dataclass
class Fold:
    """One cross-validation fold: sizes, fitted values, Spearman correlations."""

    index: int
    train: int
    test: int
    values: dict
    train_spearman: float
    heldout_spearman: float
    heldout_default_spearman: float


@dataclass
class Calibration:
    """Fit on all pairs (``params``, ``values``) and the cross-validation report."""

    params: SeSSParams
    values: dict
    spearman: float                  # fitted parameters, all pairs
    default_spearman: float          # base parameters, all pairs
    folds: list[Fold] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    @property
    def mean_heldout(self) -> float:
        return float(np.mean([f.heldout_spearman for f in self.folds])) if self.folds else float("nan")

    @property
    def mean_heldout_default(self) -> float:
        return float(np.mean([f.heldout_default_spearman for f in self.folds])) if self.folds else float("nan")


def _spearman(scores, human) -> float:
    rho = spearmanr(scores, human).statistic if len(scores) > 1 else float("nan")
    return -1.0 if not np.isfinite(rho) else float(rho)  # constant scores: worst


class _Scorer:
    """SeSS of many pairs under changing parameters; plans are reused unless importance changes."""

    def __init__(self, pairs, predicate_similarity):
        self.pairs = [SeSSPair(a, b, predicate_similarity) for a, b, _ in pairs]
        self.human = np.array([h for _, _, h in pairs], dtype=np.float64)
        self.r = predicate_similarity

    def scores(self, params: SeSSParams, index, reweight: bool) -> np.ndarray:
        if reweight:  # importance fields: recompute importance from the saliency masses
            return np.array([SeSSPair(self.pairs[i].g1.with_importance(params),
                                      self.pairs[i].g2.with_importance(params), self.r).score(params) for i in index])
        return np.array([self.pairs[i].score(params) for i in index])

    def spearman(self, params, index, reweight) -> float:
        return _spearman(self.scores(params, index, reweight), self.human[index])


def _fit(scorer, index, names, bounds, base, grid, reweight, seed, maxiter, popsize):
    """Best (params, values, train Spearman) on the pairs ``index``."""
    best = None
    for iterations in grid:
        start = base.replace(iterations=iterations)

        def loss(x, start=start):
            return -scorer.spearman(start.replace(**dict(zip(names, x))), index, reweight)

        if names:
            found = differential_evolution(loss, bounds, seed=seed, maxiter=maxiter, popsize=popsize,
                                           polish=False, tol=1e-6, init="sobol")
            x, fun = found.x, found.fun
        else:  # only the iterations grid
            x, fun = np.zeros(0), loss(np.zeros(0))
        if best is None or fun < best[2]:
            best = (start.replace(**dict(zip(names, x))), x, fun)
    params, x, fun = best
    values = {name: float(v) for name, v in zip(names, x)}
    if len(grid) > 1:
        values["iterations"] = params.iterations
    return params, values, float(-fun)


def calibrate(pairs: Sequence[tuple[SceneGraph, SceneGraph, float]], fit: Sequence[str],
              predicate_similarity: np.ndarray, base: SeSSParams | None = None, folds: int = 5,
              iterations_grid: Sequence[int] | None = None, bounds: dict | None = None, seed: int = 0,
              maxiter: int = 30, popsize: int = 10) -> Calibration:
    """Fit the float fields ``fit`` (and ``iterations`` from ``iterations_grid``) to
    ``pairs`` = ``[(graph_a, graph_b, human_score)]`` with ``folds``-fold cross-validation."""
    base = base or SeSSParams()
    names = list(fit)
    for name in names:
        if name in BUILD_FIELDS:
            raise ConfigError(f"{name} changes how graphs are built: rebuild the graphs instead of fitting it")
        if name == "iterations":
            raise ConfigError("iterations is an integer: give the values to try as iterations_grid")
        if name not in float_fields():
            raise ConfigError(f"cannot fit {name!r}: fittable fields are the float fields "
                              f"{[f for f in float_fields() if f not in BUILD_FIELDS]}")
    if not names and not iterations_grid:
        raise ConfigError("nothing to fit: name fields in fit= or give an iterations_grid")
    if len(pairs) < max(2 * folds, 4):
        raise ConfigError(f"{len(pairs)} annotated pairs are too few for {folds}-fold cross-validation")
    limits = [tuple((bounds or {}).get(n, DEFAULT_BOUNDS.get(n, (0.0, 1.0)))) for n in names]
    grid = list(iterations_grid or [base.iterations])
    reweight = any(n in IMPORTANCE_FIELDS for n in names)
    scorer = _Scorer(pairs, np.asarray(predicate_similarity, np.float64))
    options = dict(seed=seed, maxiter=maxiter, popsize=popsize)
    everything = np.arange(len(pairs))
    split = np.array_split(np.random.default_rng(seed).permutation(len(pairs)), folds) if folds > 1 else []
    report = []
    for i, test in enumerate(split):
        train = np.setdiff1d(everything, test)
        params, values, train_rho = _fit(scorer, train, names, limits, base, grid, reweight, seed, maxiter, popsize)
        report.append(Fold(i, len(train), len(test), values, train_rho, scorer.spearman(params, test, reweight),
                           scorer.spearman(base, test, reweight)))
    params, values, rho = _fit(scorer, everything, names, limits, base, grid, reweight, seed, maxiter, popsize)
    options.update(fitted=names, bounds={n: list(b) for n, b in zip(names, limits)}, folds=folds,
                   iterations_grid=grid, pairs=len(pairs), optimiser="scipy.optimize.differential_evolution")
    return Calibration(params, values, rho, scorer.spearman(base, everything, reweight), report, options)


def write_calibration(result: Calibration, path: str | Path) -> Path:
    """Write the fitted parameters (flat ``params:``) and the report (``calibration:``) as YAML."""
    import yaml

    path = Path(path)
    report = {"values": result.values, "spearman_fitted_all_pairs": result.spearman,
              "spearman_default_all_pairs": result.default_spearman,
              "mean_heldout_spearman": result.mean_heldout,
              "mean_heldout_default_spearman": result.mean_heldout_default,
              "folds": [vars(f) for f in result.folds], **result.options}
    header = ("# SeSS hyperparameters fitted to human similarity scores (testbed.metrics.sess.calibrate:\n"
              "# maximum Spearman rank correlation, k-fold cross-validated). Read with\n"
              "# testbed.metrics.sess.load_params(path): only the flat 'params:' mapping is used.\n")
    body = yaml.safe_dump({"params": result.params.to_mapping(), "calibration": report}, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body)
    return path
