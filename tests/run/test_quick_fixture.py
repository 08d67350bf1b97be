"""`testbed experiment=quick` writes the results it wrote before the architecture step, row for row.

The fixture ``tests/fixtures/quick_results.csv`` holds, for ``jpeg_ldpc``, the rows of commit
69c57de (the last commit before the layout, link and plugin-interface changes), and for
``bpg_capacity`` the rows written once the BPG stand-in took bpgenc's settings as its default
(issue 14: preset placebo, tune ssim, qp = q + 1, 4:4:4; before that its rows were 69c57de's too,
and equal to them). Every column is compared exactly
(numbers as the CSV text holds them) except the three that describe the code rather than the
result: ``code_version`` (git commit), ``config_hash`` (a hash of the config text, whose
``_target_`` paths moved) and ``provenance`` (installation paths of weights files and caches).

The scores of the float32 networks (ST-LPIPS, LPIPS, ViTScore, MS-SSIM) are compared with a
relative tolerance of 1e-6: their convolutions and matrix products take different SIMD kernels on
different CPUs, so the last float32 digits move (CI measured 0.16103208 against 0.16103207, a
relative difference of 9e-8). ViTScore also gets an absolute 1e-6: a score near zero is the
difference of two float32 similarities of about 1, so its last digits are relative to 1, not to the
score (a fresh onnxruntime install here gave -0.05220411 against -0.05220421). SeSS gets an absolute tolerance of 2e-3: its graphs are built by
discrete steps (superpixel borders, Ward merges, the triplet threshold) from float32 ViT tokens, so
a last-digit change can move one merge; on an AMD EPYC machine that moved one score by 7.8e-5
(0.19326 against 0.19318), on the other eleven rows SeSS was equal to 1e-15. Every other column,
PSNR included, must be equal as text.

The fixture's LDPC rows were written before the 38.212 bit interleaver (``fec.interleave``, on by
default since) existed, so the run turns it off for ``jpeg_ldpc`` (:data:`NO_INTERLEAVER`): the
interleaver has tests of its own (``tests/codecs/digital/test_interleaver.py``), and with it off
this fixture still checks that nothing else in the chain moved.
"""

import csv
import math
from pathlib import Path

from ..conftest import run_cli

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "quick_results.csv"
DESCRIBES_THE_CODE = {"code_version", "config_hash", "provenance"}
RELATIVE_TOLERANCE = {"st_lpips": 1e-6, "lpips": 1e-6, "vitscore": 1e-6, "ms_ssim": 1e-6}
ABSOLUTE_TOLERANCE = {"sess": 2e-3, "vitscore": 1e-6}
#: the fixture predates the bit interleaver (module docstring): its LDPC rows are sent without it
NO_INTERLEAVER = ("codec.jpeg_ldpc.fec.interleave=false",)


def _differences(new: dict, old: dict) -> dict:
    """Columns whose values differ: as text, or beyond the tolerance for float32 network scores."""
    out = {}
    for key in old.keys() | new.keys():
        a, b = new.get(key), old.get(key)
        tolerant = key in RELATIVE_TOLERANCE or key in ABSOLUTE_TOLERANCE
        if tolerant and a and b:
            rel, abs_ = RELATIVE_TOLERANCE.get(key, 0.0), ABSOLUTE_TOLERANCE.get(key, 0.0)
            if math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_):
                continue
        elif a == b:
            continue
        out[key] = (a, b)
    return out


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return [{k: v for k, v in row.items() if k not in DESCRIBES_THE_CODE} for row in csv.DictReader(fh)]


def test_quick_experiment_results_equal_the_stored_fixture(tmp_path):
    out = tmp_path / "quick"
    run = run_cli("experiment=quick", f"hydra.run.dir={out}", "plots=false", "report=false", "threads=1",
                  *NO_INTERLEAVER)
    assert run.returncode == 0, run.stderr[-3000:]
    got, expected = _rows(out / "results.csv"), _rows(FIXTURE)
    assert len(got) == len(expected) == 12
    for new, old in zip(got, expected):
        assert not _differences(new, old), _differences(new, old)
