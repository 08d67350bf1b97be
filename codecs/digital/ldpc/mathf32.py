"""float32 scalar maths for the numba LDPC kernels (:mod:`testbed.codecs.digital.ldpc.kernels`).

numba has no vectorised libm here (no Intel SVML), so exp and log are written with bit casts
(the Cephes single-precision polynomials, about 1 ulp) and inline into loops that LLVM can then
vectorise over the Z lanes of a lifted row block; phi, tanh(x/2) and 2 atanh(x) build on them.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import types
from numba.extending import intrinsic

# float32 constants: numba types np.float32 globals as float32, so no silent float64 promotion.
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_F2 = np.float32(2.0)
_HALF = np.float32(0.5)
_BIG = np.float32(3.0e38)
_PHI_MIN = np.float32(8.5e-8)  # Sionna's float32 clipping of phi's argument
_PHI_MAX = np.float32(16.635532)
_TANH_TINY = np.float32(1e-12)  # Sionna's tanh-rule constants
_TANH_ZERO = np.float32(1e-7)
_ATANH_CLIP = np.float32(1.0 - 1e-7)
_SMALL = np.float32(0.05)  # below: odd Taylor series for tanh / atanh (exp/log lose precision)
_THIRD = np.float32(1.0 / 3.0)
_FIFTH = np.float32(0.2)
_2_15 = np.float32(2.0 / 15.0)
# Cephes single-precision exp / log (about 1 ulp), written with bit casts so that loops over the
# Z lanes of a lifted row block vectorise (numba has no vector libm without Intel SVML).
_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_EXP_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                        4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_LOG_P = tuple(np.float32(c) for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1,
                                        -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
                                        2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1))
_SQRT2 = np.float32(1.41421356237)
_I127 = np.int32(127)
_I23 = np.int32(23)
_MANT = np.int32(0x007FFFFF)
_ONE_BITS = np.int32(0x3F800000)


# ---------------------------------------------------------------------------------- scalar math
@intrinsic
def _bits(typingctx, x):
    """Bit pattern of a float32 as int32 (an LLVM bitcast: vectorises)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _float(typingctx, i):
    """float32 with the bit pattern of an int32."""
    if i != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _exp(x):
    """e^x for float32 0 <= x <= 87 (Cephes expf)."""
    n = np.int32(x * _LOG2E + _HALF)  # round to nearest (truncation of a positive number)
    fn = np.float32(n)
    r = x - fn * _LN2_HI - fn * _LN2_LO
    p = _EXP_P[0]
    p = p * r + _EXP_P[1]
    p = p * r + _EXP_P[2]
    p = p * r + _EXP_P[3]
    p = p * r + _EXP_P[4]
    p = p * r + _EXP_P[5]
    p = p * (r * r) + r + _F1
    return p * _float(np.int32((n + _I127) << _I23))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _log(y):
    """ln y for a positive normal float32 (Cephes logf)."""
    i = _bits(y)
    e = np.int32((i >> _I23) - _I127)
    m = _float(np.int32((i & _MANT) | _ONE_BITS))  # mantissa in [1, 2)
    if m > _SQRT2:
        m = m * _HALF
        e = np.int32(e + 1)
    x = m - _F1
    z = x * x
    p = _LOG_P[0]
    p = p * x + _LOG_P[1]
    p = p * x + _LOG_P[2]
    p = p * x + _LOG_P[3]
    p = p * x + _LOG_P[4]
    p = p * x + _LOG_P[5]
    p = p * x + _LOG_P[6]
    p = p * x + _LOG_P[7]
    p = p * x + _LOG_P[8]
    fe = np.float32(e)
    p = p * x * z + fe * _LN2_LO - _HALF * z
    return x + p + fe * _LN2_HI


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _phi(a):
    """phi(a) = -ln tanh(a / 2) = ln((e^a + 1) / (e^a - 1)), a clipped as Sionna does in float32."""
    e = _exp(min(max(a, _PHI_MIN), _PHI_MAX))
    return _log((e + _F1) / (e - _F1))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _phi_sionna(a):
    """phi(a) evaluated as Sionna does, ln(e^a + 1) - ln(e^a - 1) in float32 (one more log).

    The difference of two logarithms loses accuracy for large a (their ratio does not), but
    computing it the same way is what makes the flooding decoder reproduce Sionna's decisions.
    """
    e = _exp(min(max(a, _PHI_MIN), _PHI_MAX))
    return _log(e + _F1) - _log(e - _F1)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _tanh_half(x):
    """tanh(x / 2) for float32 x."""
    a = abs(x)
    if a < _SMALL:
        h = a * _HALF
        h2 = h * h
        t = h * (_F1 - h2 * (_THIRD - h2 * _2_15))
    else:
        e = _exp(min(a, np.float32(80.0)))
        t = (e - _F1) / (e + _F1)
    return -t if x < _F0 else t


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _two_atanh(x):
    """2 atanh(x) = ln((1 + x) / (1 - x)) for float32 |x| < 1."""
    a = abs(x)
    if a < _SMALL:
        a2 = a * a
        r = _F2 * a * (_F1 + a2 * (_THIRD + a2 * _FIFTH))
    else:
        r = _log((_F1 + a) / (_F1 - a))
    return -r if x < _F0 else r


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _clip(x, m):
    if x > m:
        return m
    if x < -m:
        return -m
    return x
