"""Scene graphs of reference images cached on disk, so a sweep builds one graph per received image.

Layout: ``<root>/<backend key>/<content hash>.json`` (+ ``.npz``), written with
:meth:`SceneGraph.save` (format in ``graph_files.py``), and ``<root>/<backend key>/backend.json``
(the description the key was made from, for people). The content hash is the one the sweep
passes as keys (:func:`testbed.core.images.content_hash` of the 8-bit image: shape and pixels); the
backend key is the SHA-256 of the backend's ``describe()`` JSON (sorted keys), which records the
backend's options, weights hashes and graph-building parameters, so a change to any of them
starts a fresh folder.

Root: ``cache_dir`` if given, else ``$TESTBED_CACHE/sess``, else ``~/.cache/testbed/sess``.
Writes are atomic: both files go to a private temporary folder beside the target and are then
renamed into place, the ``.npz`` first and the ``.json`` last, so a reader sees a whole graph or
none; concurrent writers of one key write the same bytes. A file that cannot be read (truncated,
mismatched pair, older format) counts as a miss and is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from testbed.metrics.sess.graph import SceneGraph, SceneGraphError

log = logging.getLogger(__name__)

CACHE_ENV = "TESTBED_CACHE"


def default_root() -> Path:
    """``$TESTBED_CACHE/sess``, else ``~/.cache/testbed/sess``."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "testbed") / "sess"


def is_content_hash(key: str) -> bool:
    """Whether ``key`` looks like a content hash (16-64 lowercase hex digits); other keys (a test's
    "a", "b") name no image content and are never stored on disk."""
    return isinstance(key, str) and re.fullmatch(r"[0-9a-f]{16,64}", key) is not None


def backend_key(description: dict) -> str:
    """First 24 hex digits of the SHA-256 of ``description`` as sorted-key JSON."""
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class GraphCache:
    """Scene graphs on disk for one backend description (see the module docstring)."""

    def __init__(self, description: dict, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root else default_root()
        self.key = backend_key(description)
        self.folder = self.root / self.key
        self.description = description
        self.hits = self.misses = 0

    def path(self, content_hash: str) -> Path:
        if not is_content_hash(content_hash):
            raise ValueError(f"graph cache: {content_hash!r} is not a content hash")
        return self.folder / f"{content_hash}.json"

    def get(self, content_hash: str) -> SceneGraph | None:
        """The cached graph of ``content_hash``, or None (counted as a miss)."""
        path = self.path(content_hash)
        if path.is_file():
            try:
                graph = SceneGraph.load(path)
                self.hits += 1
                return graph
            except SceneGraphError as err:
                log.warning("SeSS graph cache: %s is unreadable (%s); rebuilding it", path, err)
        self.misses += 1
        return None

    def put(self, content_hash: str, graph: SceneGraph) -> Path:
        """Store ``graph`` under ``content_hash`` atomically; returns the JSON path."""
        target = self.path(content_hash)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._describe_folder()
        scratch = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.folder))
        try:
            written = graph.save(scratch / target.name)
            os.replace(written.with_suffix(".npz"), target.with_suffix(".npz"))
            os.replace(written, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return target

    def _describe_folder(self) -> None:
        info = self.folder / "backend.json"
        if not info.is_file():
            handle, name = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
            with os.fdopen(handle, "w") as out:
                json.dump(self.description, out, indent=1, sort_keys=True, default=str)
            os.replace(name, info)
