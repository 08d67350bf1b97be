"""The ModNets of SwinJSCC / WITT: feature scaling driven by the SNR (channel ModNet) or the rate.

A ModNet is two parallel lists, registered directly on the encoder / decoder under the released
names (``bm_list``/``sm_list`` and, in the encoder of the SA&RA variant, ``bm_list1``/``sm_list1``):

* ``sm_list``: ``depth + 1`` linear layers, ``C -> hidden``, ``depth - 1`` times ``hidden -> hidden``,
  ``hidden -> C`` (``hidden = int(1.5 * C)``, ``depth = 7``);
* ``bm_list``: ``depth`` :class:`AdaptiveModulator` MLPs mapping the side value (the SNR in dB, or
  the rate as a channel count, as a float) to ``hidden`` gates in (0, 1).

``t = sm[0](x) * bm[0](v)``, then ``t = sm[i](t) * bm[i](v)`` for ``i = 1..depth-1``, and the
scale is ``sigmoid(sm[depth](t))`` (``[N, L, C]``); the caller multiplies the features by it.
The released code feeds one side value for the whole batch; here it is one value per image.
"""

from __future__ import annotations

import torch
from torch import nn

DEPTH = 7  # the released `layer_num`


class AdaptiveModulator(nn.Module):
    """``[N, 1] -> [N, M]``: Linear(1, M), ReLU, Linear(M, M), ReLU, Linear(M, M), Sigmoid (as ``fc``)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(1, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                nn.Linear(width, width), nn.Sigmoid())

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        return self.fc(value)


def hidden_width(channels: int) -> int:
    """The released hidden width of a ModNet over ``channels`` features: ``int(1.5 * channels)``."""
    return int(channels * 1.5)


def build_modnet(channels: int, depth: int = DEPTH) -> tuple[nn.ModuleList, nn.ModuleList]:
    """``(bm_list, sm_list)`` of a ModNet over ``channels`` features (see the module docstring)."""
    hidden = hidden_width(channels)
    bm_list = nn.ModuleList(AdaptiveModulator(hidden) for _ in range(depth))
    sm_list = nn.ModuleList([nn.Linear(channels, hidden)])
    sm_list.extend(nn.Linear(hidden, channels if i == depth - 1 else hidden) for i in range(depth))
    return bm_list, sm_list


def modnet_scale(x: torch.Tensor, side: torch.Tensor, bm_list: nn.ModuleList,
                 sm_list: nn.ModuleList) -> torch.Tensor:
    """Scale in (0, 1) for features ``x [N, L, C]`` given one side value per image ``side [N]``.

    ``x`` is detached as in the released code (the ModNet does not train the trunk through its
    input); returns ``[N, L, C]``.
    """
    value = side.to(x.dtype).reshape(-1, 1)
    if value.shape[0] != x.shape[0]:
        raise ValueError(f"modnet: {value.shape[0]} side values for a batch of {x.shape[0]}")
    t = x.detach()
    for i, modulator in enumerate(bm_list):
        t = sm_list[i](t) * modulator(value)[:, None, :]
    return torch.sigmoid(sm_list[len(bm_list)](t))


def select_channels(scale: torch.Tensor, rate: int) -> torch.Tensor:
    """The ``rate`` channels with the largest summed scale, per image: ``[N, L, C] -> bool [N, C]``.

    As released, channels are ranked by the sum over tokens of the rate ModNet's scale, descending;
    ties go to the lower channel index (a stable sort; the released unstable sort leaves them open).
    """
    score = scale.sum(dim=1)
    if not 0 < rate <= score.shape[1]:
        raise ValueError(f"rate {rate} is outside 1..{score.shape[1]} channels")
    order = torch.sort(score, dim=1, descending=True, stable=True).indices[:, :rate]
    selected = torch.zeros_like(score, dtype=torch.bool)
    return selected.scatter_(1, order, True)
