"""The plugin catalogue and the one place where configs become objects.

The catalogue is the config tree itself: a plugin exists when a YAML file with a ``_target_``
exists in a group folder (``codec/``, ``channel/``, ``metric/``, ``dataset/``, ``experiment/``) of
the config root or of an out-of-tree package registered under the ``testbed.configs`` entry
point. There is no second name table.

Out-of-tree config folders reach Hydra as a ``hydra.searchpath`` override that the CLI adds
(:func:`searchpath_override`; compose-API users pass it too). DESIGN.md names a Hydra
search-path plugin for this; Hydra discovers those by walking the ``hydra_plugins`` namespace
package, which setuptools' editable installs (``pip install -e .`` with our ``package-dir``
mapping) expose only through an import hook that the walk does not see, so the plugin would work
in wheels but silently not in development checkouts.
"""

from __future__ import annotations

import difflib
import re
from importlib import import_module
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from testbed.config.groups import GROUPS, LIST_GROUPS
from testbed.core.errors import ConfigError

ENTRY_POINT_GROUP = "testbed.configs"


def config_root() -> Path:
    """The built-in Hydra config root (``experiments/``)."""
    return Path(str(files("testbed.experiments")))


def extra_config_roots() -> list[str]:
    """Config folders of out-of-tree plugin packages, as Hydra search-path entries."""
    roots = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        value = ep.value  # "package.module" or "pkg://package.configs" or "file://..."
        roots.append(value if "://" in value else f"pkg://{value}")
    return roots


def searchpath_override() -> list[str]:
    """``["hydra.searchpath=[...]"]`` for the declared out-of-tree config folders (or ``[]``)."""
    roots = extra_config_roots()
    return [f"hydra.searchpath=[{','.join(roots)}]"] if roots else []


def _group_dirs(group: str) -> list[Path]:
    dirs = [config_root() / group]
    for root in extra_config_roots():
        scheme, _, rest = root.partition("://")
        if scheme == "pkg":
            try:
                dirs.append(Path(str(files(rest))) / group)
            except ModuleNotFoundError:
                continue
        elif scheme == "file":
            dirs.append(Path(rest) / group)
    return dirs


def available(group: str) -> list[str]:
    """Names of every option of a config group (built-in and out-of-tree), sorted."""
    if group not in GROUPS:
        raise ConfigError(f"unknown group {group!r}; groups are {GROUPS}")
    names = {p.stem for d in _group_dirs(group) if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names)


def option_node(group: str, name: str) -> DictConfig:
    """The config node of one option as Hydra composes it (its defaults list applied: shared parts
    and nested choices included), unwrapped from its own name for the list groups."""
    check_choice(group, name)
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    overrides = [f"+{group}@option={name}"]
    if GlobalHydra.instance().is_initialized():  # inside a Hydra app (the sweep, testbed-train)
        cfg = compose(config_name=None, overrides=overrides)
    else:
        with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
            cfg = compose(config_name=None, overrides=overrides + searchpath_override())
    node = cfg.option
    node = node[name] if group in LIST_GROUPS and name in node else node
    return OmegaConf.create(OmegaConf.to_container(node, resolve=False))  # detached, writable


def suggest(name: str, options: list[str]) -> str:
    """A 'did you mean' hint for a misspelt option."""
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.5)
    return f"did you mean {', '.join(close)}? " if close else ""


def check_choice(group: str, name: str) -> None:
    """Raise a clear :class:`ConfigError` if ``name`` is not an option of ``group``."""
    options = available(group)
    if name not in options:
        raise ConfigError(
            f"unknown {group} {name!r}: {suggest(name, options)}available: {', '.join(options)} "
            f"(list them with `testbed list {group}`)"
        )


def instantiate(cfg: DictConfig | dict, base: type | None = None, **kwargs: Any) -> Any:
    """Build the object a config node describes (``_target_`` + arguments), with clear errors.

    Every ``_target_`` in the node (nested ones included) must name a class of ``testbed`` or of a
    package that declares plugins (:func:`allowed_packages`); this is checked before anything is
    imported, so a config or an override can build nothing else (no ``numpy.load``, no
    ``builtins.open``). With ``base``, the top-level class must be a subclass of it (checked before
    it is constructed).
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    target = node.get("_target_") if isinstance(node, DictConfig) else None
    if not target:
        raise ConfigError(f"config node has no _target_: {OmegaConf.to_yaml(node)}")
    for nested in _targets(node):
        _check_target(nested)
    cls = _check_target(str(target))
    if base is not None and not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"_target_ {target} is not a {base.__name__} (a {_kind(base)} config must name one)")
    try:
        return hydra_instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, ConfigError):
            raise cause from None
        raise ConfigError(f"cannot build {target}: {cause or err}") from err


def allowed_packages() -> tuple[str, ...]:
    """Top-level packages whose classes configs may build: ``testbed`` and the packages of the
    distributions that declare plugin configs (``testbed.configs`` entry point)."""
    roots = {"testbed"}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        value = ep.value
        if "://" not in value or value.startswith("pkg://"):
            roots.add(value.split("://")[-1].split(".")[0].strip())
        top_level = ep.dist.read_text("top_level.txt") if ep.dist is not None else None
        roots.update(line.strip() for line in (top_level or "").splitlines() if line.strip())
    return tuple(sorted(roots))


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _targets(node) -> list:
    """Every ``_target_`` value below ``node`` (dicts and lists, interpolations left as written)."""
    data = OmegaConf.to_container(node, resolve=False) if isinstance(node, (DictConfig, ListConfig)) else node
    found, stack = [], [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "_target_" in item:
                found.append(item["_target_"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _check_target(target) -> Any:
    """The class a ``_target_`` names, refused unless it lives in an allowed package (checked
    before any import) and is a class."""
    allowed = allowed_packages()
    if not isinstance(target, str) or not _DOTTED.fullmatch(target) or target.split(".")[0] not in allowed:
        raise ConfigError(
            f"_target_ {target!r} is refused: configs build classes of {', '.join(allowed)} only "
            "(an out-of-tree plugin package declares itself with the testbed.configs entry point, "
            "README: Adding a plugin)")
    module_name, _, attr = target.rpartition(".")
    try:
        module = import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"_target_ {target}: module {module_name!r} cannot be imported ({err})") from err
    obj = getattr(module, attr, None)
    if obj is None:
        raise ConfigError(f"_target_ {target}: {module_name} has no {attr!r}")
    if not isinstance(obj, type):
        raise ConfigError(f"_target_ {target} is not a class (configs name plugin classes)")
    return obj


def _kind(base: type) -> str:
    return {"Codec": "codec", "Channel": "channel", "Metric": "metric", "Dataset": "dataset"}.get(base.__name__,
                                                                                                  base.__name__)
