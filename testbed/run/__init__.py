"""Running experiments: the link (one sweep point), the sweep, results files, merging, transformations.

:mod:`testbed.run.link` is where encode -> channel -> decode -> score happens, for sweeps and training alike.
"""
