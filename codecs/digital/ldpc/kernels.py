"""numba kernels of the fast LDPC decoder: check-node updates, schedules, syndrome, batch loop.

Called by :class:`testbed.codecs.digital.ldpc.fast_decoder.FastLDPC5GDecoder` (the algorithm is described there).
Every kernel is compiled once per machine (``cache=True``) and releases the GIL.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from testbed.codecs.digital.ldpc.mathf32 import (  # noqa: F401  (numba resolves these as globals)
    _ATANH_CLIP,
    _BIG,
    _F0,
    _F1,
    _TANH_TINY,
    _TANH_ZERO,
    _clip,
    _phi,
    _phi_sionna,
    _tanh_half,
    _two_atanh,
)

# ---------------------------------------------------------------------------------- row-block kernels
# A row block has up to z lanes (independent checks); its d entries are laid out entry-major in the
# scratch arrays (entry i, lane r at i * z + r). Every inner loop runs over contiguous lanes of
# array views indexed by the loop counter alone: that is what lets LLVM vectorise them (an index
# such as ``o + r`` may be negative for all it knows, and numba's wraparound check then blocks it).

@njit(cache=True, nogil=True, error_model="numpy")
def _signs(T, SG, d, z, L):
    """SG[r] = product over the d entries of sign(T) (+1 for 0, as Sionna)."""
    for r in range(L):
        SG[r] = _F1
    for i in range(d):
        Ti = T[i * z:i * z + L]
        for r in range(L):
            if Ti[r] < _F0:
                SG[r] = -SG[r]


@njit(cache=True, nogil=True, error_model="numpy")
def _apply_signs(T, OUT, SG, d, z, L):
    """OUT *= SG * sign(T): the extrinsic sign of each edge (OUT holds the magnitudes)."""
    for i in range(d):
        Ti = T[i * z:i * z + L]
        Oi = OUT[i * z:i * z + L]
        for r in range(L):
            s = SG[r]
            if Ti[r] < _F0:
                s = -s
            Oi[r] = s * Oi[r]


@njit(cache=True, nogil=True, error_model="numpy")
def _cn_phi(T, OUT, P, A, SG, d, z, L, llr_max, sionna):
    """boxplus-phi: A = sum of phi(|x|), P = phi(|x|) per edge, OUT = phi(A - P) with signs.

    ``sionna`` selects Sionna's evaluation of phi (flooding) over the cheaper one (layered).
    """
    for r in range(L):
        A[r] = _F0
    for i in range(d):
        Ti = T[i * z:i * z + L]
        Pi = P[i * z:i * z + L]
        if sionna:
            for r in range(L):
                Pi[r] = _phi_sionna(min(abs(Ti[r]), llr_max))
        else:
            for r in range(L):
                Pi[r] = _phi(min(abs(Ti[r]), llr_max))
        for r in range(L):
            A[r] += Pi[r]
    for i in range(d):
        Pi = P[i * z:i * z + L]
        Oi = OUT[i * z:i * z + L]
        if sionna:
            for r in range(L):
                Oi[r] = min(_phi_sionna(A[r] - Pi[r]), llr_max)
        else:
            for r in range(L):
                Oi[r] = min(_phi(A[r] - Pi[r]), llr_max)
    _signs(T, SG, d, z, L)
    _apply_signs(T, OUT, SG, d, z, L)


@njit(cache=True, nogil=True, error_model="numpy")
def _cn_tanh(T, OUT, P, A, d, z, L, llr_max):
    """boxplus with the tanh rule and Sionna's clipping (signs come out of the product)."""
    for r in range(L):
        A[r] = _F1
    for i in range(d):
        Ti = T[i * z:i * z + L]
        Pi = P[i * z:i * z + L]
        for r in range(L):
            t = _tanh_half(_clip(Ti[r], llr_max))
            Pi[r] = _TANH_TINY if t == _F0 else t
        for r in range(L):
            A[r] *= Pi[r]
    for i in range(d):
        Pi = P[i * z:i * z + L]
        Oi = OUT[i * z:i * z + L]
        for r in range(L):
            e = A[r] / Pi[r]
            if abs(e) < _TANH_ZERO:
                e = _F0
            Oi[r] = _clip(_two_atanh(_clip(e, _ATANH_CLIP)), llr_max)


@njit(cache=True, nogil=True, error_model="numpy")
def _cn_minsum(T, OUT, A, B, C, SG, d, z, L, kind, llr_max, alpha, beta):
    """min-sum family: A = smallest |x|, B = second smallest, C = entry of the smallest."""
    for r in range(L):
        A[r] = _BIG
        B[r] = _BIG
        C[r] = 0
    for i in range(d):
        Ti = T[i * z:i * z + L]
        for r in range(L):
            a = min(abs(Ti[r]), llr_max)
            m1 = A[r]
            B[r] = min(B[r], max(m1, a))
            C[r] = i if a < m1 else C[r]
            A[r] = min(m1, a)
    if kind == 3:
        for r in range(L):
            A[r] = A[r] * alpha
            B[r] = B[r] * alpha
    elif kind == 4:
        for r in range(L):
            A[r] = max(A[r] - beta, _F0)
            B[r] = max(B[r] - beta, _F0)
    for i in range(d):
        Oi = OUT[i * z:i * z + L]
        for r in range(L):
            Oi[r] = B[r] if C[r] == i else A[r]
    _signs(T, SG, d, z, L)
    _apply_signs(T, OUT, SG, d, z, L)


