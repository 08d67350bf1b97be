"""BPG source codec: the reference ``bpgenc``/``bpgdec`` pair, or the HEVC-intra stand-in.

Resolution of the backend (DESIGN.md §4):

1. ``bpgenc``/``bpgdec`` given explicitly: those executables are used; if either is missing or
   not executable, :meth:`BPGSource.check` raises :class:`~testbed.core.errors.ConfigError`.
2. Not given: looked up on ``PATH``. If absent and ``stand_in`` is true, everything is delegated to
   :class:`~testbed.codecs.source.hevc.HEVCIntraSource` and :meth:`describe` says so; if absent and
   ``stand_in`` is false, :meth:`check` raises.

With the real pair, the transmitted bytes are the whole ``.bpg`` file.

The stand-in encodes as bpgenc 0.9.8 does at its defaults (libbpg ``x265_glue.c``): x265 preset
``placebo`` (compression level 8), tune ``ssim`` (psy-rd and psy-rdoq off), constant QP
``qp = q + 1`` for 8-bit pictures, intra only, Y'CbCr BT.601 full range; the qualities are bpgenc's
``-q`` values. ``preset`` and ``tune`` trade that for speed (``medium``/``null`` encodes about 2.5x
faster and loses 0.6-0.9 dB at equal rate, measured on three training photos at 0.5 and 1 bpp).

Chroma defaults to ``444``, not bpgenc's own ``420``: the BPG curves deep-JSCC papers compare with
are CompressAI's published Kodak results (bpgenc ``-f 444``), and with 4:4:4 our capacity curve is
the same experiment as theirs; ``chroma: "420"`` reproduces bpgenc's default (with preset medium, 0.3 dB better at
CBR 1/16 and 1 dB SNR, equal at 13 dB on Kodak, issue 14).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from testbed.core.codec import SourceCodec
from testbed.codecs.source.hevc import HEVCIntraSource
from testbed.core.errors import ConfigError

#: bpgenc's x265 QP for 8-bit pictures is its ``-q`` value plus this (libbpg ``x265_glue.c``).
BPGENC_QP_OFFSET = 1
#: Seconds one bpgenc/bpgdec call may take before it counts as failed.
DEFAULT_TIMEOUT_S = 60.0


def bpg_header_size(data: bytes) -> tuple[int, int]:
    """(height, width) from a BPG file header; ``ValueError`` if it is not one.

    Layout: magic ``BPG\\xfb``, two flag bytes, then width and height as ue7(32) numbers
    (big-endian groups of 7 bits, high bit set on every byte but the last).
    """
    if len(data) < 8 or bytes(data[:4]) != b"BPG\xfb":
        raise ValueError("not a BPG file (bad magic)")
    pos, values = 6, []
    for _ in range(2):
        value = 0
        for count in range(6):
            if pos >= len(data) or count == 5:
                raise ValueError("BPG header truncated or malformed")
            byte = data[pos]
            pos += 1
            value = value << 7 | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values[1], values[0]


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


@functools.lru_cache(maxsize=8)
def _bpg_version(bpgenc: str) -> str:
    """First line of ``bpgenc``'s usage text (it names the version), or ``"unknown version"``."""
    try:
        proc = subprocess.run([bpgenc], capture_output=True, timeout=10, text=True, errors="replace")
    except (OSError, subprocess.SubprocessError):
        return "unknown version"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown version"


