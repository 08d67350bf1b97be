"""Reports drawn from results files: aggregation, figures, image grids, the HTML report.

Everything here reads results rows and runs no codec or channel; ``transforms.py`` (the
``testbed transforms`` command) scores clean images under transformations with the metrics.
"""
