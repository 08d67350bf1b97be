"""Maximum-weight rectangular assignment, one matrix at a time or batched over many small ones.

The value of a ``[k, m]`` matrix with k <= m is the largest sum over k entries, one in every row
and no two in one column (``scipy.optimize.linear_sum_assignment`` with ``maximize=True``: every
row of the smaller side is matched, even to a negative entry; the extra columns contribute 0).

:func:`batched_assignment_values` solves a batch ``[B, k, m]`` of such matrices exactly with a few
numpy operations per column instead of one scipy call per matrix: closed forms for k = 1 (row
maximum) and k = 2 (best of row 0 plus the best of row 1 in another column), and for
3 <= k <= :data:`DP_MAX_ROWS` a dynamic programme over the columns whose state is the set of rows
already matched (2**k states, m steps) when the batch is large enough to pay for its m steps
(:func:`_dp_pays`). Otherwise scipy solves the matrices one at a time (about 4-5 us each).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.optimize import linear_sum_assignment

#: Largest row count solved by the batched dynamic programme (2**k states per matrix): from k = 6 on,
#: one scipy call per matrix (~4.5 us) is cheaper than the programme's 2**k * k work per column.
DP_MAX_ROWS = 5
#: Cost model (microseconds, measured on a 2-core x86 machine): scipy call per matrix; numpy call
#: overhead per programme step (column); programme work per (state, row, matrix) and step.
SCIPY_US, STEP_US, CELL_US = 4.5, 4.0, 0.0016


def _dp_pays(k: int, m: int, batch: int) -> bool:
    """Whether the batched programme beats one scipy call per matrix for this batch."""
    return k <= DP_MAX_ROWS and m * (STEP_US + batch * (1 << k) * k * CELL_US) < SCIPY_US * batch


def assignment_value(weights: np.ndarray) -> float:
    """Maximum-weight assignment value of one ``[n, m]`` matrix (0 for an empty one)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.size == 0:
        return 0.0
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return float(weights[rows, cols].sum())


def assignment_pairs(weights: np.ndarray) -> np.ndarray:
    """The matched (row, column) pairs ``[min(n, m), 2]`` of a maximum-weight assignment."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.size == 0:
        return np.zeros((0, 2), np.int64)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return np.stack([rows, cols], axis=1).astype(np.int64)


@lru_cache(maxsize=None)
def _transitions(k: int) -> np.ndarray:
    """``[k, 2**k]`` predecessor of every (row, state): the state without that row, or the padding
    slot ``2**k`` (value -inf) when the row is not in the state."""
    states = np.arange(1 << k)[None, :]
    bits = 1 << np.arange(k)[:, None]
    return np.where(states & bits, states ^ bits, 1 << k)


def batched_assignment_values(weights: np.ndarray) -> np.ndarray:
    """Values float64 ``[B]`` of a batch of assignment problems laid out ``[k, m, B]`` (batch last,
    so that every numpy operation runs over the batch in its inner loop).

    Columns an item does not have are -inf in every row (each item has at least k finite columns);
    every row is real. Exact: equal to :func:`assignment_value` of each item's finite part.
    """
    weights = np.asarray(weights, dtype=np.float64)
    k, m, batch = weights.shape
    if batch == 0 or k == 0:
        return np.zeros(batch)
    if k == 1:
        return weights[0].max(axis=0)
    if k == 2:
        first, second = weights[0], weights[1]
        best = second.argmax(axis=0)
        items = np.arange(batch)
        top = second[best, items]
        runner_up = second.copy()
        runner_up[best, items] = -np.inf
        other = np.where(np.arange(m)[:, None] == best[None, :], runner_up.max(axis=0), top)
        return (first + other).max(axis=0)
    if not _dp_pays(k, m, batch):
        out = np.empty(batch)
        for b in range(batch):
            item = weights[:, :, b]
            out[b] = assignment_value(item[:, np.isfinite(item[0])])
        return out
    previous = _transitions(k)
    states = 1 << k
    best = np.full((states + 1, batch), -np.inf)  # last slot: the -inf padding state
    best[0] = 0.0
    for j in range(m):
        candidates = best[previous] + weights[:, j, None, :]  # [k, states, B]
        np.maximum(best[:states], candidates.max(axis=0), out=best[:states])
    return best[states - 1]
