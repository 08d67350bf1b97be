"""HEVCIntraSource: lean header correctness, determinism of parameter sets, corrupted streams."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data, transform

from testbed.testing import check_corrupt_streams, check_source_codec
from testbed.codecs.source.hevc import (
    HEADER_BYTES,
    HEVCIntraSource,
    hevc_decode,
    nal_units,
    parameter_sets,
    split_parameter_sets,
)

H, W = 64, 96


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    return (transform.resize(img, (h, w), anti_aliasing=True) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """Astronaut, ``uint8 [64, 96, 3]``."""
    return _resize(data.astronaut(), H, W)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_qualities_are_qp_51_down_to_0() -> None:
    assert list(HEVCIntraSource().qualities) == list(range(51, -1, -1))


def test_qp_offset_shifts_the_scale_and_the_header_keeps_the_qp(image: np.ndarray) -> None:
    shifted = HEVCIntraSource(qp_offset=1)
    assert list(shifted.qualities) == list(range(50, -1, -1))
    blob = shifted.encode(image, 27)
    assert blob == HEVCIntraSource().encode(image, 28) and blob[4] >> 2 == 28
    assert np.array_equal(shifted.decode(blob, H, W), HEVCIntraSource().decode(blob, H, W))
    with pytest.raises(ValueError, match="0..50"):
        shifted.encode(image, 51)
    for bad in (-1, 52, 1.5, True):
        with pytest.raises(ValueError, match="qp_offset"):
            HEVCIntraSource(qp_offset=bad)


@pytest.mark.parametrize("chroma", ["420", "444"])
def test_round_trip_and_psnr_grows_with_quality(image: np.ndarray, chroma: str) -> None:
    scores = check_source_codec(HEVCIntraSource(chroma=chroma), image, (45, 30, 15))
    assert scores[-1] > 33


def test_parameter_sets_do_not_depend_on_content(image: np.ndarray) -> None:
    src = HEVCIntraSource()
    other = _resize(data.coffee(), H, W)
    for qp in (40, 22):
        params_a, _ = split_parameter_sets(src.raw_stream(image, qp))
        params_b, _ = split_parameter_sets(src.raw_stream(other, qp))
        assert params_a == params_b
        assert params_a == parameter_sets(H, W, "420", qp, "medium")
        assert [t for _, _, t in nal_units(params_a)] == [32, 33, 34]  # VPS, SPS, PPS


def test_lean_decode_equals_raw_stream_decode(image: np.ndarray) -> None:
    src = HEVCIntraSource()
    raw = src.raw_stream(image, 28)
    lean = src.encode(image, 28)
    assert np.array_equal(src.decode(lean, H, W), hevc_decode(raw))
    params, slices = split_parameter_sets(raw)
    assert lean[HEADER_BYTES:] == slices
    start_code = len(raw) - len(params) - len(slices)  # of the first slice NAL, dropped
    assert start_code in (3, 4)
    assert len(raw) - len(lean) == len(params) + start_code - HEADER_BYTES > 60


def test_header_layout(image: np.ndarray) -> None:
    blob = HEVCIntraSource(chroma="444").encode(image, 33)
    assert int.from_bytes(blob[0:2], "big") == W
    assert int.from_bytes(blob[2:4], "big") == H
    assert blob[4] == 33 << 2 | 1


@pytest.mark.parametrize("chroma", ["420", "444"])
def test_odd_sizes_are_padded_and_cropped(chroma: str) -> None:
    odd = _resize(data.astronaut(), 33, 47)
    src = HEVCIntraSource(chroma=chroma)
    out = src.decode(src.encode(odd, 20), 33, 47)
    assert out.shape == (33, 47, 3)
    assert psnr(odd, out) > 30


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (15, 40)])
def test_tiny_images_are_padded_to_the_x265_minimum(size: tuple[int, int]) -> None:
    tiny = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    src = HEVCIntraSource()
    assert src.decode(src.encode(tiny, 10), *size).shape == (*size, 3)


def test_garbage_header_raises_quickly(image: np.ndarray) -> None:
    src = HEVCIntraSource()
    blob = src.encode(image, 30)
    cached = parameter_sets.cache_info().currsize
    with pytest.raises(ValueError, match="expected"):
        src.decode(b"\xff\xff\xff\xff" + blob[4:], H, W)  # 65535 x 65535: never encoded
    with pytest.raises(ValueError, match="expected"):
        src.decode(blob, H + 2, W)
    with pytest.raises(ValueError, match="QP"):
        src.decode(blob[:4] + bytes([63 << 2]) + blob[5:], H, W)
    with pytest.raises(ValueError):
        src.decode(blob[:HEADER_BYTES], H, W)
    assert parameter_sets.cache_info().currsize == cached


def test_bit_flips_and_truncation_never_hang(image: np.ndarray) -> None:
    src = HEVCIntraSource()
    decoded, failed = check_corrupt_streams(src, image, (40, 20), protect_bytes=HEADER_BYTES)
    assert decoded > 0 and failed > 0


def test_rejects_bad_arguments(image: np.ndarray) -> None:
    with pytest.raises(ValueError):
        HEVCIntraSource(chroma="422")
    with pytest.raises(ValueError):
        HEVCIntraSource().encode(image, 52)


def test_describe_names_backend() -> None:
    info = HEVCIntraSource().describe()
    assert info["source_backend"].startswith("x265 via PyAV ")
    assert "lean header" in info["source_backend"]


def test_preset_and_tune_reach_x265_keep_the_lean_header_and_are_recorded():
    import numpy as np

    from testbed.codecs.source.bpg import BPGSource
    from testbed.codecs.source.hevc import HEVCIntraSource
    from testbed.testing import tiny_image

    image = tiny_image(128).as_uint8()
    plain, tuned = HEVCIntraSource("444"), HEVCIntraSource("444", preset="slow", tune="ssim")
    a, b = plain.encode(image, 30), tuned.encode(image, 30)  # the encoder checks the regenerated header
    assert a != b and tuned.decode(b, *image.shape[:2]).shape == image.shape
    assert plain.cache_key != tuned.cache_key and tuned.describe()["source_tune"] == "ssim"
    assert "source_tune" not in plain.describe()  # unchanged provenance for the default settings
    with pytest.raises(ValueError, match="preset"):
        HEVCIntraSource(preset="fastest")
    assert BPGSource(chroma="444", preset="slow", tune="ssim").describe()["source_preset"] == "slow"
    assert np.array_equal(plain.decode(a, *image.shape[:2]), HEVCIntraSource("444").decode(a, *image.shape[:2]))
