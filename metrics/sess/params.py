"""Every SeSS hyperparameter in one dataclass, with the values the authors released as defaults.

The fields fall in three groups:

* graph building (read by the backends that turn an image into a :class:`SceneGraph`; changing
  them means rebuilding the graphs, so calibration cannot fit them): ``max_width``,
  ``mask_iou_threshold``, ``max_masks``, ``candidate_triplets``, ``min_triplets``,
  ``triplet_threshold``;
* node importance (``importance.py``): ``saliency_exponent``, ``relation_exponent``,
  ``saliency_weight``;
* matching (``matching.py``): ``location_weight``, ``iterations``, ``relation_weight``,
  ``update_rate``, ``both_empty_score``, ``global_weight``, ``update``.

A ``metric=sess`` config (or a calibration file, see ``calibrate.py``) gives them as a flat
``params:`` mapping; :meth:`SeSSParams.from_mapping` and :func:`load_params` read it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole

UPDATE_ORDERS = ("synchronous", "released")


@dataclass(frozen=True)
class SeSSParams:
    """SeSS hyperparameters (released defaults; the paper's symbol or the released variable name)."""

    # --- graph building (backends) ---
    max_width: int = 800               # images wider than this are shrunk to it before segmentation (px)
    mask_iou_threshold: float = 0.8    # a mask overlapping a larger kept one above this IoU is dropped
    max_masks: int = 512               # masks kept after deduplication, largest first
    candidate_triplets: int = 100      # most probable (subject, object, predicate) triplets considered
    min_triplets: int = 20             # always kept
    triplet_threshold: float = 0.05    # beyond min_triplets, kept while probability >= this
    # --- node importance ---
    saliency_exponent: float = 2.5     # k1: saliency mass ** (1 / k1)
    relation_exponent: float = 3.0     # k2: relation part ** (1 / k2)
    saliency_weight: float = 0.8       # k3: importance = k3 * saliency part + (1 - k3) * relation part
    # --- matching ---
    location_weight: float = 0.2       # theta: S0 = (1 - theta) cos + theta (1 - |dc|^2 / 2)
    iterations: int = 7                # refinement iterations
    relation_weight: float = 0.25      # alpha: M = (1 - alpha) S + alpha R
    update_rate: float = 0.05          # beta: S <- (1 - beta) S + beta * neighbour score
    both_empty_score: float = 1.0      # neighbour score of a pair whose nodes both have no out-edge
    global_weight: float = 0.05        # SeSS = (1 - g) * graph score + g * global cosine
    update: str = "synchronous"        # "synchronous" (Jacobi) or "released" (the authors' order)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "int":
                if not is_whole(value):
                    raise ConfigError(f"SeSS parameter {f.name} must be an integer, got {value!r}")
            elif f.type == "float":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                    raise ConfigError(f"SeSS parameter {f.name} must be a number, got {value!r}")
                object.__setattr__(self, f.name, float(value))
        for name in ("mask_iou_threshold", "triplet_threshold", "saliency_weight", "location_weight",
                     "relation_weight", "update_rate", "global_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"SeSS parameter {name} must lie in [0, 1], got {getattr(self, name)}")
        for name in ("saliency_exponent", "relation_exponent"):
            if not getattr(self, name) > 0.0:
                raise ConfigError(f"SeSS parameter {name} must be > 0, got {getattr(self, name)}")
        for name in ("max_width", "max_masks", "candidate_triplets"):
            if getattr(self, name) < 1:
                raise ConfigError(f"SeSS parameter {name} must be >= 1, got {getattr(self, name)}")
        if self.iterations < 0 or self.min_triplets < 0:
            raise ConfigError("SeSS parameters iterations and min_triplets must be >= 0")
        if self.update not in UPDATE_ORDERS:
            raise ConfigError(f"SeSS parameter update must be one of {UPDATE_ORDERS}, got {self.update!r}")

    def replace(self, **changes: Any) -> "SeSSParams":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def to_mapping(self) -> dict[str, Any]:
        """All fields as a flat ``{name: value}`` dict (the ``params:`` mapping of a config file)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> "SeSSParams":
        """Defaults overridden by ``mapping``; an unknown name is a :class:`ConfigError`."""
        mapping = dict(mapping or {})
        unknown = sorted(set(mapping) - set(field_names()))
        if unknown:
            raise ConfigError(f"unknown SeSS parameter(s) {unknown}; known: {', '.join(field_names())}")
        for name in int_fields():  # YAML may give 7.0 for 7
            value = mapping.get(name)
            if isinstance(value, float) and value.is_integer():
                mapping[name] = int(value)
        return cls(**mapping)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(SeSSParams))


def float_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(SeSSParams) if f.type == "float")


def int_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(SeSSParams) if f.type == "int")


BUILD_FIELDS = ("max_width", "mask_iou_threshold", "max_masks", "candidate_triplets", "min_triplets",
                "triplet_threshold")
IMPORTANCE_FIELDS = ("saliency_exponent", "relation_exponent", "saliency_weight")


def load_params(path: str | Path) -> SeSSParams:
    """Read the flat ``params:`` mapping of a YAML file (other top-level keys are ignored)."""
    import yaml

    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read SeSS parameter file {path}: {err}") from err
    if not isinstance(document, dict) or not isinstance(document.get("params"), dict):
        raise ConfigError(f"{path}: expected a top-level 'params:' mapping of SeSS parameters")
    return SeSSParams.from_mapping(document["params"])