class BPGSource(SourceCodec):
    """BPG images; qualities are bpgenc ``-q`` values, smallest file first: 51 down to 0 (the
    stand-in: 50 down to 0, since ``q = 51`` would ask x265 for QP 52, past its range).

    Args:
        bpgenc, bpgdec: executable paths; ``None`` looks them up on ``PATH``.
        chroma: ``"420"`` or ``"444"`` (bpgenc ``-f``).
        stand_in: use :class:`HEVCIntraSource` when no executable is given and none is on ``PATH``.
        timeout_s: limit for one bpgenc/bpgdec call.
        config_path: config node of this source, used in error messages.
        preset, tune: x265 settings of the stand-in (bpgenc's ``placebo`` and ``ssim`` by default);
            every row's provenance records them and the QP mapping.
    """

    name = "bpg"
    monotone_sizes = True  # bpgenc codes one x265 intra picture at a fixed QP, as the stand-in

    def __init__(
        self,
        bpgenc: str | None = None,
        bpgdec: str | None = None,
        chroma: str = "444",
        stand_in: bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        config_path: str = "codec.source",
        preset: str = "placebo",
        tune: str | None = "ssim",
    ) -> None:
        if str(chroma) not in ("420", "444"):
            raise ValueError(f"chroma must be '420' or '444', got {chroma!r}")
        self.chroma = str(chroma)
        self.timeout_s = float(timeout_s)
        self.config_path = config_path
        self.explicit = bpgenc is not None or bpgdec is not None
        self.bpgenc = str(bpgenc) if bpgenc is not None else shutil.which("bpgenc")
        self.bpgdec = str(bpgdec) if bpgdec is not None else shutil.which("bpgdec")
        self.stand_in = bool(stand_in)
        found = self.bpgenc is not None and self.bpgdec is not None
        self._delegate: HEVCIntraSource | None = None
        if not self.explicit and not found and self.stand_in:
            self._delegate = HEVCIntraSource(
                chroma=self.chroma, preset=preset, tune=tune, qp_offset=BPGENC_QP_OFFSET
            )

    @property
    def uses_stand_in(self) -> bool:
        """True when results come from the HEVC-intra stand-in, not libbpg."""
        return self._delegate is not None

    @property
    def qualities(self) -> Sequence[float]:
        if self._delegate is not None:
            return self._delegate.qualities
        return list(range(51, -1, -1))

    @property
    def cache_key(self) -> str:
        if self._delegate is not None:
            return f"bpg-stand-in:{self._delegate.cache_key}"
        return f"bpg(bpgenc={self.bpgenc},bpgdec={self.bpgdec},chroma={self.chroma})"

    def check(self) -> None:
        """Raise :class:`ConfigError` naming the missing executable and the fix."""
        if self._delegate is not None:
            return
        fix = (
            "install libbpg (bpgenc/bpgdec) or set "
            f"{self.config_path}.bpgenc=null to use the HEVC-intra stand-in"
        )
        for tool, path in (("bpgenc", self.bpgenc), ("bpgdec", self.bpgdec)):
            if path is None:
                hint = "" if self.explicit else " and stand_in is false"
                raise ConfigError(f"BPG: {tool} not found on PATH{hint}; {fix}")
            if not _is_executable(path):
                raise ConfigError(f"BPG: {tool} {path!r} does not exist or is not executable; {fix}")

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        """``uint8 [H, W, 3]`` -> complete ``.bpg`` file bytes (or the stand-in's lean file)."""
        if self._delegate is not None:
            return self._delegate.encode(image, quality)
        self.check()
        qp = int(round(float(quality)))
        if not 0 <= qp <= 51:
            raise ValueError(f"BPG quality is a QP in 0..51, got {quality}")
        with tempfile.TemporaryDirectory(prefix="bpgenc-") as tmp:
            src, out = Path(tmp) / "in.png", Path(tmp) / "out.bpg"
            Image.fromarray(np.ascontiguousarray(image), mode="RGB").save(src, format="PNG")
            self._run([self.bpgenc, "-q", str(qp), "-f", self.chroma, "-o", str(out), str(src)])
            return out.read_bytes()

    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        """``.bpg`` bytes -> ``uint8 [height, width, 3]``; ``ValueError`` on any failure."""
        if self._delegate is not None:
            return self._delegate.decode(data, height, width)
        self.check()
        size = bpg_header_size(data)
        if size != (height, width):
            raise ValueError(f"BPG header says {size[0]}x{size[1]}, expected {height}x{width}")
        with tempfile.TemporaryDirectory(prefix="bpgdec-") as tmp:
            src, out = Path(tmp) / "in.bpg", Path(tmp) / "out.png"
            src.write_bytes(bytes(data))
            self._run([self.bpgdec, "-o", str(out), str(src)])
            try:
                with Image.open(out) as im:
                    if im.size != (width, height):
                        raise ValueError(f"BPG is {im.size[1]}x{im.size[0]}, expected {height}x{width}")
                    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
            except ValueError:
                raise
            except Exception as exc:
                raise ValueError(f"bpgdec output unreadable: {type(exc).__name__}: {exc}") from exc

    def describe(self) -> dict:
        if self._delegate is not None:
            inner = self._delegate.describe()
            return {
                **inner,
                "source_backend": f"hevc_intra stand-in for BPG: {inner['source_backend']}",
                "source_stand_in": True,
            }
        version = _bpg_version(self.bpgenc) if self.bpgenc else "unknown version"
        return {
            "source_backend": f"libbpg bpgenc/bpgdec ({version}; {self.bpgenc})",
            "source_chroma": self.chroma,
            "source_stand_in": False,
        }

    def _run(self, argv: list) -> None:
        """Run one libbpg command; ``ValueError`` on non-zero exit or timeout."""
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise ValueError(f"{Path(argv[0]).name} timed out after {self.timeout_s:g} s") from exc
        if proc.returncode != 0:
            message = (proc.stderr or proc.stdout).decode(errors="replace").strip()[-300:]
            raise ValueError(f"{Path(argv[0]).name} failed (exit {proc.returncode}): {message}")
        out = Path(argv[argv.index("-o") + 1])
        if not out.is_file():
            raise ValueError(f"{Path(argv[0]).name} wrote no output file")
