"""Link-level Monte Carlo: stopping rule, Eb/N0 conversion, a falling waterfall, the CLI command."""

import csv
import math

from testbed.channels.awgn import AWGNChannel
from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G
from testbed.codecs.digital.coded_modulation import CodedModulation
from testbed.codecs.digital.linklevel import ebno_to_snr_db, simulate_point, waterfall
from testbed.codecs.digital.qam import QAMModem

from ...conftest import run_cli


def test_ebno_to_esno():
    assert ebno_to_snr_db(3.0, 2, 0.5) == 3.0
    assert math.isclose(ebno_to_snr_db(3.0, 4, 0.5), 3.0 + 10 * math.log10(2))


def test_stops_after_block_errors_or_frames():
    coding, ch = CodedModulation(LDPC5G(iterations=10, decoder="sionna"), QAMModem()), AWGNChannel()
    bad = simulate_point(coding, ch, 128, 256, "qpsk", -2.0, max_block_errors=30, max_frames=5000, batch=50)
    assert bad.block_errors >= 30 and bad.frames == 50  # one batch was enough to see 30 errors
    good = simulate_point(coding, ch, 128, 256, "qpsk", 8.0, max_block_errors=30, max_frames=150, batch=50)
    assert good.frames == 150 and good.block_errors == 0 and good.ber == 0.0


def test_waterfall_falls_with_ebno():
    points = waterfall(256, 512, "16qam", [1.0, 3.0, 5.0], AWGNChannel(), decoders=["sionna"],
                       max_block_errors=40, max_frames=400, batch=100)
    blers = [p.bler for p in points]
    assert blers[0] > blers[1] > blers[2] or blers[2] == 0.0
    assert blers[0] > 0.1


def test_cli_writes_table_and_plot(tmp_path):
    res = run_cli("waterfall", "--k", "128", "--n", "256", "--ebno", "0", "4", "--decoder", "sionna",
                  "--max-frames", "200", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader((tmp_path / "waterfall.csv").open()))
    assert [float(r["ebno_db"]) for r in rows] == [0.0, 4.0]
    assert (tmp_path / "waterfall.png").is_file() and (tmp_path / "waterfall.pdf").is_file()
