"""Spectral-residual static saliency (Hou & Zhang, CVPR 2007) in numpy, step by step as OpenCV's
``cv2.saliency.StaticSaliencySpectralResidual`` (opencv-contrib) computes it, which is what the
released SeSS code calls:

1. grey level of the 8-bit image (OpenCV's fixed-point BT.601 weights, rounded to 8 bit);
2. resize to 64 x 64 px (both sides, the aspect ratio is not kept) with OpenCV's bit-exact
   bilinear ``INTER_LINEAR_EXACT`` (no anti-aliasing), 8-bit result;
3. 2-D DFT; log amplitude minus its 3x3 box-filtered self (border reflect-101) = spectral residual;
4. inverse DFT of exp(residual) with the original phase; magnitude;
5. 5x5 Gaussian blur with sigma 8 (reflect-101), *then* squared (OpenCV blurs before squaring; the
   paper squares first), divided by its maximum;
6. bilinear resize (``INTER_LINEAR``, float) back to the input size.

Where this may differ from OpenCV: OpenCV goes from Cartesian to polar and back with its fast
approximate atan2 (phase errors up to ~1.6e-4 rad), here the phase is exact. On four scikit-image
photos (300-500 px) the maps differ from opencv-contrib-python-headless 5.0.0.93's by at most
1.1e-3 (maps are in [0, 1]) while the grey image and the 64 x 64 image are bit-identical. The
float resizes round in float32 there, float64 here. OpenCV takes log 0 = -inf, so the exact zeros
of a flat image's spectrum go through inf/NaN arithmetic; here amplitudes are first raised to
1e-12 of the peak (no effect on photographs): a constant grey image gives a map of ones (OpenCV:
0.997-1.0), a black one the same map as OpenCV.
Comparison: tests/metrics/sess/test_saliency.py (every step against base OpenCV; the whole map
against cv2.saliency where opencv-contrib is installed; it is not a dependency).
"""

from __future__ import annotations

import numpy as np

#: Working resolution of OpenCV's implementation (resImWidth, resImHeight).
WORK_SIZE = 64
#: Spectral amplitudes below this fraction of the largest are raised to it before the logarithm.
ZERO_FLOOR = 1e-12


def spectral_residual_saliency(image: np.ndarray) -> np.ndarray:
    """Saliency map float32 ``[H, W]`` in [0, 1] of an RGB image ``[H, W, 3]`` (uint8, or float in
    [0, 1], rounded to 8 bit) or a grey image ``[H, W]``."""
    grey = grey_u8(image)
    small = resize_linear_exact_u8(grey, WORK_SIZE, WORK_SIZE).astype(np.float64)
    spectrum = np.fft.fft2(small)
    amplitude = np.abs(spectrum)
    floor = max(ZERO_FLOOR * amplitude.max(), np.finfo(np.float64).tiny)
    log_amplitude = np.log(np.maximum(amplitude, floor))
    residual = log_amplitude - _filter_separable(log_amplitude, np.full(3, 1.0 / 3.0))
    phase = np.angle(spectrum)
    back = np.fft.ifft2(np.exp(residual + 1j * phase)) * small.size  # OpenCV: no 1/N on inverse
    magnitude = _filter_separable(np.abs(back), gaussian_kernel(5, 8.0)) ** 2
    peak = magnitude.max()
    magnitude = (magnitude / peak if peak > 0 else magnitude).astype(np.float32)
    return resize_linear_f32(magnitude, grey.shape[0], grey.shape[1])


def grey_u8(image: np.ndarray) -> np.ndarray:
    """8-bit grey ``[H, W]`` as ``cv2.cvtColor(bgr, COLOR_BGR2GRAY)`` of the same RGB image."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(np.rint(np.asarray(image, np.float64) * 255.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return image
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"saliency needs an RGB image [H, W, 3] or a grey one [H, W], got {image.shape}")
    rgb = image.astype(np.int64)
    # OpenCV's 8-bit path: (0.299, 0.587, 0.114) in 15-bit fixed point, rounded
    grey = (rgb[..., 0] * 9798 + rgb[..., 1] * 19235 + rgb[..., 2] * 3735 + (1 << 14)) >> 15
    return grey.astype(np.uint8)


def _linear_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left index, right index and right weight of OpenCV's bilinear mapping
    ``x_src = (x_dst + 0.5) * src / dst - 0.5``, clamped at the borders."""
    x = (np.arange(dst) + 0.5) * (src / dst) - 0.5
    left = np.floor(x).astype(np.int64)
    frac = x - left
    frac[left < 0] = 0.0
    left = np.clip(left, 0, src - 1)
    frac[left >= src - 1] = 0.0
    return left, np.minimum(left + 1, src - 1), frac


def resize_linear_exact_u8(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``cv2.resize(u8, (width, height), interpolation=INTER_LINEAR_EXACT)``: weights in 8-bit
    fixed point, horizontal then vertical pass in integers, rounded to 8 bit."""
    image = image.astype(np.int64)
    x0, x1, fx = _linear_taps(image.shape[1], width)
    y0, y1, fy = _linear_taps(image.shape[0], height)
    cx1 = np.rint(fx * 256).astype(np.int64)
    cy1 = np.rint(fy * 256).astype(np.int64)
    rows = image[:, x0] * (256 - cx1) + image[:, x1] * cx1  # 8 fractional bits
    out = rows[y0] * (256 - cy1)[:, None] + rows[y1] * cy1[:, None]  # 16 fractional bits
    return np.clip((out + (1 << 15)) >> 16, 0, 255).astype(np.uint8)


def resize_linear_f32(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``cv2.resize(f32, (width, height), interpolation=INTER_LINEAR)`` (float64 arithmetic)."""
    image = image.astype(np.float64)
    x0, x1, fx = _linear_taps(image.shape[1], width)
    y0, y1, fy = _linear_taps(image.shape[0], height)
    rows = image[:, x0] * (1.0 - fx) + image[:, x1] * fx
    out = rows[y0] * (1.0 - fy)[:, None] + rows[y1] * fy[:, None]
    return out.astype(np.float32)


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """``cv2.getGaussianKernel(size, sigma, CV_64F)``, normalised to sum 1."""
    x = np.arange(size) - (size - 1) / 2.0
    kernel = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return kernel / kernel.sum()


def _filter_separable(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate rows and columns with a symmetric odd ``kernel``, border reflect-101 (OpenCV's
    BORDER_DEFAULT: ``gfedcb|abcdefgh|gfedcba``)."""
    r = len(kernel) // 2
    padded = np.pad(image, r, mode="reflect")  # numpy's "reflect" is OpenCV's reflect-101
    height, width = image.shape
    rows = sum(k * padded[:, i:i + width] for i, k in enumerate(kernel))
    return sum(k * rows[i:i + height, :] for i, k in enumerate(kernel))
