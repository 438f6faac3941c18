"""Backup and restore of a workspace: configuration, store, lake and attachments in one .tar.gz.

The store is written as one JSON-lines file per table (``store/<table>.jsonl``) from a consistent
snapshot, so a backup taken from SQLite restores into PostgreSQL and the other way round. The
archive carries a manifest with its format, the workspace format and the store schema revision;
restore refuses an archive newer than this program, restores into a staging folder first, checks
row counts and the audit hash chain, and only then moves the workspace into place.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Integer, create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from zhijian.config import CONFIG_FILE, WORKSPACE_FORMAT, load_config
from zhijian.errors import ZhijianError
from zhijian.store.db import Store, current_revision, head_revision, migrate
from zhijian.store.models import Base

#: Bumped when the archive layout changes incompatibly.
BACKUP_FORMAT = 1
MANIFEST = "manifest.json"


class BackupError(ZhijianError):
    """An archive that cannot be restored: newer format, damaged, or a non-empty target."""


def _tables():
    return list(Base.metadata.sorted_tables)


def _encode(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def _dump_store(url: str, engine, out_dir: Path) -> dict[str, int]:
    """Write every table as JSON lines from one consistent snapshot; returns row counts."""
    counts: dict[str, int] = {}
    snap_tmp = None
    if url.startswith("sqlite"):
        # The SQLite online backup API gives a consistent copy even while the server writes.
        src_path = url.split("///", 1)[1]
        fd, snap_tmp = tempfile.mkstemp(suffix=".sqlite")
        os.close(fd)
        with sqlite3.connect(src_path) as src, sqlite3.connect(snap_tmp) as dst:
            src.backup(dst)
        engine = create_engine(f"sqlite:///{snap_tmp}")
        conn = engine.connect()
    else:
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        with conn.begin():
            for table in _tables():
                pk = list(table.primary_key.columns)
                n = 0
                with open(out_dir / f"{table.name}.jsonl", "w", encoding="utf-8") as f:
                    for row in conn.execute(select(table).order_by(*pk)).mappings():
                        f.write(json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False))
                        f.write("\n")
                        n += 1
                counts[table.name] = n
    finally:
        conn.close()
        if snap_tmp:
            engine.dispose()
            os.unlink(snap_tmp)
    return counts


def backup(ws, out: Path | str) -> dict:
    """Write ``out`` (.tar.gz) holding the workspace's config, store, lake and attachments."""
    from zhijian import __version__ as version
    from zhijian.lake.lock import import_lock

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # under the import lock: an import committing between the store dump and the lake copy would
    # leave the archive a lake batch without its store row
    with import_lock(ws.lake_root), tempfile.TemporaryDirectory(prefix="zhijian-backup-") as tmp:
        store_dir = Path(tmp) / "store"
        store_dir.mkdir()
        counts = _dump_store(ws.store.url, ws.store.engine, store_dir)
        manifest = {
            "format": BACKUP_FORMAT,
            "zhijian": version,
            "workspace_format": WORKSPACE_FORMAT,
            "store_revision": current_revision(ws.store.engine),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "workspace_name": ws.config.workspace.name,
            "tables": counts,
        }
        part = out.with_name(out.name + ".part")
        with tarfile.open(part, "w:gz", compresslevel=6) as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(dt.datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(ws.root / CONFIG_FILE, arcname=CONFIG_FILE)
            tar.add(store_dir, arcname="store")
            if ws.lake_root.exists():
                tar.add(ws.lake_root, arcname="lake", filter=_lake_member)
            if ws.attachments.exists():
                tar.add(ws.attachments, arcname="attachments")
        part.replace(out)
    manifest["path"] = str(out)
    manifest["bytes"] = out.stat().st_size
    return manifest


def _lake_member(ti: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """The lake's files in a backup: not the staging under ``_tmp`` nor the import lock file."""
    from zhijian.lake.lock import LOCK_NAME

    return None if "/_tmp" in ti.name or ti.name == f"lake/{LOCK_NAME}" else ti


def read_manifest(archive: Path | str) -> dict:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            m = tar.extractfile(MANIFEST)
            if m is None:
                raise KeyError(MANIFEST)
            return json.loads(m.read().decode("utf-8"))
    except (tarfile.TarError, KeyError, OSError, json.JSONDecodeError, EOFError) as e:
        raise BackupError(
            f"不是有效的 zhijian 备份文件：{e}", f"not a zhijian backup archive: {e}", path=str(archive)
        ) from e


def _check_manifest(m: dict, archive: Path) -> None:
    fmt = int(m.get("format", 0))
    if fmt > BACKUP_FORMAT:
        raise BackupError(
            f"该备份由更新版本的 zhijian 生成（备份格式 {fmt}，本程序支持 {BACKUP_FORMAT}），请先升级 zhijian",
            f"backup format {fmt} is newer than this zhijian supports ({BACKUP_FORMAT}); upgrade",
            path=str(archive),
            where="manifest.json: format",
        )
    if int(m.get("workspace_format", 0)) > WORKSPACE_FORMAT:
        raise BackupError(
            f"该备份的工作区格式 {m.get('workspace_format')} 比本程序新，请先升级 zhijian",
            "workspace format in the backup is newer than this zhijian; upgrade",
            path=str(archive),
            where="manifest.json: workspace_format",
        )
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from zhijian.store.db import MIGRATIONS

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    known = {r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()}
    rev = m.get("store_revision")
    if rev and rev not in known:
        raise BackupError(
            f"该备份的业务库结构版本 {rev} 比本程序新，请先升级 zhijian",
            f"store revision {rev} in the backup is unknown to this zhijian; upgrade",
            path=str(archive),
            where="manifest.json: store_revision",
        )


def _decode_row(table, row: dict) -> dict:
    out = {}
    for col in table.columns:
        if col.name not in row:
            continue
        v = row[col.name]
        if v is not None and isinstance(v, str):
            if isinstance(col.type, DateTime):
                v = dt.datetime.fromisoformat(v)
            elif isinstance(col.type, Date):
                v = dt.date.fromisoformat(v)
        out[col.name] = v
    return out


def _load_store(store: Store, store_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with Session(store.engine) as s, s.begin():
        for table in _tables():
            if s.execute(select(func.count()).select_from(table)).scalar_one():
                raise BackupError(
                    f"目标业务库的表 {table.name} 不是空的；请恢复到空库",
                    f"target store table {table.name} is not empty",
                    where=store.url.split("@")[-1],
                )
        for table in _tables():
            path = store_dir / f"{table.name}.jsonl"
            rows = []
            if path.exists():
                with open(path, encoding="utf-8") as f:
                    rows = [_decode_row(table, json.loads(line)) for line in f if line.strip()]
            if table.name == "units":
                rows.sort(key=lambda r: str(r.get("path", "")).count("/"))
            for i in range(0, len(rows), 1000):
                s.execute(insert(table), rows[i : i + 1000])
            counts[table.name] = len(rows)
        if store.engine.dialect.name == "postgresql":
            for table in _tables():
                pk = list(table.primary_key.columns)
                if len(pk) == 1 and isinstance(pk[0].type, Integer):
                    s.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                            f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false)"
                        )
                    )
    return counts


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    out = []
    for m in tar.getmembers():
        p = Path(m.name)
        if p.is_absolute() or ".." in p.parts or not (m.isfile() or m.isdir()):
            raise BackupError(f"备份文件中有不安全的路径：{m.name}", f"unsafe member in archive: {m.name}")
        out.append(m)
    return out


