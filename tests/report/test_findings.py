"""The findings table: computed from rows with known answers, and shown first in the report."""

import re

import pytest

from testbed.report.findings import cliff_snr, findings, snr_ranges

SNRS = [1.0, 4.0, 7.0, 10.0]


def _rows(codec, mcs, policy, psnr, sess, failed=(), images=("a", "b")):
    return [dict(image_id=i, codec=codec, channel="awgn", cbr=0.0625, snr_db=s, repetition=0, mcs=mcs,
                 mcs_policy=policy, decode_failed=s in failed, psnr=p, sess=q)
            for i in images for s, p, q in zip(SNRS, psnr, sess)]


def _known_rows():
    return (_rows("jpeg_ldpc", "16qam-1/2", "fixed", [10, 10, 30, 32], [0.1, 0.1, 0.8, 0.85], failed=(1.0, 4.0))
            + _rows("adjscc", "analog", "none", [25, 27, 28, 29], [0.6, 0.7, 0.75, 0.9])
            # an MCS table: qpsk decodes from 4 dB, 16qam only from 10 dB; the envelope picks the better
            + _rows("bpg_table", "qpsk-1/2", "table", [10, 26, 26.5, 27], [0.1, 0.7, 0.7, 0.7], failed=(1.0,))
            + _rows("bpg_table", "16qam-1/2", "table", [10, 10, 10, 35], [0.1, 0.1, 0.1, 0.95],
                    failed=(1.0, 4.0, 7.0))
            + _rows("bpg_capacity", "capacity", "none", [30, 31, 32, 33], [0.8, 0.8, 0.9, 0.9]))


def test_snr_ranges_are_runs_of_swept_snrs():
    assert snr_ranges(SNRS, {1.0, 4.0, 10.0}) == "1-4, 10 dB"
    assert snr_ranges(SNRS, set(SNRS)) == "at every SNR" and snr_ranges(SNRS, set()) == "nowhere"


def test_cliffs_wins_and_rank_flips_have_the_known_answers():
    found = findings(_known_rows(), ["psnr", "sess"])
    table = {(f.kind, f.subject, f.metric): f.text for f in found}
    assert table[("cliff", "jpeg_ldpc", "psnr")].startswith("cliff at 7 dB")
    assert table[("cliff", "bpg_table", "psnr")].startswith("cliff at 4 dB")  # the envelope's MCS per point
    assert not any(k[0] == "cliff" and k[1] == "bpg_capacity" for k in table)  # an ideal code has no cliff
    assert table[("wins", "adjscc over jpeg_ldpc", "psnr")] == "1-4 dB"
    assert table[("wins", "adjscc over jpeg_ldpc", "sess")] == "1-4, 10 dB"
    assert table[("wins", "adjscc over bpg_capacity", "psnr")] == "nowhere"
    assert table[("wins", "adjscc over bpg_table", "psnr")] == "1-7 dB"  # envelope 35 dB at 10 dB
    flips = {(f.subject, f.metric): f.text for f in found if f.kind == "rank flip"}
    assert "psnr ranks jpeg_ldpc above adjscc, sess adjscc above jpeg_ldpc" in flips[("10 dB", "sess")]
    # ties (identical fallback images) are not orders: at 1 dB jpeg_ldpc and bpg_table tie on both
    assert not any("jpeg_ldpc above bpg_table" in t or "bpg_table above jpeg_ldpc" in t
                   for (snr, _), t in flips.items() if snr == "1 dB")


def test_a_codec_that_never_decodes_and_one_that_always_does():
    never = _rows("x", "qpsk-1/2", "fixed", [1, 1, 1, 1], [0, 0, 0, 0], failed=tuple(SNRS))
    always = _rows("y", "qpsk-1/2", "fixed", [20, 21, 22, 23], [0.5] * 4)
    assert cliff_snr(never, {s: "qpsk-1/2" for s in SNRS}) is None
    assert cliff_snr(always, {s: "qpsk-1/2" for s in SNRS}) == float("-inf")
    texts = {f.subject: f.text for f in findings(never + always, ["psnr"]) if f.kind == "cliff"}
    assert texts == {"x": "fails at every swept SNR (fewer than half the images decode even at 10 dB)",
                     "y": "decodes at every swept SNR"}


def test_the_report_opens_with_findings_that_agree_with_its_rows(make_cfg, tmp_path):
    from testbed.report.page import build_report
    from testbed.run.results import read_results
    from testbed.run.sweep import run_sweep

    from ..conftest import TINY

    results = run_sweep(make_cfg(*TINY, "codec=[jpeg_ldpc,uncoded]", "channel=[awgn]", "snr_db=[1,13]",
                                 "cbr=[1/16]"), tmp_path)
    html = build_report([tmp_path], tmp_path).read_text()
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", html)
    assert headings[0] == "Findings"
    assert html.index("summary awgn cbr0.0625") < html.index("id=\"findings-table\"")  # the real-units figure first
    expected = findings(read_results(results), ["psnr", "ms_ssim"])
    table = html[html.index('id="findings-table"'):]
    table = table[: table.index("</table>")]
    assert expected and all(f.text.replace(">", "&gt;") in table for f in expected)
    assert table.count("<tr") - 1 == len(expected)


def test_no_clean_cliff_and_two_runs_of_one_codec_are_told_apart():
    odd = _rows("z", "qpsk-1/2", "fixed", [20, 21, 1, 1], [0.5] * 4, failed=(7.0, 10.0))
    texts = {f.subject: f.text for f in findings(odd, ["psnr"]) if f.kind == "cliff"}
    assert texts["z"].startswith("no clean cliff") and "10 dB" in texts["z"]
    runs = []
    for name, shift in (("a", 0.0), ("b", 5.0)):  # one codec with other settings in two runs (report A B)
        for r in _rows("jpeg_ldpc", "16qam-1/2", "fixed", [10 + shift, 10, 30, 32], [0.1] * 4, failed=(1.0,)):
            runs.append({**r, "_set": name})
    found = findings(runs + _rows("adjscc", "analog", "none", [25, 27, 28, 29], [0.6] * 4), ["psnr"])
    cliffs = {f.subject for f in found if f.kind == "cliff"}
    assert cliffs == {"jpeg_ldpc [a]", "jpeg_ldpc [b]"}
    wins = {f.subject: f.text for f in found if f.kind == "wins"}
    assert wins == {"adjscc over jpeg_ldpc [a]": "1-4 dB", "adjscc over jpeg_ldpc [b]": "1-4 dB"}
