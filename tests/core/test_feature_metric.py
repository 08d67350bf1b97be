"""FeatureMetric: batched backbone calls, reference features embedded once, bounded cache."""

import torch

from testbed.core.feature_metric import FeatureMetric


class MeanColour(FeatureMetric):
    """A toy feature metric that counts its backbone calls: feature = mean colour [3]."""

    name = "mean_colour"
    higher_is_better = False
    batch_size = 2

    def __init__(self):
        super().__init__()
        self.calls, self.embedded = 0, 0

    def features(self, images):
        self.calls += 1
        self.embedded += images.shape[0]
        return list(images.mean(dim=(2, 3)).unbind(0))

    def compare(self, a, b):
        return torch.stack([(x - y).abs().sum() for x, y in zip(a, b)]).double()


def _images(n, shape=(3, 8, 12), seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(shape, generator=g) for _ in range(n)]


def test_references_are_embedded_once_and_batches_group_sizes():
    m = MeanColour()
    refs = _images(3) + _images(1, (3, 12, 8), seed=1)
    keys = ["a", "b", "c", "d"]
    first = m.score_many(_images(4, seed=2)[:3] + _images(1, (3, 12, 8), seed=3), refs, keys)
    assert m.embedded == 8 and m.calls == 6  # 4 preds + 4 refs, in batches of <= 2 of one size
    second = m.score_many(refs, refs, keys)
    assert m.embedded == 12 and torch.all(second == 0) and first.shape == (4,)
    expected = torch.cat([m.score(p[None], t[None]) for p, t in zip(_images(4, seed=2)[:3], refs[:3])])
    assert torch.allclose(first[:3], expected)


def test_cache_stops_at_its_memory_limit_and_scores_stay_right():
    m = MeanColour()
    m.cache_limit_mb = 2 * 3 * 4 / 2**20  # room for two features of 3 float32
    refs = _images(3)
    values = m.score_many(refs, refs, ["a", "b", "c"])
    assert len(m._reference) == 2 and torch.all(values == 0)
    m.score_many(refs, refs, ["a", "b", "c"])
    assert m.embedded == 6 + 3 + 1  # the 3 preds, and of the references only "c" again
    m.clear_cache()
    assert not m._reference
