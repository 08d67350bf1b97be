"""The ``testbed`` command: the Hydra sweep app and one module per subcommand.

``main`` is the console-script entry point.
"""

from testbed.cli.main import main

__all__ = ["main"]
