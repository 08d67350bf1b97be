"""BPGSource: executable resolution, ConfigError messages, stand-in delegation, subprocess path.

The subprocess path is exercised with tiny fake ``bpgenc``/``bpgdec`` scripts (a real BPG header
followed by a lossless PNG), since libbpg is not a Python package.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from skimage import data, transform

from testbed.codecs.source import bpg as bpg_source
from testbed.codecs.source.bpg import BPGSource, bpg_header_size
from testbed.codecs.source.hevc import HEVCIntraSource
from testbed.core.errors import ConfigError

H, W = 64, 96

FAKE_BPGENC = '''
import sys
from PIL import Image
args = sys.argv[1:]
qp, chroma, out, src = args[args.index("-q") + 1], args[args.index("-f") + 1], args[args.index("-o") + 1], args[-1]
im = Image.open(src)
def ue7(v):
    groups = [v & 0x7F]
    while v > 0x7F:
        v >>= 7
        groups.append(0x80 | (v & 0x7F))
    return bytes(reversed(groups))
header = b"BPG\\xfb" + bytes([int(qp), int(chroma) % 256]) + ue7(im.width) + ue7(im.height)
with open(out, "wb") as f:
    f.write(header + open(src, "rb").read())
'''

FAKE_BPGDEC = '''
import sys, time
args = sys.argv[1:]
out, src = args[args.index("-o") + 1], args[-1]
blob = open(src, "rb").read()
if b"SLEEP" in blob:
    time.sleep(30)
start = blob.find(b"\\x89PNG")
if start < 0:
    sys.exit("bpgdec: invalid BPG image")
open(out, "wb").write(blob[start:])
'''


def _script(path: Path, body: str) -> str:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """Astronaut, ``uint8 [64, 96, 3]``."""
    return (transform.resize(data.astronaut(), (H, W), anti_aliasing=True) * 255).round().astype(np.uint8)


@pytest.fixture()
def fake_pair(tmp_path: Path) -> tuple[str, str]:
    return _script(tmp_path / "bpgenc", FAKE_BPGENC), _script(tmp_path / "bpgdec", FAKE_BPGDEC)


@pytest.fixture()
def no_libbpg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bpg_source.shutil, "which", lambda name: None)


def test_missing_explicit_path_raises_config_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere" / "bpgenc")
    src = BPGSource(bpgenc=missing, bpgdec=missing.replace("bpgenc", "bpgdec"))
    assert not src.uses_stand_in
    with pytest.raises(ConfigError) as err:
        src.check()
    assert missing in str(err.value)
    assert "install libbpg" in str(err.value) and "bpgenc=null" in str(err.value)


def test_non_executable_path_raises_config_error(tmp_path: Path) -> None:
    plain = tmp_path / "bpgenc"
    plain.write_text("not executable")
    with pytest.raises(ConfigError, match="not executable"):
        BPGSource(bpgenc=str(plain), bpgdec=str(plain)).check()


def test_stand_in_used_when_libbpg_absent(no_libbpg: None, image: np.ndarray) -> None:
    src = BPGSource()
    src.check()
    assert src.uses_stand_in
    info = src.describe()
    assert info["source_backend"].startswith("hevc_intra stand-in for BPG: x265 via PyAV")
    assert info["source_stand_in"] is True
    assert (info["source_preset"], info["source_tune"], info["source_chroma"]) == ("placebo", "ssim", "444")
    assert info["source_qp"] == "q + 1"
    blob = src.encode(image, 30)
    # bpgenc's defaults (libbpg x265_glue.c): placebo, tune ssim, x265 qp = q + 1 for 8-bit input
    assert blob == HEVCIntraSource(chroma="444", preset="placebo", tune="ssim").encode(image, 31)
    assert blob[4] >> 2 == 31 and blob[4] & 1 == 1  # lean header: x265 QP, 4:4:4 flag
    assert src.decode(blob, H, W).shape == (H, W, 3)
    assert list(src.qualities) == list(range(50, -1, -1))


def test_stand_in_keeps_a_faster_preset(no_libbpg: None, image: np.ndarray) -> None:
    fast = BPGSource(preset="medium", tune=None, chroma="420")
    assert fast.describe()["source_preset"] == "medium" and "source_tune" not in fast.describe()
    assert fast.encode(image, 30) == HEVCIntraSource(chroma="420").encode(image, 31)
    assert fast.cache_key != BPGSource().cache_key


def test_absent_without_stand_in_raises(no_libbpg: None) -> None:
    with pytest.raises(ConfigError, match="bpgenc not found"):
        BPGSource(stand_in=False).check()


def test_explicit_pair_runs_as_subprocess(fake_pair: tuple[str, str], image: np.ndarray) -> None:
    src = BPGSource(bpgenc=fake_pair[0], bpgdec=fake_pair[1])
    src.check()
    assert not src.uses_stand_in
    blob = src.encode(image, 37)
    assert blob[:4] == b"BPG\xfb" and blob[4] == 37 and blob[5] == 444 % 256  # -q and -f passed
    assert bpg_header_size(blob) == (H, W)
    assert np.array_equal(src.decode(blob, H, W), image)  # the fake codec is lossless
    assert src.describe()["source_stand_in"] is False
    assert fake_pair[0] in src.describe()["source_backend"]


def test_subprocess_failures_raise_value_error(fake_pair: tuple[str, str], image: np.ndarray) -> None:
    src = BPGSource(bpgenc=fake_pair[0], bpgdec=fake_pair[1], timeout_s=1.0)
    blob = src.encode(image, 30)
    with pytest.raises(ValueError, match="expected"):
        src.decode(blob, H + 1, W)  # header size mismatch: bpgdec never runs
    with pytest.raises(ValueError, match="bpgdec failed"):
        src.decode(blob[:8] + b"garbage", H, W)
    with pytest.raises(ValueError, match="timed out"):
        src.decode(blob[:8] + b"SLEEP", H, W)
    with pytest.raises(ValueError, match="bad magic"):
        src.decode(b"\x00" * 20, H, W)


def test_header_parser_handles_multi_byte_sizes() -> None:
    blob = b"BPG\xfb\x00\x00" + bytes([0x83, 0x00]) + bytes([0x81, 0x80, 0x01])
    assert bpg_header_size(blob) == (1 << 14 | 1, 3 << 7)
    with pytest.raises(ValueError):
        bpg_header_size(b"BPG\xfb\x00\x00" + b"\xff" * 12)