def restore(archive: Path | str, target: Path | str) -> dict:
    """Restore ``archive`` into the new workspace folder ``target`` (which must not exist or be empty).

    The store goes where the restored workspace's configuration points: ``ZHIJIAN_STORE_URL`` when set
    (that database must be empty), else a new SQLite file inside ``target``."""
    from zhijian.store import audit

    archive = Path(archive)
    target = Path(target).resolve()
    m = read_manifest(archive)
    _check_manifest(m, archive)
    if target.exists() and any(target.iterdir()):
        raise BackupError(
            f"恢复目标目录不是空的：{target}",
            f"restore target {target} exists and is not empty",
            path=str(target),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".zhijian-restore-", dir=target.parent))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = _safe_members(tar)
            tar.extractall(staging, members=members, filter="data")
        cfg = load_config(staging / CONFIG_FILE)
        store_dir = staging / "store"
        final_url = cfg.store_url(target)
        stage_url = cfg.store_url(staging)
        store = Store(stage_url)
        try:
            migrate(store.engine)
            if current_revision(store.engine) != head_revision():
                raise BackupError("无法建立业务库结构", "could not migrate the target store")
            counts = _load_store(store, store_dir)
            for name, n in (m.get("tables") or {}).items():
                if counts.get(name, 0) != n:
                    raise BackupError(
                        f"恢复后表 {name} 的行数 {counts.get(name, 0)} 与备份记录 {n} 不符",
                        f"row count mismatch in {name}: {counts.get(name, 0)} != {n}",
                    )
            with Session(store.engine) as s:
                ok, bad = audit.verify(s)
            if not ok:
                raise BackupError(
                    f"备份中的审计日志哈希链在第 {bad} 条断裂（备份可能被篡改）",
                    f"audit chain broken at entry {bad} in the backup",
                    path=str(archive),
                )
        finally:
            store.dispose()
        shutil.rmtree(store_dir)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"target": str(target), "store_url": final_url.split("@")[-1], "tables": counts, "manifest": m}
