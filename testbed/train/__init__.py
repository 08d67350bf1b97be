"""``testbed-train``: training learned codecs through the same link the sweep uses.

``main`` is the console-script entry point; :mod:`.trainer` holds the loop, :mod:`.crops` the data.
"""

from testbed.train.trainer import export, main, train

__all__ = ["export", "main", "train"]
