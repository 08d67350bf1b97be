"""Spectral-residual saliency against OpenCV: every step that base OpenCV has, and the whole map
against opencv-contrib's cv2.saliency where it is installed (it is not a dependency)."""

import numpy as np
import pytest

from testbed.metrics.sess.matching.saliency import (_filter_separable, gaussian_kernel, grey_u8, resize_linear_exact_u8,
                                           resize_linear_f32, spectral_residual_saliency)
from testbed.testing import tiny_image

cv2 = pytest.importorskip("cv2")


def photo(name="rocket", side=200):
    return (tiny_image(max_side=side, name=name).pixels.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def test_grey_and_resizes_are_bit_exact():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    assert np.array_equal(grey_u8(image), cv2.cvtColor(image[..., ::-1].copy(), cv2.COLOR_BGR2GRAY))
    for shape in [(37, 53), (300, 451), (64, 64), (20, 30)]:
        grey = rng.integers(0, 256, shape, dtype=np.uint8)
        expected = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_LINEAR_EXACT)
        assert np.array_equal(resize_linear_exact_u8(grey, 64, 64), expected)
    small = rng.random((64, 64)).astype(np.float32)
    expected = cv2.resize(small, (451, 300), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(resize_linear_f32(small, 300, 451), expected, atol=1e-6)


def test_filters_equal_opencv():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 64))
    np.testing.assert_allclose(_filter_separable(x, np.full(3, 1 / 3)), cv2.blur(x, (3, 3)), atol=1e-12)
    np.testing.assert_allclose(_filter_separable(x, gaussian_kernel(5, 8.0)), cv2.GaussianBlur(x, (5, 5), 8),
                               atol=1e-12)


def test_map_shape_range_and_flat_images():
    image = photo()
    s = spectral_residual_saliency(image)
    assert s.shape == image.shape[:2] and s.dtype == np.float32
    assert s.min() >= 0 and 0.9 < s.max() <= 1.0  # max 1 at 64 x 64, then interpolated
    np.testing.assert_array_equal(spectral_residual_saliency(image.astype(np.float32) / 255), s)
    for value in (0, 128):
        flat = spectral_residual_saliency(np.full((30, 40, 3), value, np.uint8))
        assert np.isfinite(flat).all() and flat.shape == (30, 40)


@pytest.mark.parametrize("name", ["rocket", "coffee", "astronaut"])
def test_map_matches_opencv_contrib(name):
    if not hasattr(cv2, "saliency"):
        pytest.skip("cv2.saliency is in opencv-contrib, not installed here")
    image = photo(name, 400)
    ok, expected = cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency(image[..., ::-1].copy())
    assert ok
    # OpenCV's approximate atan2 moves the phase by up to ~1.6e-4 rad; measured differences ~1e-3
    np.testing.assert_allclose(spectral_residual_saliency(image), expected, atol=3e-3)
    for value in (0, 128):  # flat images: OpenCV's log 0 = -inf against our floor
        flat = np.full((30, 40, 3), value, np.uint8)
        _, expected = cv2.saliency.StaticSaliencySpectralResidual_create().computeSaliency(flat)
        np.testing.assert_allclose(spectral_residual_saliency(flat), expected, atol=5e-3)
