"""A workspace is a folder: ``zhijian.toml``, the lake and (by default) the SQLite store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zhijian.config import CONFIG_FILE, Config, load_config, render_toml
from zhijian.errors import WorkspaceError
from zhijian.lake import Lake
from zhijian.store import Store, migrate


@dataclass
class Workspace:
    root: Path
    config: Config
    _store: Store | None = field(default=None, repr=False)
    _lake: Lake | None = field(default=None, repr=False)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config.store_url(self.root))
        return self._store

    @property
    def lake_root(self) -> Path:
        p = Path(self.config.workspace.lake)
        return p if p.is_absolute() else self.root / p

    def lake(self, engine: str | None = None) -> Lake:
        eng = engine or self.config.workspace.engine
        if self._lake is None or self._lake.engine != eng:
            if self._lake is not None:
                self._lake.close()
            self._lake = Lake(self.lake_root, eng, self.config.spark.model_dump())
        return self._lake

    @property
    def attachments(self) -> Path:
        return self.root / "attachments"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def close(self) -> None:
        if self._lake is not None:
            self._lake.close()
        if self._store is not None:
            self._store.dispose()


def init_workspace(root: Path, name: str | None = None, *, force: bool = False) -> Workspace:
    """Create a workspace: a commented ``zhijian.toml``, the lake folder and a migrated store."""
    root = Path(root)
    cfg_path = root / CONFIG_FILE
    if cfg_path.exists() and not force:
        ws = open_workspace(root)
        migrate(ws.store.engine)
        return ws
    cfg = Config()
    if name:
        cfg.workspace.name = name
    root.mkdir(parents=True, exist_ok=True)
    store = Store(cfg.store_url(root))
    migrate(store.engine)  # before writing the toml: a failing store leaves no half workspace
    tmp = cfg_path.with_suffix(".toml.tmp")
    tmp.write_text(render_toml(cfg), encoding="utf-8")
    tmp.replace(cfg_path)
    ws = Workspace(root, cfg, _store=store)
    ws.lake_root.mkdir(parents=True, exist_ok=True)
    ws.attachments.mkdir(exist_ok=True)
    ws.reports.mkdir(exist_ok=True)
    return ws


def open_workspace(root: Path | str | None = None, *, check_store: bool = True) -> Workspace:
    """Open an existing workspace; a clear :class:`WorkspaceError` when the folder is not one."""
    root = Path(root or ".").resolve()
    if not root.is_dir():
        raise WorkspaceError(
            f"工作区目录不存在：{root}", f"workspace folder does not exist: {root}", path=str(root)
        )
    cfg = load_config(root / CONFIG_FILE)
    ws = Workspace(root, cfg)
    if check_store:
        ws.store.check_version()
    return ws
