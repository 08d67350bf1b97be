"""Image folders (recursive, ordered, env var, limit), the embedded set, and bad files."""

import numpy as np
import pytest
from PIL import Image

from testbed.datasets.embedded import EmbeddedImages
from testbed.datasets.folder import ImageFolder
from testbed.core.errors import ConfigError, DatasetError


def _write(path, value, size=(8, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(path)


def test_recursive_sorted_and_limited(tmp_path):
    _write(tmp_path / "b.png", 1)
    _write(tmp_path / "a" / "z.png", 2)
    _write(tmp_path / "a.jpg", 3)
    (tmp_path / "notes.txt").write_text("not an image")
    ids = [r.image_id for r in ImageFolder(path=str(tmp_path)).load()]
    assert ids == ["a.jpg", "a/z.png", "b.png"]
    assert [r.image_id for r in ImageFolder(path=str(tmp_path), limit=2).load()] == ids[:2]


def test_path_from_environment_variable(tmp_path, monkeypatch):
    _write(tmp_path / "x.png", 5)
    monkeypatch.setenv("MY_IMAGES", str(tmp_path))
    records = ImageFolder(path=None, env="MY_IMAGES").load()
    assert records[0].image_id == "x.png" and records[0].pixels.shape == (3, 6, 8)


def test_missing_folder_and_no_path_are_explained(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_DIR", raising=False)
    with pytest.raises(ConfigError, match="dataset.path"):
        ImageFolder(path=None, env="NOPE_DIR")
    with pytest.raises(ConfigError, match="does not exist"):
        ImageFolder(path=str(tmp_path / "missing")).load()


def test_all_corrupt_files_reported_together(tmp_path):
    _write(tmp_path / "good.png", 9)
    (tmp_path / "bad1.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad2.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(DatasetError) as err:
        ImageFolder(path=str(tmp_path)).load()
    message = str(err.value)
    assert "2 image file(s)" in message and "bad1.png" in message and "bad2.jpg" in message


def test_embedded_images_need_no_download():
    records = EmbeddedImages(names=["astronaut", "coffee"], max_side=64).load()
    assert [r.image_id for r in records] == ["skimage:astronaut", "skimage:coffee"]
    assert max(records[1].pixels.shape[1:]) == 64
    assert records[0].content_hash != records[1].content_hash
    with pytest.raises(ConfigError, match="unknown embedded"):
        EmbeddedImages(names=["lena"])
