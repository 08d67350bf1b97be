"""Batched small assignments equal scipy's linear_sum_assignment, one matrix at a time."""

import numpy as np
import pytest

from testbed.metrics.sess.matching.assignment import assignment_pairs, assignment_value, batched_assignment_values


@pytest.mark.parametrize("k", range(1, 10))
@pytest.mark.parametrize("batch", [1, 5, 300])
def test_batched_values_equal_scipy(k, batch):
    rng = np.random.default_rng(10 * k + batch)
    m = k + 4
    weights = rng.normal(size=(k, m, batch))  # negative entries too: every row must still be matched
    columns = rng.integers(k, m + 1, batch)  # each item has between k and m real columns
    weights[:, np.arange(m)[:, None] >= columns[None, :]] = -np.inf
    expected = [assignment_value(weights[:, :columns[b], b]) for b in range(batch)]
    np.testing.assert_allclose(batched_assignment_values(weights), expected, rtol=0, atol=1e-12)


def test_ties_and_empty():
    assert batched_assignment_values(np.ones((2, 2, 3))).tolist() == [2.0, 2.0, 2.0]
    assert batched_assignment_values(np.zeros((3, 4, 0))).shape == (0,)
    assert assignment_value(np.zeros((0, 4))) == 0.0
    assert assignment_value(np.array([[1.0, 5.0], [2.0, 7.0], [0.0, 0.0]])) == 8.0  # 1 + 7 beats 5 + 2
    assert assignment_pairs(np.array([[0.0, 1.0], [1.0, 0.0]])).tolist() == [[0, 1], [1, 0]]
