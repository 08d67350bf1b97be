"""Drawing smoke tests: figures come back and PNG files are written."""

import numpy as np
import torch
from matplotlib.figure import Figure

from testbed.metrics.sess import sess
from testbed.metrics.sess.draw import draw_matching, draw_scene_graph

from .synthetic import perturbed, random_graph, random_similarity


def test_draw_scene_graph_with_masks_and_with_boxes(tmp_path):
    rng = np.random.default_rng(0)
    masked = random_graph(rng, 6, masks=True)
    image = rng.integers(0, 256, (*masked.image_size, 3), dtype=np.uint8)
    fig = draw_scene_graph(masked, image, predicate_names=["on", "near", "has", "in", "by", "at"],
                           path=tmp_path / "masks.png")
    assert isinstance(fig, Figure) and (tmp_path / "masks.png").stat().st_size > 1000
    boxed = random_graph(rng, 4)
    tensor = torch.rand(3, *boxed.image_size)
    assert isinstance(draw_scene_graph(boxed, tensor, labels=False), Figure)
    assert isinstance(draw_scene_graph(random_graph(rng, 0)), Figure)  # empty graph, blank canvas


def test_draw_matching(tmp_path):
    rng = np.random.default_rng(1)
    a = random_graph(rng, 7, masks=False)
    b = perturbed(rng, a)
    result = sess(a, b, random_similarity(rng))
    fig = draw_matching(a, None, b, np.full((*b.image_size, 3), 0.5), result, path=tmp_path / "match.png")
    assert isinstance(fig, Figure) and (tmp_path / "match.png").stat().st_size > 1000
    assert len(fig.axes[0].lines) == len(result.matches)
