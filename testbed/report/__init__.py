"""Reports drawn from results files: aggregation, figures, image grids, the HTML report.

Everything here reads results rows; nothing runs a codec or a channel.
"""
