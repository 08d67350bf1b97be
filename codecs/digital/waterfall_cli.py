"""``testbed waterfall``: draw the BER/BLER waterfall of any (k, n, modulation) of the digital chain.

    testbed waterfall --k 4000 --n 8000 --modulation qpsk --ebno 0 0.5 1 1.5 2 --decoder fast sionna

Writes ``waterfall.csv`` (one row per decoder and Eb/N0, with the error counts) and
``waterfall.png``/``.pdf`` (BER solid, BLER dashed, log scale) into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from testbed.core.errors import ConfigError


def add_parser(sub) -> None:
    p = sub.add_parser("waterfall", help="Monte Carlo BER/BLER of 5G LDPC + QAM (link level)")
    p.add_argument("--k", type=int, required=True, help="information bits per codeword")
    p.add_argument("--n", type=int, required=True, help="coded bits per codeword (after rate matching)")
    p.add_argument("--modulation", default="qpsk", choices=["qpsk", "16qam", "64qam"])
    p.add_argument("--ebno", type=float, nargs="+", required=True, help="Eb/N0 points in dB")
    from testbed.config.catalogue import available

    decoders = available("ldpc_decoder")  # the options of the config group, listed once
    p.add_argument("--decoder", nargs="+", default=["fast"], choices=decoders,
                   help=f"decoders to compare ({', '.join(decoders)})")
    p.add_argument("--channel", default="awgn", help="a channel option (testbed list channel): awgn, rayleigh, ...")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--no-interleave", dest="interleave", action="store_false",
                   help="send codewords without the 38.212 bit interleaver (on by default)")
    p.add_argument("--max-block-errors", type=int, default=100, help="stop a point after this many codeword errors")
    p.add_argument("--max-frames", type=int, default=10_000, help="... or after this many codewords")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="outputs/waterfall", help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from testbed.codecs.digital.linklevel import waterfall

    channel = _channel(args.channel)
    try:
        points = waterfall(args.k, args.n, args.modulation, args.ebno, channel, decoders=args.decoder,
                           iterations=args.iterations, interleave=args.interleave,
                           max_block_errors=args.max_block_errors,
                           max_frames=args.max_frames, seed=args.seed)
    except (ValueError, AssertionError) as err:
        raise ConfigError(f"waterfall: cannot simulate k={args.k}, n={args.n}: {err}") from err
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [p.as_row() for p in points]
    with (out / "waterfall.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot_waterfall(rows, out / "waterfall")
    for r in rows:
        print(f"{r['decoder']:>7} Eb/N0 {r['ebno_db']:5.2f} dB  BER {r['ber']:.3e}  BLER {r['bler']:.3e}  "
              f"({r['block_errors']} block errors / {r['frames']} frames, {r['seconds']:.1f} s)")
    print(f"written: {out / 'waterfall.csv'}, {out / 'waterfall.png'}")
    return 0


def _channel(name: str):
    """The channel option ``name`` from the catalogue (its YAML settings)."""
    from testbed.config.catalogue import instantiate, option_node

    return instantiate(option_node("channel", name)).bind(name, "cpu")


def plot_waterfall(rows: list[dict], stem: Path, formats=("png", "pdf")) -> None:
    """BER (solid) and BLER (dashed) against Eb/N0, one colour per decoder; zero counts are not drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for i, decoder in enumerate(dict.fromkeys(r["decoder"] for r in rows)):
        mine = [r for r in rows if r["decoder"] == decoder]
        for key, style in (("ber", "-"), ("bler", "--")):
            pts = [(r["ebno_db"], r[key]) for r in mine if r[key] > 0]
            if pts:
                ax.semilogy(*zip(*pts), style, marker="o", markersize=4, color=f"C{i}", label=f"{decoder} {key.upper()}")
    first = rows[0]
    ax.set_title(f"5G LDPC k={first['k']}, n={first['n']}, {first['modulation']}, {first['channel']}")
    ax.set_xlabel("Eb/N0 (dB)")
    ax.set_ylabel("error rate")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    for fmt in formats:
        fig.savefig(f"{stem}.{fmt}")
    plt.close(fig)
