"""One parser for numbers written in configs: decimals and fractions, with clear refusals."""

import pytest

from testbed.core.numbers import is_whole, parse_number


@pytest.mark.parametrize("text,value", [("1/16", 0.0625), (" 1/2 ", 0.5), ("0.5", 0.5), (3, 3.0), ("1e-3", 1e-3),
                                        (0.25, 0.25), ("-4", -4.0), ("682.5/1024", 682.5 / 1024)])
def test_decimals_and_fractions_are_read(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("bad,why", [("inf", "finite"), ("nan", "finite"), ("1/0", "zero"), ("abc", "fraction"),
                                     (True, "boolean"), (None, "not a number"), ([1], "not a number")])
def test_everything_else_is_refused_with_the_reason(bad, why):
    with pytest.raises(ValueError, match=why):
        parse_number(bad)


@pytest.mark.parametrize("value, whole", [(3, True), (0, True), (-2, True), (True, False), (False, False),
                                          (3.0, False), ("3", False), (None, False)])
def test_is_whole_refuses_booleans_floats_and_text(value, whole):
    assert is_whole(value) is whole
