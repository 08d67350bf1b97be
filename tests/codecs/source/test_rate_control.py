"""Rate control: best fitting quality, cache reuse, no-fit case, cache keys."""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np
import pytest
import torch
from skimage import data, transform

from testbed.core.codec import ImageRecord, SourceCodec
from testbed.codecs.source.jpeg import JPEGSource
from testbed.codecs.source.rate_control import EncodingCache, best_quality, source_cache_key


class SizedSource(SourceCodec):
    """Fake source whose file at quality index i is ``sizes[i]`` bytes."""

    name = "sized"

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = list(sizes)
        self.calls = 0

    @property
    def qualities(self) -> Sequence[float]:
        return list(range(len(self.sizes)))

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        self.calls += 1
        return b"x" * self.sizes[int(quality)]

    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        return np.zeros((height, width, 3), dtype=np.uint8)


def _record(img: np.ndarray, image_id: str = "astronaut") -> ImageRecord:
    pixels = torch.from_numpy(img).permute(2, 0, 1).float().div(255.0)
    return ImageRecord(image_id, pixels, hashlib.sha256(img.tobytes()).hexdigest())


@pytest.fixture(scope="module")
def record() -> ImageRecord:
    img = (transform.resize(data.astronaut(), (64, 96), anti_aliasing=True) * 255).round().astype(np.uint8)
    return _record(img)


def test_best_quality_is_highest_fitting_jpeg(record: ImageRecord) -> None:
    src = JPEGSource()
    sizes = {q: len(src.encode(record.as_uint8(), q)) for q in src.qualities}
    budget = sizes[60]
    cache = EncodingCache()
    found = best_quality(src, record, cache, lambda n: n <= budget)
    assert found is not None
    quality, blob = found
    assert len(blob) <= budget and len(blob) == sizes[quality]
    assert quality >= 60 - 2  # sizes are near-monotonic: at most a small step below the optimum
    if quality < 95:
        assert sizes[quality + 1] > budget
    assert cache.misses <= 10


def test_second_call_hits_cache_only(record: ImageRecord) -> None:
    src, cache = JPEGSource(), EncodingCache()
    first = best_quality(src, record, cache, lambda n: n <= 1500)
    misses, hits = cache.misses, cache.hits
    second = best_quality(src, record, cache, lambda n: n <= 1500)
    assert second == first
    assert cache.misses == misses and cache.hits > hits


def test_none_when_nothing_fits(record: ImageRecord) -> None:
    cache = EncodingCache()
    assert best_quality(JPEGSource(), record, cache, lambda n: n <= 50) is None
    assert cache.misses == 1  # only the worst quality was tried


def test_exact_on_monotonic_scale(record: ImageRecord) -> None:
    src = SizedSource([10 * (i + 1) for i in range(40)])
    for budget in (10, 15, 205, 400, 10_000):
        found = best_quality(src, record, EncodingCache(), lambda n, b=budget: n <= b)
        assert found is not None
        expected = min(budget // 10, 40) - 1
        assert found[0] == expected and len(found[1]) <= budget


def test_non_monotonic_scale_still_returns_a_fitting_file(record: ImageRecord) -> None:
    src = SizedSource([10, 20, 35, 30, 50, 45, 70, 60, 90, 80])
    for budget in range(10, 100, 3):
        quality, blob = best_quality(src, record, EncodingCache(), lambda n, b=budget: n <= b)
        assert len(blob) <= budget


def test_cache_keys_separate_settings_and_images(record: ImageRecord) -> None:
    cache = EncodingCache()
    a = cache.get_or_encode(JPEGSource(), record, 50)
    b = cache.get_or_encode(JPEGSource(subsampling="4:4:4"), record, 50)
    flipped = _record(record.as_uint8()[:, ::-1].copy(), "flipped")
    c = cache.get_or_encode(JPEGSource(), flipped, 50)
    assert cache.misses == 3 and len({a, b, c}) == 3
    assert cache.get_or_encode(JPEGSource(), record, 50) == a and cache.hits == 1


def test_fallback_cache_key_uses_type_and_describe() -> None:
    key = source_cache_key(SizedSource([1]))
    assert "SizedSource" in key and "sized" in key
    assert source_cache_key(JPEGSource()) == JPEGSource().cache_key
