"""The MCS index tables of 3GPP TS 38.214 (V17), section 5.1.3.1, for PDSCH.

Each entry is (modulation order Qm, target code rate R x 1024); the code rate is R / 1024 and the
spectral efficiency Qm * R / 1024 bit per channel use. Entries 29-31 (table 1) and 28-31
(table 2) are reserved (retransmissions) and left out.

* ``nr-table1``: Table 5.1.3.1-1, "MCS index table 1", QPSK to 64QAM, I_MCS 0..28.
* ``nr-table2``: Table 5.1.3.1-2, "MCS index table 2", QPSK to 256QAM, I_MCS 0..27.

Rates below 1/5 (the first entries of both tables) are sent with repetition of the rate-1/5
LDPC codeword (:mod:`testbed.codecs.digital.ldpc.ldpc5g`).
"""

from __future__ import annotations

from testbed.codecs.digital.mcs import MCS

_MODULATION = {2: "qpsk", 4: "16qam", 6: "64qam", 8: "256qam"}

#: TS 38.214 Table 5.1.3.1-1: (Qm, R x 1024) for I_MCS = 0..28.
TABLE_1: tuple[tuple[int, float], ...] = (
    (2, 120), (2, 157), (2, 193), (2, 251), (2, 308), (2, 379), (2, 449), (2, 526), (2, 602), (2, 679),
    (4, 340), (4, 378), (4, 434), (4, 490), (4, 553), (4, 616), (4, 658),
    (6, 438), (6, 466), (6, 517), (6, 567), (6, 616), (6, 666), (6, 719), (6, 772), (6, 822), (6, 873),
    (6, 910), (6, 948),
)

#: TS 38.214 Table 5.1.3.1-2: (Qm, R x 1024) for I_MCS = 0..27.
TABLE_2: tuple[tuple[int, float], ...] = (
    (2, 120), (2, 193), (2, 308), (2, 449), (2, 602),
    (4, 378), (4, 434), (4, 490), (4, 553), (4, 616), (4, 658),
    (6, 466), (6, 517), (6, 567), (6, 616), (6, 666), (6, 719), (6, 772), (6, 822), (6, 873),
    (8, 682.5), (8, 711), (8, 754), (8, 797), (8, 841), (8, 885), (8, 916.5), (8, 948),
)

#: ``mcs:`` names of the tables.
NR_TABLES: dict[str, tuple[tuple[int, float], ...]] = {"nr-table1": TABLE_1, "nr-table2": TABLE_2}


def nr_table(name: str) -> tuple[MCS, ...]:
    """The entries of a TS 38.214 MCS table as :class:`MCS`, in I_MCS order."""
    return tuple(MCS(_MODULATION[qm], rate / 1024) for qm, rate in NR_TABLES[name])
