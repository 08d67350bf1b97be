"""The documented conversion rule for grey, palette, RGBA and 16-bit inputs."""

import numpy as np
from PIL import Image

from testbed.core.images import read_image, rgb8_to_tensor, tensor_to_rgb8, to_rgb8


def test_grey_is_replicated():
    grey = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4) * 20, "L")
    rgb = to_rgb8(grey)
    assert rgb.shape == (3, 4, 3) and np.all(rgb[..., 0] == rgb[..., 2])
    assert rgb[1, 1, 0] == 100


def test_rgba_is_composited_over_white():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)   # opaque red
    rgba[0, 1] = (255, 0, 0, 0)     # transparent -> white
    rgba[1, 0] = (0, 0, 0, 128)     # half black -> mid grey
    rgb = to_rgb8(Image.fromarray(rgba, "RGBA"))
    assert tuple(rgb[0, 0]) == (255, 0, 0)
    assert tuple(rgb[0, 1]) == (255, 255, 255)
    assert abs(int(rgb[1, 0, 0]) - 127) <= 1


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (4, 4), 0)
    img.putpalette([10, 20, 30] + [200, 100, 50] * 255)
    img.putpixel((1, 1), 1)
    img.info["transparency"] = 0
    path = tmp_path / "p.png"
    img.save(path, transparency=0)
    rgb = read_image(path)
    assert tuple(rgb[1, 1]) == (200, 100, 50)
    assert tuple(rgb[0, 0]) == (255, 255, 255)


def test_16_bit_is_scaled_by_257(tmp_path):
    arr = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(arr).save(path)
    rgb = read_image(path)
    assert list(rgb[0, :, 0]) == [0, 1, 255, 128]


def test_tensor_round_trip_is_exact():
    rgb = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    t = rgb8_to_tensor(rgb)
    assert t.shape == (3, 5, 7) and t.dtype.is_floating_point
    assert np.array_equal(tensor_to_rgb8(t), rgb)