@njit(cache=True, nogil=True, error_model="numpy")
def _check_block(T, OUT, P, A, B, C, SG, d, z, L, kind, llr_max, alpha, beta):
    """Extrinsic check-node update of the L lanes of a row block: OUT from T (d entries).

    Kernel codes: 0 boxplus-phi as Sionna evaluates phi, 5 boxplus-phi with one log fewer,
    1 boxplus (tanh rule), 2 min-sum, 3 normalized min-sum, 4 offset min-sum.
    """
    if kind == 0 or kind == 5:
        _cn_phi(T, OUT, P, A, SG, d, z, L, llr_max, kind == 0)
    elif kind == 1:
        _cn_tanh(T, OUT, P, A, d, z, L, llr_max)
    else:
        _cn_minsum(T, OUT, A, B, C, SG, d, z, L, kind, llr_max, alpha, beta)


# Rotations: lane r of entry (column block c, shift s) is variable c * z + (r + s) % z, i.e. the
# lanes r < z - s read post[c*z + s:] and the lanes r >= z - s read post[c*z:] (two contiguous runs).

@njit(cache=True, nogil=True, error_model="numpy")
def _gather_sub(post, pb, s, z, L, msg, T):
    """T[r] = post[pb + (r + s) % z] - msg[r] for r < L."""
    n1 = min(L, z - s)
    src = post[pb + s:pb + s + n1]
    for r in range(n1):
        T[r] = src[r] - msg[r]
    if L > n1:
        src = post[pb:pb + L - n1]
        m2 = msg[n1:L]
        t2 = T[n1:L]
        for r in range(L - n1):
            t2[r] = src[r] - m2[r]


@njit(cache=True, nogil=True, error_model="numpy")
def _scatter_sum(post, pb, s, z, L, T, U):
    """post[pb + (r + s) % z] = T[r] + U[r] for r < L."""
    n1 = min(L, z - s)
    dst = post[pb + s:pb + s + n1]
    for r in range(n1):
        dst[r] = T[r] + U[r]
    if L > n1:
        dst = post[pb:pb + L - n1]
        t2 = T[n1:L]
        u2 = U[n1:L]
        for r in range(L - n1):
            dst[r] = t2[r] + u2[r]


@njit(cache=True, nogil=True, error_model="numpy")
def _scatter_add(post, pb, s, z, L, U):
    """post[pb + (r + s) % z] += U[r] for r < L."""
    n1 = min(L, z - s)
    dst = post[pb + s:pb + s + n1]
    for r in range(n1):
        dst[r] += U[r]
    if L > n1:
        dst = post[pb:pb + L - n1]
        u2 = U[n1:L]
        for r in range(L - n1):
            dst[r] += u2[r]


@njit(cache=True, nogil=True, error_model="numpy")
def _gather_ext(post, pb, s, z, L, c2v, v2c, llr_max):
    """v2c[r] = clip(post[pb + (r + s) % z] - c2v[r]) for r < L."""
    n1 = min(L, z - s)
    src = post[pb + s:pb + s + n1]
    for r in range(n1):
        v2c[r] = _clip(src[r] - c2v[r], llr_max)
    if L > n1:
        src = post[pb:pb + L - n1]
        c2 = c2v[n1:L]
        v2 = v2c[n1:L]
        for r in range(L - n1):
            v2[r] = _clip(src[r] - c2[r], llr_max)


