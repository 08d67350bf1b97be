"""Calibration recovers known hyperparameters from synthetic "human" scores; files and errors."""

import numpy as np
import pytest
import yaml

from testbed.core.errors import ConfigError
from testbed.metrics.sess import SeSSParams, load_params
from testbed.metrics.sess.calibrate import calibrate, read_annotation_csv, write_calibration

from .synthetic import annotated_pairs, random_similarity

TRUTH = {"location_weight": 0.6, "global_weight": 0.35, "update_rate": 0.15}
#: Spearman only sees rankings: over seeds 0-5, 60 pairs gave errors up to 0.07, 0.05 and 0.031.
TOLERANCE = {"location_weight": 0.12, "global_weight": 0.06, "update_rate": 0.04}


def test_recovers_known_parameters_and_beats_the_defaults_held_out(tmp_path):
    rng = np.random.default_rng(0)
    r = random_similarity(rng)
    pairs = annotated_pairs(rng, 60, SeSSParams(**TRUTH), r, noise=0.002)
    result = calibrate(pairs, list(TRUTH), r, folds=3, seed=0, maxiter=8, popsize=5)
    print({k: round(v, 4) for k, v in result.values.items()}, "held-out", round(result.mean_heldout, 4),
          "defaults", round(result.mean_heldout_default, 4))
    for name, value in TRUTH.items():
        assert abs(result.values[name] - value) <= TOLERANCE[name], (name, result.values[name])
        assert getattr(result.params, name) == result.values[name]
    assert len(result.folds) == 3 and sum(f.test for f in result.folds) == 60
    assert result.mean_heldout > result.mean_heldout_default
    assert result.spearman > result.default_spearman
    path = write_calibration(result, tmp_path / "sess_calibrated.yaml")
    assert load_params(path) == result.params
    document = yaml.safe_load(path.read_text())
    assert set(document["params"]) == set(SeSSParams().to_mapping())
    assert document["calibration"]["mean_heldout_spearman"] == pytest.approx(result.mean_heldout)


def test_refuses_what_it_cannot_fit():
    rng = np.random.default_rng(1)
    r = random_similarity(rng)
    pairs = annotated_pairs(rng, 12, SeSSParams(), r)
    with pytest.raises(ConfigError, match="rebuild"):
        calibrate(pairs, ["triplet_threshold"], r)
    with pytest.raises(ConfigError, match="fittable"):
        calibrate(pairs, ["update"], r)
    with pytest.raises(ConfigError, match="too few"):
        calibrate(pairs[:5], ["global_weight"], r)
    with pytest.raises(ConfigError, match="nothing to fit"):
        calibrate(pairs, [], r)
    with pytest.raises(ConfigError, match="iterations_grid"):
        calibrate(pairs, ["iterations"], r)


def test_iterations_grid_and_importance_fields_run():
    rng = np.random.default_rng(2)
    r = random_similarity(rng)
    pairs = annotated_pairs(rng, 8, SeSSParams(iterations=3), r)
    for a, b, _ in pairs:  # importance fields need saliency masses to recompute importance from
        a.saliency_mass, b.saliency_mass = rng.random(a.num_nodes), rng.random(b.num_nodes)
    result = calibrate(pairs, ["saliency_weight"], r, folds=2, iterations_grid=[1, 3], maxiter=2, popsize=3)
    assert result.values["iterations"] in (1, 3) and 0 <= result.values["saliency_weight"] <= 1
    only_grid = calibrate(pairs, [], r, folds=2, iterations_grid=[0, 3])
    assert only_grid.values == {"iterations": only_grid.params.iterations}


def test_annotation_csv(tmp_path):
    (tmp_path / "ann.csv").write_text("image_a,image_b,human_score,rater\nref/1.png,rec/1.png,4.5,x\n"
                                      "ref/./2.png,rec/sub/../2.png,-1,y\n")
    rows = read_annotation_csv(tmp_path / "ann.csv")
    assert rows == [(tmp_path / "ref/1.png", tmp_path / "rec/1.png", 4.5),
                    (tmp_path / "ref/2.png", tmp_path / "rec/2.png", -1.0)]
    (tmp_path / "bad.csv").write_text("image_a,image_b,score\na,b,1\n")
    with pytest.raises(ConfigError, match="human_score"):
        read_annotation_csv(tmp_path / "bad.csv")
    (tmp_path / "empty.csv").write_text("image_a,image_b,human_score\n")
    assert read_annotation_csv(tmp_path / "empty.csv") == []
    (tmp_path / "nan.csv").write_text("image_a,image_b,human_score\na,b,good\n")
    with pytest.raises(ConfigError, match="line 2"):
        read_annotation_csv(tmp_path / "nan.csv")


def test_params_mapping():
    params = SeSSParams.from_mapping({"iterations": 5.0, "global_weight": 0.1})
    assert params.iterations == 5 and params.global_weight == 0.1
    assert SeSSParams.from_mapping(params.to_mapping()) == params
    with pytest.raises(ConfigError, match="unknown SeSS parameter"):
        SeSSParams.from_mapping({"alpha": 0.3})
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        SeSSParams(relation_weight=1.5)
    with pytest.raises(ConfigError, match="update"):
        SeSSParams(update="gauss-seidel")
    with pytest.raises(ConfigError, match="integer"):
        SeSSParams(iterations=2.5)
