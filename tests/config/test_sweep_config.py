"""The sweep grid read from the config: numbers, fractions, and clear errors."""

import pytest
from omegaconf import OmegaConf

from testbed.core.errors import ConfigError
from testbed.config.sweep_config import parse_grid


def _grid(**values):
    return parse_grid(OmegaConf.create({"snr_db": [1, 4], "cbr": [0.0625], "repetitions": 1, **values}))


def test_cbr_accepts_fractions_as_written_in_papers():
    grid = _grid(cbr=["1/48", "1/16", 0.125])
    assert grid.cbr == pytest.approx((1 / 48, 1 / 16, 0.125))
    assert _grid(snr_db=3).snr_db == (3.0,)


@pytest.mark.parametrize("values,message", [
    ({"cbr": ["1/0"]}, "not a number"), ({"cbr": ["one/16"]}, "not a number"),
    ({"cbr": [2]}, "outside"), ({"snr_db": []}, "at least one"), ({"snr_db": [True]}, "not a number"),
])
def test_bad_grid_values_are_named(values, message):
    with pytest.raises(ConfigError, match=message):
        _grid(**values)
