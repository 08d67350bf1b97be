"""testbed: a semantic-communication simulation testbed.

Core package: data types, base classes, the link, the sweep runner, results, plots and the CLI.
The built-in plugins live in ``testbed.codecs``, ``testbed.channels``, ``testbed.metrics`` and
``testbed.datasets`` (installed from the top-level ``codecs/``, ``channels/``, ``metrics/``, ``datasets/``).
"""

__version__ = "0.1.0"
