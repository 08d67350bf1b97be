"""A run folder while a sweep writes to it: one writer at a time, and the config it was run with.

* :class:`RunLock`: ``run.lock`` holds the writer's pid, host and start time. A second sweep into
  the folder is refused with those; a lock left by a process that no longer runs (killed) is
  recognised as stale and taken over, with a warning.
* :func:`record_config`: ``.hydra/config.yaml`` and ``.hydra/overrides.yaml`` are written by the
  sweep itself, only after the run's settings were accepted against what the folder holds (Hydra's
  own copy is switched off: it would be written before any check).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from testbed.core.errors import ConfigError

log = logging.getLogger(__name__)
LOCK_FILE = "run.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """``with RunLock(folder):`` -- exclusive use of a run folder by this process."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._held = False

    def holder(self) -> dict | None:
        """The lock's contents (pid, host, started), or ``None`` when unreadable."""
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def __enter__(self) -> "RunLock":
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the run folder {self.folder} ({err.strerror}): use a run "
                              "directory you can write to (hydra.run.dir=...)") from None
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except PermissionError as err:
                raise ConfigError(f"cannot write in the run folder {self.folder} ({err.strerror}): make it "
                                  "writable or use another run directory (hydra.run.dir=...)") from None
            except FileExistsError:
                holder = self.holder()
                here = socket.gethostname()
                if holder and holder.get("host") == here and isinstance(holder.get("pid"), int) \
                        and not _alive(holder["pid"]):
                    log.warning("%s: stale lock of pid %s (started %s, no longer running): taken over",
                                self.folder, holder["pid"], holder.get("started"))
                    self.path.unlink(missing_ok=True)
                    continue
                if holder is None and time.time() - self.path.stat().st_mtime > 60:
                    log.warning("%s: unreadable lock file older than a minute: taken over", self.folder)
                    self.path.unlink(missing_ok=True)
                    continue
                who = (f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"
                       if holder else "a process that is starting")
                raise ConfigError(f"{self.folder} is in use by another sweep ({who}): wait for it to finish, "
                                  f"or use another run directory (hydra.run.dir=...); if that process is gone, "
                                  f"delete {self.path}")
            with os.fdopen(fd, "w") as fh:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                           "started": time.strftime("%Y-%m-%d %H:%M:%S")}, fh)
            self._held = True
            return self
        raise ConfigError(f"{self.folder}: could not take the lock {self.path}")

    def __exit__(self, *exc) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False


def record_config(cfg: DictConfig, folder: str | Path) -> None:
    """Write ``.hydra/config.yaml`` (the run's config) and ``.hydra/overrides.yaml`` (its command-line
    overrides, when run by Hydra), after the settings were accepted."""
    hydra_dir = Path(folder) / ".hydra"
    hydra_dir.mkdir(parents=True, exist_ok=True)
    job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]) if "hydra" in cfg else cfg
    (hydra_dir / "config.yaml").write_text(OmegaConf.to_yaml(job))
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = list(HydraConfig.get().overrides.task)
    except ValueError:  # not run by Hydra (Python API)
        overrides = None
    if overrides is not None:
        (hydra_dir / "overrides.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(overrides)))
