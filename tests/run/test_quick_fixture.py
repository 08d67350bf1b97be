"""`testbed experiment=quick` writes the results it wrote before the architecture step, row for row.

The fixture ``tests/fixtures/quick_results.csv`` is the results file of commit 69c57de (the last
commit before the layout, link and plugin-interface changes). Every column is compared exactly
(numbers as the CSV text holds them) except the three that describe the code rather than the
result: ``code_version`` (git commit), ``config_hash`` (a hash of the config text, whose
``_target_`` paths moved) and ``provenance`` (installation paths of weights files and caches).
"""

import csv
from pathlib import Path

from ..conftest import run_cli

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "quick_results.csv"
DESCRIBES_THE_CODE = {"code_version", "config_hash", "provenance"}


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return [{k: v for k, v in row.items() if k not in DESCRIBES_THE_CODE} for row in csv.DictReader(fh)]


def test_quick_experiment_results_equal_the_stored_fixture(tmp_path):
    out = tmp_path / "quick"
    run = run_cli("experiment=quick", f"hydra.run.dir={out}", "plots=false", "report=false", "threads=1")
    assert run.returncode == 0, run.stderr[-3000:]
    got, expected = _rows(out / "results.csv"), _rows(FIXTURE)
    assert len(got) == len(expected) == 12
    for new, old in zip(got, expected):
        assert new == old, {k: (new.get(k), old.get(k)) for k in old if new.get(k) != old.get(k)}