@njit(cache=True, nogil=True, error_model="numpy")
def _syndrome_ok(post, blk_ptr, ent_col, ent_shift, z, last_rows, PAR):
    """True when the hard decision (bit 1 where post <= 0) satisfies every check."""
    nb = blk_ptr.size - 1
    for b in range(nb):
        L = z if b < nb - 1 else last_rows
        for r in range(L):
            PAR[r] = 0
        for e in range(blk_ptr[b], blk_ptr[b + 1]):
            pb = ent_col[e] * z
            s = ent_shift[e]
            n1 = min(L, z - s)
            src = post[pb + s:pb + s + n1]
            for r in range(n1):
                PAR[r] ^= np.int32(src[r] <= _F0)
            if L > n1:
                src = post[pb:pb + L - n1]
                p2 = PAR[n1:L]
                for r in range(L - n1):
                    p2[r] ^= np.int32(src[r] <= _F0)
        bad = np.int32(0)
        for r in range(L):
            bad |= PAR[r]
        if bad:
            return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _decode_one(llr, b, llr_pos, k, k_ldpc, num_vns, z, blk_ptr, ent_col, ent_shift, last_rows,
                layered, kind, num_iter, early_stop, llr_max, alpha, beta, out_bits, out_iters):
    """Decode codeword ``b`` of ``llr`` into ``out_bits[b]`` and ``out_iters[b]``."""
    nb = blk_ptr.size - 1
    num_ent = ent_col.size
    max_deg = 0
    for blk in range(nb):
        max_deg = max(max_deg, blk_ptr[blk + 1] - blk_ptr[blk])
    num_cols = -(-num_vns // z)
    ch = np.zeros(num_cols * z, dtype=np.float32)  # internal LLRs ln P(0)/P(1), clipped
    for j in range(llr_pos.size):
        ch[llr_pos[j]] = _clip(-llr[b, j], llr_max)
    for v in range(k, k_ldpc):  # filler bits: known zeros
        ch[v] = llr_max
    post = ch.copy()
    c2v = np.zeros(num_ent * z, dtype=np.float32)
    T = np.empty(max_deg * z, dtype=np.float32)
    P = np.empty(max_deg * z, dtype=np.float32)
    A = np.empty(z, dtype=np.float32)
    B = np.empty(z, dtype=np.float32)
    SG = np.empty(z, dtype=np.float32)
    C = np.empty(z, dtype=np.int32)
    iters = num_iter
    if layered:
        for it in range(num_iter):
            for blk in range(nb):
                L = z if blk < nb - 1 else last_rows
                e0 = blk_ptr[blk]
                d = blk_ptr[blk + 1] - e0
                for i in range(d):  # T = post - c2v: extrinsic inputs (unclipped, so that post
                    # stays ch + sum of c2v exactly; the check update clips them)
                    _gather_sub(post, ent_col[e0 + i] * z, ent_shift[e0 + i], z, L, c2v[(e0 + i) * z:],
                                T[i * z:])
                # the block's c2v messages are contiguous, entry-major: the update writes them in place
                _check_block(T, c2v[e0 * z:], P, A, B, C, SG, d, z, L, kind, llr_max, alpha, beta)
                for i in range(d):
                    _scatter_sum(post, ent_col[e0 + i] * z, ent_shift[e0 + i], z, L, T[i * z:],
                                 c2v[(e0 + i) * z:])
            if early_stop and _syndrome_ok(post, blk_ptr, ent_col, ent_shift, z, last_rows, C):
                iters = it + 1
                break
    else:
        v2c = np.zeros(num_ent * z, dtype=np.float32)
        for blk in range(nb):  # v2c starts as the channel LLRs (c2v = 0)
            L = z if blk < nb - 1 else last_rows
            for e in range(blk_ptr[blk], blk_ptr[blk + 1]):
                _gather_ext(ch, ent_col[e] * z, ent_shift[e], z, L, c2v[e * z:], v2c[e * z:], llr_max)
        for it in range(num_iter):
            for blk in range(nb):  # all check nodes
                L = z if blk < nb - 1 else last_rows
                e0 = blk_ptr[blk]
                d = blk_ptr[blk + 1] - e0
                _check_block(v2c[e0 * z:], c2v[e0 * z:], P, A, B, C, SG, d, z, L, kind, llr_max, alpha,
                             beta)
            for v in range(post.size):  # all variable nodes: posterior = sum(c2v) + ch
                post[v] = _F0
            for blk in range(nb):
                L = z if blk < nb - 1 else last_rows
                for e in range(blk_ptr[blk], blk_ptr[blk + 1]):
                    _scatter_add(post, ent_col[e] * z, ent_shift[e], z, L, c2v[e * z:])
            for v in range(post.size):
                post[v] += ch[v]
            for blk in range(nb):  # extrinsic v2c = posterior - c2v, clipped
                L = z if blk < nb - 1 else last_rows
                for e in range(blk_ptr[blk], blk_ptr[blk + 1]):
                    _gather_ext(post, ent_col[e] * z, ent_shift[e], z, L, c2v[e * z:], v2c[e * z:], llr_max)
            if early_stop and _syndrome_ok(post, blk_ptr, ent_col, ent_shift, z, last_rows, C):
                iters = it + 1
                break
    for v in range(k):
        out_bits[b, v] = _F1 if post[v] <= _F0 else _F0
    out_iters[b] = iters


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def _decode_batch(llr, llr_pos, k, k_ldpc, num_vns, z, blk_ptr, ent_col, ent_shift, last_rows,
                  layered, kind, num_iter, early_stop, llr_max, alpha, beta, out_bits, out_iters):
    """Decode every row of ``llr`` [B, n]: codewords in parallel, each with its own workspace."""
    for b in prange(llr.shape[0]):
        _decode_one(llr, b, llr_pos, k, k_ldpc, num_vns, z, blk_ptr, ent_col, ent_shift, last_rows,
                    layered, kind, num_iter, early_stop, llr_max, alpha, beta, out_bits, out_iters)
