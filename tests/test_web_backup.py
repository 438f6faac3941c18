"""Backup / restore (store + lake + config + attachments), refusing newer formats; and the CLI
commands users, audit verify, backup, restore."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest
from sqlalchemy import func, select, text

from web_support import build_county, reset_pg_schema
from zhijian.store import audit
from zhijian.store.backup import BackupError, backup, restore
from zhijian.store.models import AuditLog, Finding, Person, Unit, User
from zhijian.workspace import open_workspace

CLI = [sys.executable, "-m", "zhijian.cli"]


def _counts(ws):
    with ws.store.session() as s:
        return {
            m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Unit, Person, Finding, User, AuditLog)
        }


def test_backup_waits_for_a_running_import(tmp_path):
    """A backup holds the import lock: an import committing between its store dump and its lake copy
    would leave the archive a lake batch without its store row."""
    import threading
    import time

    from zhijian.lake.lock import LOCK_NAME, import_lock

    c = build_county(tmp_path / "ws")
    held, released = threading.Event(), []

    def hold() -> None:
        with import_lock(c.ws.lake_root):  # another open file: flock makes this thread a second holder
            held.set()
            time.sleep(0.5)
            released.append(True)

    t = threading.Thread(target=hold)
    t.start()
    assert held.wait(30)
    backup(c.ws, tmp_path / "b.tar.gz")
    assert released == [True]  # the backup ran only once the import was done
    t.join()
    with tarfile.open(tmp_path / "b.tar.gz", "r:gz") as tar:
        names = tar.getnames()
    assert "lake/messages" in names and f"lake/{LOCK_NAME}" not in names
    c.ws.close()


def test_backup_and_restore_roundtrip(tmp_path):
    c = build_county(tmp_path / "ws")
    (c.ws.attachments / "findings").mkdir(parents=True)
    (c.ws.attachments / "findings" / "a.txt").write_text("整改材料", encoding="utf-8")
    before = _counts(c.ws)
    m = backup(c.ws, tmp_path / "b.tar.gz")
    assert m["format"] == 1 and m["tables"]["findings"] == before["findings"]
    r = restore(tmp_path / "b.tar.gz", tmp_path / "restored")
    ws2 = open_workspace(tmp_path / "restored")
    assert _counts(ws2) == before
    with ws2.store.session() as s:
        assert audit.verify(s) == (True, None)
        u = s.execute(select(User).where(User.username == "super")).scalar_one()
        assert u.password_hash.startswith("$argon2id$")
        # new rows continue the chain and the id sequences
        audit.record(s, "t", "after.restore", "x", "1", None, None)
    with ws2.store.session() as s:
        assert audit.verify(s) == (True, None)
    assert (ws2.attachments / "findings" / "a.txt").read_text(encoding="utf-8") == "整改材料"
    msgs = ws2.lake().to_arrow(ws2.lake().table("messages"))
    assert msgs.num_rows == 8
    assert r["tables"]["units"] == 4
    # the restored workspace serves (the web app opens it)
    from web_support import Server, login

    with Server(ws2) as srv:
        assert login(srv.url, "super", c.passwords["super"]).get("/api/v1/findings/fA").status_code == 200
    ws2.close()
    c.ws.close()


def _rewrite_manifest(src, dst, **changes):
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read() if m.isfile() else None
            if m.name == "manifest.json":
                j = json.loads(data)
                j.update(changes)
                data = json.dumps(j).encode()
                m.size = len(data)
            tout.addfile(m, io.BytesIO(data) if data is not None else None)


@pytest.mark.parametrize(
    "change", [{"format": 2}, {"workspace_format": 99}, {"store_revision": "9999_future"}]
)
def test_restore_refuses_newer(tmp_path, change):
    c = build_county(tmp_path / "ws")
    backup(c.ws, tmp_path / "b.tar.gz")
    _rewrite_manifest(tmp_path / "b.tar.gz", tmp_path / "new.tar.gz", **change)
    with pytest.raises(BackupError) as e:
        restore(tmp_path / "new.tar.gz", tmp_path / "r")
    assert "升级" in e.value.zh
    assert not (tmp_path / "r").exists()
    c.ws.close()


def test_restore_refuses_damaged_and_nonempty(tmp_path):
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(BackupError):
        restore(tmp_path / "junk.tar.gz", tmp_path / "r")
    c = build_county(tmp_path / "ws")
    backup(c.ws, tmp_path / "b.tar.gz")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError):
        restore(tmp_path / "b.tar.gz", tmp_path / "full")
    # a tampered audit log in the archive is refused
    with c.ws.store.engine.begin() as con:
        con.execute(text("UPDATE audit_log SET actor='mallory' WHERE id = 2"))
    backup(c.ws, tmp_path / "t.tar.gz")
    with pytest.raises(BackupError) as e:
        restore(tmp_path / "t.tar.gz", tmp_path / "r2")
    assert "审计" in e.value.zh and not (tmp_path / "r2").exists()
    c.ws.close()


@pytest.mark.skipif(not os.environ.get("ZHIJIAN_TEST_PG"), reason="needs ZHIJIAN_TEST_PG")
def test_restore_sqlite_backup_into_postgres(tmp_path, monkeypatch):
    c = build_county(tmp_path / "ws")
    before = _counts(c.ws)
    backup(c.ws, tmp_path / "b.tar.gz")
    url = reset_pg_schema(os.environ["ZHIJIAN_TEST_PG"], "zj_web_restore")
    monkeypatch.setenv("ZHIJIAN_STORE_URL", url)
    restore(tmp_path / "b.tar.gz", tmp_path / "pgws")
    ws2 = open_workspace(tmp_path / "pgws")
    assert ws2.store.url.startswith("postgresql") and _counts(ws2) == before
    with ws2.store.session() as s:
        audit.record(s, "t", "after.restore", "x", "1", None, None)  # sequences were reset
        assert audit.verify(s) == (True, None)
    ws2.close()
    c.ws.close()
    from web_support import drop_pg_schema

    drop_pg_schema("zj_web_restore")


@pytest.mark.slow
def test_cli_users_audit_backup_restore(tmp_path):
    c = build_county(tmp_path / "ws")
    c.ws.close()
    w = ["-w", str(tmp_path / "ws")]
    env = {k: v for k, v in os.environ.items() if k != "ZHIJIAN_STORE_URL"}
    r = subprocess.run(
        CLI + ["users", "create", "chief", "--role", "admin", *w], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr
    assert "初始密码" in r.stdout
    r = subprocess.run(
        CLI + ["users", "create", "x", "--role", "liaison", *w], capture_output=True, text=True, env=env
    )
    assert r.returncode == 2 and "联络员" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(CLI + ["users", "list", *w], capture_output=True, text=True, env=env)
    assert "chief" in r.stdout and "liaisonA" in r.stdout
    r = subprocess.run(CLI + ["audit", "verify", *w], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "完整" in r.stdout
    r = subprocess.run(
        CLI + ["backup", str(tmp_path / "b.tar.gz"), *w], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        CLI + ["restore", str(tmp_path / "b.tar.gz"), str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    ws = open_workspace(tmp_path / "ws")
    with ws.store.engine.begin() as con:
        con.execute(text("UPDATE audit_log SET after = NULL WHERE id = 1"))
    ws.close()
    r = subprocess.run(CLI + ["audit", "verify", *w], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "第 1 条" in r.stderr


@pytest.mark.slow
def test_demo_users(tmp_path):
    from zhijian.web.demo_users import create_demo_users

    c = build_county(tmp_path / "ws")
    a = create_demo_users(c.ws)
    roles = {r for _, r, _, _ in a}
    assert roles == {"admin", "supervisor", "liaison", "owner", "cadre"}
    b = create_demo_users(c.ws)  # run twice: same accounts, new passwords
    assert [x[0] for x in a] == [x[0] for x in b] and all(x[3] != y[3] for x, y in zip(a, b, strict=True))
    from web_support import Server, login

    with Server(c.ws) as srv:
        for user, role, _unit, pw in b:
            me = login(srv.url, user, pw).get("/api/v1/me").json()
            assert me["role"] == role
        assert login(srv.url, "demo-liaison", b[2][3]).get("/api/v1/me").json()["unit_id"] == "A"
    c.ws.close()
