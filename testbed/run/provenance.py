"""What produced a number: the code version recorded in every results row."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from testbed import __version__


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """``testbed <version>`` plus the git commit (``+dirty`` with local changes) when in a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=10", "HEAD"],
                                capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return f"testbed {__version__}+{commit}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return f"testbed {__version__}"
