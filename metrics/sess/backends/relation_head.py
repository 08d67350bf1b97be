"""The Relate-Anything (RAM) relation head, re-implemented so ``ram_epoch12.pth`` loads strictly.

RAM (github Luodian/RelateAnything, ``ram_train_eval.py``, class ``RamModel``) maps the SAM mask
tokens of one image, float ``[N, 256]``, to predicate probabilities ``[56, N, N]``:

1. ``fc_input``: Linear 256 -> 768, LayerNorm (eps 1e-5);
2. ``model``: a Hugging Face ``BertModel`` built from the ``bert-base-uncased`` config and cut to
   its first 2 layers, called with ``inputs_embeds`` and ``position_ids`` all equal to 1: so its
   embedding step adds ``position_embeddings[1]`` and ``token_type_embeddings[0]`` to every
   token and applies its LayerNorm (eps 1e-12) before the two post-LN encoder layers (12 heads,
   GELU feed-forward 3072); word embeddings and pooler are stored but unused;
3. ``fc_output``: Linear 768 -> 768, LayerNorm;
4. ``cls_sub`` / ``cls_obj``: Linear 768 -> 56 * 512, read as [56, 512] per token;
   logit(p, s, o) = <sub_p(s), obj_p(o)> / sqrt(512); self pairs masked; sigmoid.

Parameter names follow the checkpoint's (``fc_input.0.weight``, ``model.embeddings.*``,
``model.encoder.layer.{i}.attention.self.query.weight``, ..., ``model.pooler.dense.*``,
``cls_sub.*``, ``cls_obj.*``; listed by :func:`released_key_shapes`). The checkpoint also holds
the buffer ``model.embeddings.position_ids`` (transformers < 4.31 saved it); :func:`load_ram_state`
adds it where a file lacks it and strips a ``module.`` prefix. Evaluation is deterministic: no
dropout (the released SeSS code ran the model in training mode, with dropout active).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from testbed.core.weights import WeightsFile


RAM_WEIGHTS = WeightsFile(
    filename="ram_epoch12.pth",
    description="Relate-Anything relation head trained on PSG (RelateAnything README: "
                "https://1drv.ms/u/s!AgCc-d5Aw1cumQapZwcaKob8InQm?e=qyMeTS)")

@dataclass(frozen=True)
class RelationHeadConfig:
    """Sizes of the head (released values: RAM with bert-base-uncased cut to 2 layers)."""

    input_dim: int = 256
    hidden: int = 768
    layers: int = 2
    heads: int = 12
    intermediate: int = 3072
    predicates: int = 56
    pair_dim: int = 512
    vocab_size: int = 30522
    max_positions: int = 512
    type_vocab: int = 2
    bert_eps: float = 1e-12
    position_id: int = 1  # RAM passes position_ids = ones


class _Embeddings(nn.Module):
    def __init__(self, c: RelationHeadConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden)  # stored, unused
        self.position_embeddings = nn.Embedding(c.max_positions, c.hidden)
        self.token_type_embeddings = nn.Embedding(c.type_vocab, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=c.bert_eps)
        self.register_buffer("position_ids", torch.arange(c.max_positions).expand((1, -1)).clone())
        self.position_id = c.position_id

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.token_type_embeddings.weight[0]  # BERT's order: token type, then position
        return self.LayerNorm(x + self.position_embeddings.weight[self.position_id])


class _Dense(nn.Module):
    """``dense`` + optional residual ``LayerNorm`` (BERT's *Output blocks)."""

    def __init__(self, n_in: int, n_out: int, eps: float | None) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        if eps is not None:
            self.LayerNorm = nn.LayerNorm(n_out, eps=eps)


class _SelfAttention(nn.Module):
    def __init__(self, c: RelationHeadConfig) -> None:
        super().__init__()
        self.query, self.key, self.value = (nn.Linear(c.hidden, c.hidden) for _ in range(3))
        self.heads = c.heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape

        def split(t):
            return t.view(b, n, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1)
        return (weights @ v).transpose(1, 2).reshape(b, n, d)


class _Attention(nn.Module):
    def __init__(self, c: RelationHeadConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(c)
        self.output = _Dense(c.hidden, c.hidden, c.bert_eps)


class _Layer(nn.Module):
    """One post-LN BERT encoder layer."""

    def __init__(self, c: RelationHeadConfig) -> None:
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Dense(c.hidden, c.intermediate, None)
        self.output = _Dense(c.intermediate, c.hidden, c.bert_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        att = self.attention.output
        x = att.LayerNorm(x + att.dense(self.attention.self(x)))
        h = nn.functional.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(x + self.output.dense(h))


class _Encoder(nn.Module):
    def __init__(self, c: RelationHeadConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c.layers))


class _Bert(nn.Module):
    def __init__(self, c: RelationHeadConfig) -> None:
        super().__init__()
        self.embeddings = _Embeddings(c)
        self.encoder = _Encoder(c)
        self.pooler = _Dense(c.hidden, c.hidden, None)  # stored, unused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(x)
        for layer in self.encoder.layer:
            x = layer(x)
        return x


class RelationHead(nn.Module):
    """RAM's relation head (module doc); :meth:`probabilities` is what SeSS uses."""

    def __init__(self, config: RelationHeadConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or RelationHeadConfig()
        self.fc_input = nn.Sequential(nn.Linear(c.input_dim, c.hidden), nn.LayerNorm(c.hidden))
        self.model = _Bert(c)
        self.fc_output = nn.Sequential(nn.Linear(c.hidden, c.hidden), nn.LayerNorm(c.hidden))
        self.cls_sub = nn.Linear(c.hidden, c.pair_dim * c.predicates)
        self.cls_obj = nn.Linear(c.hidden, c.pair_dim * c.predicates)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Mask tokens ``[B, N, input_dim]`` -> logits ``[B, predicates, N, N]`` (subject, object)."""
        c = self.config
        x = self.fc_output(self.model(self.fc_input(tokens)))
        b, n, _ = x.shape
        sub = self.cls_sub(x).view(b, n, c.predicates, c.pair_dim).transpose(1, 2)
        obj = self.cls_obj(x).view(b, n, c.predicates, c.pair_dim).transpose(1, 2)
        return sub @ obj.transpose(-1, -2) / math.sqrt(c.pair_dim)

    @torch.no_grad()
    def probabilities(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens ``[N, input_dim]`` -> probabilities float32 ``[predicates, N, N]``, self pairs 0."""
        was_training = self.training
        self.eval()
        try:
            logits = self(tokens[None].float())[0]
        finally:
            self.train(was_training)
        n = logits.shape[-1]
        eye = torch.eye(n, dtype=torch.bool, device=logits.device)
        return torch.sigmoid(logits).masked_fill(eye, 0.0)


def released_key_shapes(config: RelationHeadConfig | None = None) -> dict[str, tuple[int, ...]]:
    """Every key of RAM's state dict with its shape (for ``config``; released sizes by default)."""
    with torch.device("meta"):
        head = RelationHead(config)
    return {k: tuple(v.shape) for k, v in head.state_dict().items()}


def load_ram_state(head: RelationHead, state: dict) -> RelationHead:
    """Load a RAM state dict strictly after normalising it: a ``module.`` prefix (DataParallel) is
    stripped, a missing ``model.embeddings.position_ids`` buffer (files saved with
    transformers >= 4.31) is supplied and a ``model.embeddings.token_type_ids`` buffer dropped."""
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    state.pop("model.embeddings.token_type_ids", None)
    state.setdefault("model.embeddings.position_ids", head.model.embeddings.position_ids.clone())
    head.load_state_dict(state, strict=True)
    return head.eval()


def load_relation_head(path: str, config: RelationHeadConfig | None = None) -> RelationHead:
    """The head with the weights of ``path`` (``ram_epoch12.pth``)."""
    head = RelationHead(config)
    return load_ram_state(head, torch.load(path, map_location="cpu", weights_only=True))
