"""The published Kodak curves and the capacity-derived PSNR computed from them.

Expected numbers worked by hand from the formulas: bpp = 3 * CBR * log2(1 + 10^(SNR/10)), and
linear interpolation of PSNR in log(bpp) between the two published points around it.
"""

import math

import pytest

from testbed.report.published import (
    COMPRESSAI_BPG_444,
    COMPRESSAI_JPEG,
    capacity_bpp,
    capacity_derived_curve,
    psnr_at_bpp,
)


def test_capacity_bpp_at_cbr_1_16():
    assert capacity_bpp(10, 1 / 16) == pytest.approx(3 / 16 * math.log2(11), rel=1e-12)
    assert capacity_bpp(1, 1 / 16) == pytest.approx(0.22043, abs=1e-5)
    assert capacity_bpp(13, 1 / 16) == pytest.approx(0.82295, abs=1e-5)


def test_interpolation_is_exact_at_the_published_points_and_linear_in_log_bpp():
    for bpp, psnr in COMPRESSAI_BPG_444:
        assert psnr_at_bpp(COMPRESSAI_BPG_444, bpp) == pytest.approx(psnr, abs=1e-12)
    (b0, p0), (b1, p1) = COMPRESSAI_BPG_444[1:3]
    middle = math.sqrt(b0 * b1)  # halfway in log(bpp)
    assert psnr_at_bpp(COMPRESSAI_BPG_444, middle) == pytest.approx((p0 + p1) / 2, abs=1e-12)


def test_capacity_derived_bpg_curve_at_cbr_1_16():
    curve = capacity_derived_curve(COMPRESSAI_BPG_444, [1, 4, 7, 10, 13], 1 / 16)
    expected = {1: 29.85, 4: 31.47, 7: 33.17, 10: 34.59, 13: 35.97}
    assert curve == pytest.approx({float(k): v for k, v in expected.items()}, abs=0.005)


def test_no_extrapolation_outside_the_published_range():
    with pytest.raises(ValueError, match="outside the curve"):
        psnr_at_bpp(COMPRESSAI_JPEG, capacity_bpp(1, 1 / 16))  # 0.2204 bpp < JPEG q=5's 0.2212
    with pytest.raises(ValueError, match="must increase"):
        psnr_at_bpp(((0.5, 30.0), (0.4, 29.0)), 0.45)
