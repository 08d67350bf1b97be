"""JPEGSource: JFIF round trips, quality ordering, hardened decoding of corrupted streams."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import ImageFile
from skimage import data, transform

from testbed.codecs.source.jpeg import JPEGSource
from testbed.testing import check_corrupt_streams, check_source_codec

H, W = 64, 96


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """Astronaut, ``uint8 [64, 96, 3]``."""
    return (transform.resize(data.astronaut(), (H, W), anti_aliasing=True) * 255).round().astype(np.uint8)




def test_qualities_are_1_to_95() -> None:
    assert list(JPEGSource().qualities) == list(range(1, 96))


def test_encode_is_complete_jfif(image: np.ndarray) -> None:
    blob = JPEGSource().encode(image, 50)
    assert blob[:2] == b"\xff\xd8" and blob[-2:] == b"\xff\xd9"
    assert b"JFIF" in blob[:32]


def test_round_trip_and_psnr_grows_with_quality(image: np.ndarray) -> None:
    scores = check_source_codec(JPEGSource(), image, (5, 30, 70, 95))
    assert scores[-1] > 30


def test_settings_change_the_file(image: np.ndarray) -> None:
    plain = JPEGSource(optimize=False).encode(image, 60)
    optimized = JPEGSource(optimize=True).encode(image, 60)
    full_chroma = JPEGSource(subsampling="4:4:4").encode(image, 60)
    assert len(optimized) < len(plain)
    assert len(full_chroma) > len(optimized)
    assert JPEGSource().cache_key != JPEGSource(subsampling="4:4:4").cache_key


def test_rejects_bad_arguments(image: np.ndarray) -> None:
    with pytest.raises(ValueError):
        JPEGSource(subsampling="4:1:1")
    with pytest.raises(ValueError):
        JPEGSource().encode(image, 0)
    with pytest.raises(ValueError):
        JPEGSource().encode(image.astype(np.float32), 50)


def test_wrong_size_and_garbage_raise_value_error(image: np.ndarray) -> None:
    src = JPEGSource()
    blob = src.encode(image, 50)
    with pytest.raises(ValueError, match="expected"):
        src.decode(blob, H + 2, W)
    with pytest.raises(ValueError):
        src.decode(b"not a jpeg at all", H, W)
    with pytest.raises(ValueError):
        src.decode(b"", H, W)


def test_truncated_stream_decodes_partially_without_global_side_effect(image: np.ndarray) -> None:
    src = JPEGSource()
    blob = src.encode(image, 80)
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    out = src.decode(blob[: int(len(blob) * 0.7)], H, W)
    assert out.shape == (H, W, 3)
    assert ImageFile.LOAD_TRUNCATED_IMAGES == before


def test_bit_flips_never_hang_and_raise_or_return_right_shape(image: np.ndarray) -> None:
    src = JPEGSource()
    decoded, failed = check_corrupt_streams(src, image, (10, 60, 95))
    assert decoded > 0 and failed > 0


def test_describe_names_pillow() -> None:
    assert JPEGSource().describe()["source_backend"].startswith("pillow-jpeg ")
