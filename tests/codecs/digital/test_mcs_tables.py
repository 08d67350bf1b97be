"""TS 38.214 MCS index tables, repetition below rate 1/5, 256QAM: checked against the spec's numbers
and against what repetition must buy."""

import math

import pytest
import torch

from testbed.channels.awgn import AWGNChannel
from testbed.codecs.digital.coded_modulation import CodedModulation
from testbed.codecs.digital.ldpc.ldpc5g import LDPC5G
from testbed.codecs.digital.mcs import MCS, parse_mcs
from testbed.codecs.digital.mcs_tables import TABLE_1, TABLE_2, nr_table
from testbed.codecs.digital.qam import QAMModem
from testbed.core.seeding import make_generator


def test_tables_hold_the_published_entries():
    """Spot checks against 3GPP TS 38.214 V17.x Tables 5.1.3.1-1 and 5.1.3.1-2 (I_MCS: Qm, R x 1024,
    spectral efficiency as printed there, 4 decimals)."""
    published_1 = {0: (2, 120, 0.2344), 9: (2, 679, 1.3262), 10: (4, 340, 1.3281), 16: (4, 658, 2.5703),
                   17: (6, 438, 2.5664), 28: (6, 948, 5.5547)}
    published_2 = {0: (2, 120, 0.2344), 4: (2, 602, 1.1758), 5: (4, 378, 1.4766), 19: (6, 873, 5.1152),
                   20: (8, 682.5, 5.3320), 27: (8, 948, 7.4063)}
    assert len(TABLE_1) == 29 and len(TABLE_2) == 28
    for table, published in ((TABLE_1, published_1), (TABLE_2, published_2)):
        for index, (qm, rate, efficiency) in published.items():
            assert table[index] == (qm, rate)
            assert round(qm * rate / 1024, 4) == pytest.approx(efficiency, abs=1e-4)
    labels = [m.label for m in nr_table("nr-table2")]
    assert len(set(labels)) == 28 and labels[20] == "256qam-682.5/1024"
    assert all(parse_mcs(m.label) == m for m in nr_table("nr-table1"))


def test_rates_below_one_fifth_repeat_the_rate_fifth_codeword():
    fec = LDPC5G(max_info_bits=1024)
    plan = fec.plan(1000, 120 / 1024)
    assert plan.mother_n == 5 * plan.k and plan.n == math.ceil(plan.k * 1024 / 120) and plan.k / plan.n <= 120 / 1024
    bits = torch.randint(0, 2, (plan.num_codewords, plan.k), generator=make_generator("rep")).float()
    coded = fec.encode(bits, plan)
    assert coded.shape == (plan.num_codewords, plan.n)
    assert torch.equal(coded[:, plan.mother_n:], coded[:, : plan.n - plan.mother_n])  # the wrap-around copies


def _bit_errors(rate: float, snr_db: float, payload: int = 3000) -> int:
    coding, channel, mcs = CodedModulation(LDPC5G(max_info_bits=1024), QAMModem()), AWGNChannel(), MCS("qpsk", rate)
    plan = coding.plan(payload, mcs)
    bits = torch.randint(0, 2, (payload,), generator=make_generator("bits")).float()
    received = channel(coding.encode(bits, plan, mcs), snr_db, make_generator("noise", rate, snr_db))
    return int((coding.decode([(plan, coding.llrs(received, plan, mcs))])[0] != bits).sum())


def test_repetition_gains_what_it_should_and_decodes_noiselessly():
    assert _bit_errors(120 / 1024, 40.0) == 0
    # at an Es/N0 where rate 1/5 fails, the rate-0.117 code (1.7x the energy per bit) decodes. -6 dB, not
    # the edge of the waterfall: at -6.5 dB one draw in ten or so still fails (bit interleaver on: 82 bit
    # errors for this draw); at -6.0 dB 13 of 13 noise draws decoded, with and without the interleaver,
    # while rate 1/5 (Shannon limit -5.3 dB here) left 770-880 bit errors in each of 5.
    assert _bit_errors(0.2, -6.0) > 50 and _bit_errors(120 / 1024, -6.0) == 0


def test_256qam_round_trip():
    coding, mcs = CodedModulation(LDPC5G(), QAMModem()), parse_mcs("256qam-948/1024")
    plan = coding.plan(4000, mcs)
    bits = torch.randint(0, 2, (4000,), generator=make_generator("256")).float()
    symbols = coding.encode(bits, plan, mcs)
    assert symbols.numel() == math.ceil(plan.coded_bits / 8)
    assert abs(float(symbols.abs().pow(2).mean()) - 1.0) < 0.05
    received = AWGNChannel()(symbols, 45.0, make_generator("n256"))
    assert torch.equal(coding.decode([(plan, coding.llrs(received, plan, mcs))])[0], bits)


def test_a_codec_over_a_whole_table_keeps_the_contract():
    from testbed.codecs.separation import Separation
    from testbed.codecs.source.jpeg import JPEGSource
    from testbed.testing import check_codec

    codec = Separation(JPEGSource(), LDPC5G(), QAMModem(), mcs="nr-table2")
    codec.bind("jpeg_nr2")
    assert codec.mcs_policy == "table" and len(codec.variants()) == 28
    check_codec(codec, AWGNChannel())


@pytest.mark.parametrize("name", ["jpeg_ldpc_table", "bpg_ldpc_table"])
def test_the_table_configs_send_every_entry_of_nr_table_1(make_cfg, name):
    from testbed.config.catalogue import instantiate

    codec = instantiate(make_cfg(f"codec=[{name}]").codec[name])
    assert codec.mcs == nr_table("nr-table1") and codec.mcs_policy == "table"
    assert len(codec.variants()) == len(TABLE_1) == 29
