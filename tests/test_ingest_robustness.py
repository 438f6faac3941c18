"""Bad input: a clear ImportFormatError (file, line/record, expectation), exit code 2, nothing written.
Atomicity: a failing or killed import leaves lake and store exactly as before."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ingest_demo_files import CANON_HEADER, write_demo
from zhijian.errors import ImportFormatError
from zhijian.ingest import import_paths
from zhijian.ingest.run import reconcile
from zhijian.store.models import Group, ImportBatch, Person, Unit
from zhijian.workspace import init_workspace

FIX = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "exports"
SYN = Path(__file__).parent / "data" / "exports"


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "ws")
    yield w
    w.close()


def _state(ws) -> tuple:
    """Everything an import could change: lake files (below _tmp excluded) and store rows."""
    lake = sorted(
        str(p.relative_to(ws.lake_root)) for p in ws.lake_root.rglob("*.parquet") if "_tmp" not in p.parts
    )
    with ws.store.session() as s:
        rows = (
            len(s.scalars(select(Unit)).all()),
            len(s.scalars(select(Person)).all()),
            len(s.scalars(select(Group)).all()),
            len(s.scalars(select(ImportBatch)).all()),
        )
    return lake, rows


def _err(ws, paths, **kw) -> ImportFormatError:
    before = _state(ws)
    with pytest.raises(ImportFormatError) as e:
        import_paths(ws, paths, **kw)
    assert _state(ws) == before
    assert e.value.exit_code == 2
    return e.value


def test_unknown_format(ws, tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("这不是聊天记录\n只是一些笔记\n", encoding="utf-8")
    e = _err(ws, [p])
    assert e.path == str(p) and "无法识别文件格式" in e.zh and "--format" in e.zh
    p2 = tmp_path / "表.csv"
    p2.write_text("甲,乙,丙\n1,2,3\n", encoding="utf-8")
    e = _err(ws, [p2])
    assert "表头" in e.zh and e.where == "第 1 行（表头）"
    with pytest.raises(ImportFormatError):
        import_paths(ws, [p], fmt="no_such_format")


def test_truncated_json_names_the_line(ws, tmp_path):
    src = (FIX / "telegram" / "chat-analytics_DM_2A_7M.json").read_text(encoding="utf-8")
    p = tmp_path / "result.json"
    p.write_text(src[: len(src) // 2], encoding="utf-8")
    e = _err(ws, [p])
    assert e.path == str(p) and "JSON" in e.zh and e.where.startswith("第 ")


def test_truncated_wecom_jsonl_line_is_skipped_and_counted(ws, tmp_path):
    lines = (SYN / "wecom" / "archive.jsonl").read_text(encoding="utf-8").splitlines()
    p = tmp_path / "a.jsonl"
    p.write_text("\n".join(lines[:6] + [lines[6][:30]] + lines[7:]) + "\n", encoding="utf-8")
    s = import_paths(ws, [p])
    assert {"file": str(p), "where": "第 7 行", "reason": "不是完整的 JSON 对象"} in s.skipped
    assert s.messages + s.system_messages == 28


def test_csv_missing_columns(ws, tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("id,MsgSvrID,type_name,is_sender,talker,msg\n1,2,文本,0,a,hi\n", encoding="utf-8")
    e = _err(ws, [p], fmt="pywxdump_csv")
    assert "room_name" in e.zh and "CreateTime" in e.zh and e.where == "第 1 行（表头）"


def test_broken_quote_in_canonical_csv(ws, tmp_path):
    p = tmp_path / "m.csv"
    p.write_text(
        ",".join(CANON_HEADER)
        + '\nm1,G1,群,u,甲,2026-05-06T09:00:00+08:00,text,"未闭合的引号,false,[],,false\n',
        encoding="utf-8",
    )
    e = _err(ws, [p])
    assert e.path == str(p)


def test_zip_bomb_is_refused(ws, tmp_path):
    p = tmp_path / "bomb.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("_chat.txt", b"0" * (50 << 20))  # 50 MB of zeros compress ~1000:1
    e = _err(ws, [p])
    assert "zip 炸弹" in e.zh and e.where == "_chat.txt"


def test_zip_member_lying_about_its_size_is_refused(ws, tmp_path):
    p = tmp_path / "liar.zip"
    data = "1/1/21, 12:00 - A: " + "x" * 5000 + "\n"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as z:
        z.writestr("_chat.txt", data)
    raw = bytearray(p.read_bytes())
    # shrink the declared uncompressed size in the central directory (offset 24 of the entry)
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (100).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    e = _err(ws, [p])
    assert e.path == str(p)


def test_file_larger_than_free_disk(ws, tmp_path):
    free = shutil.disk_usage(ws.lake_root).free
    p = tmp_path / "huge.csv"
    with open(p, "wb") as f:  # sparse: takes no real space
        f.truncate(free + (1 << 30))
    e = _err(ws, [p])
    assert "磁盘空间不足" in e.zh


def test_folder_larger_than_free_disk(ws, tmp_path):
    """The disk check adds up the files of every level of a folder (pipeline._size)."""
    from zhijian.ingest.pipeline import _size

    free = shutil.disk_usage(ws.lake_root).free
    d = tmp_path / "export" / "general"
    d.mkdir(parents=True)
    (tmp_path / "export" / "users.json").write_text("[]", encoding="utf-8")
    with open(d / "2024-05-06.json", "wb") as f:  # sparse: takes no real space
        f.truncate(free + (1 << 30))
    assert _size(tmp_path / "export") == free + (1 << 30) + 2
    e = _err(ws, [tmp_path / "export"])
    assert "磁盘空间不足" in e.zh


def test_legacy_xls_is_explained(ws, tmp_path):
    p = tmp_path / "摸底表.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    e = _err(ws, [p])
    assert ".xlsx" in e.zh


def test_failing_file_rolls_back_the_whole_batch(ws, tmp_path):
    good = write_demo(tmp_path / "demo")
    bad = tmp_path / "broken.json"
    bad.write_text('{"name": "x", "type": "personal_chat", "messages": [', encoding="utf-8")
    _err(ws, [good, bad])
    assert _state(ws) == ([], (0, 0, 0, 0))
    assert not any((ws.lake_root / "_tmp").glob("import-*"))  # staging removed too
    s = import_paths(ws, [good])
    assert s.messages == 4


def test_reconcile_removes_batches_without_a_finished_store_row(ws, tmp_path):
    import_paths(ws, [write_demo(tmp_path / "demo")])
    lake_before, _ = _state(ws)
    # what a kill between the lake rename and the store commit would leave behind
    orphan = ws.lake_root / "messages" / "batch=orphan-1"
    orphan.mkdir()
    shutil.copy(next((ws.lake_root / "messages").glob("batch=2*/part-0.parquet")), orphan / "part-0.parquet")
    assert reconcile(ws) == ["orphan-1"]
    assert _state(ws)[0] == lake_before


_KILL_SCRIPT = """
import sys, time
from pathlib import Path
from zhijian.workspace import open_workspace
from zhijian.ingest import import_paths
ws = open_workspace(sys.argv[1])
marker = Path(sys.argv[3])
def progress(done, total, label):
    marker.write_text(str(done))
import_paths(ws, [Path(sys.argv[2])], progress=progress)
print("finished")
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.2, 1.0, 2.0])
def test_kill_9_mid_import_leaves_workspace_unchanged(tmp_path, delay):
    ws = init_workspace(tmp_path / "ws")
    import_paths(ws, [write_demo(tmp_path / "demo")])
    before = _state(ws)
    big = tmp_path / "big.csv"
    with open(big, "w", encoding="utf-8") as f:
        f.write(",".join(CANON_HEADER) + "\n")
        for i in range(300_000):
            f.write(
                f"k{i},G001,东镇工作群,wx_li,李四,2026-05-06T09:{i % 60:02d}:00+08:00,text,第{i}条通知请回复收到,false,[],,false\n"
            )
    marker = tmp_path / "started"
    script = tmp_path / "run_import.py"
    script.write_text(_KILL_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ws.root), str(big), str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    t0 = time.time()
    while not marker.exists() and time.time() - t0 < 60:
        time.sleep(0.02)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    # reopen as a fresh process would: the killed import is either wholly absent or wholly there
    # (the kill can land after the store commit but before the script prints, so its output
    # cannot tell which; the workspace must)
    from zhijian.workspace import open_workspace

    ws2 = open_workspace(ws.root)
    reconcile(ws2)  # as the next import does: a kill between the lake rename and the store commit
    after = _state(ws2)
    if after != before:  # the import had committed before the kill: then the batch must be complete
        lake_files, counts = after
        assert len(lake_files) == len(before[0]) + 1 and counts[3] == before[1][3] + 1
        assert len(ws2.lake().table("messages").execute()) == 5 + 300_000
        s = import_paths(ws2, [big])
        assert s.duplicates == 300_000 and s.messages == 0
        ws2.close()
        ws.close()
        return
    n = len(ws2.lake().table("messages").execute())
    assert n == 5
    s = import_paths(ws2, [big])  # and the next import works and is complete
    assert s.messages == 300_000
    ws2.close()
    ws.close()


_HOLD_SCRIPT = """
import sys, time
from pathlib import Path
from zhijian.lake.lock import import_lock
root, held, released = map(Path, sys.argv[1:4])
with import_lock(root):
    held.write_text("1")
    time.sleep(float(sys.argv[4]))
    released.write_text("1")  # still holding: an import that gets the lock finds this file
    time.sleep(0.2)
"""


def _hold_lock(tmp_path, ws, seconds: float) -> tuple[subprocess.Popen, Path]:
    held, released = tmp_path / "held", tmp_path / "released"
    script = tmp_path / "hold.py"
    script.write_text(_HOLD_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ws.lake_root), str(held), str(released), str(seconds)]
    )
    t0 = time.time()
    while not held.exists() and time.time() - t0 < 60:
        time.sleep(0.02)
    assert held.exists()
    return proc, released


def test_an_import_waits_for_the_import_running(ws, tmp_path):
    """One import at a time per workspace: otherwise the second one's reconcile could remove the
    first one's batch between its lake rename and its store commit."""
    proc, released = _hold_lock(tmp_path, ws, 1.0)
    waited = []
    s = import_paths(ws, [write_demo(tmp_path / "demo")], on_wait=lambda: waited.append(released.exists()))
    assert waited == [False]  # it found the lock held and waited
    assert released.exists()  # and ran only once the holder was done
    assert s.messages == 4
    assert proc.wait(30) == 0


def test_a_killed_import_leaves_no_lock(ws, tmp_path):
    proc, _ = _hold_lock(tmp_path, ws, 60)
    proc.kill()
    proc.wait(30)
    waited = []
    s = import_paths(ws, [write_demo(tmp_path / "demo")], on_wait=lambda: waited.append(True))
    assert waited == [] and s.messages == 4


def test_cli_error_exit_code_2(tmp_path):
    init_workspace(tmp_path / "w").close()
    p = tmp_path / "x.json"
    p.write_text("{", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "zhijian.cli", "import", str(p), "-w", str(tmp_path / "w")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr and str(p) in r.stderr


# ── hypothesis: random corruption yields ImportFormatError or a clean import, nothing else ──────────
CORPUS = [
    ("F", "whatsapp/chat-analytics_4A_11M.txt"),
    ("F", "telegram/chat-analytics_DM_2A_7M.json"),
    ("F", "wechat-pywxdump/weclone_example_chat.csv"),
    ("F", "slack/zulip_random_2017-06-25.json"),
    ("S", "wechatmsg/东镇工作群.txt"),
    ("S", "wechatmsg/东镇工作群.html"),
    ("S", "wechatmsg/东镇工作群_utf8.csv"),
    ("S", "wecom/archive.jsonl"),
    ("S", "memotrace/防汛工作群.csv"),
    ("S", "whatsapp/ios_bracketed_12h.txt"),
    ("S", "telegram/result_account.json"),
    ("S", "pywxdump/wxid_me_0_4.json"),
    ("S", "wecom/archive_array.json"),
]


def _canonical_bytes() -> bytes:
    buf = io.StringIO()
    import csv as _csv

    from ingest_demo_files import MESSAGES

    w = _csv.writer(buf)
    w.writerow(CANON_HEADER)
    w.writerows(MESSAGES)
    return buf.getvalue().encode("utf-8")


def _corrupt(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    b = bytearray(data)
    for op, pos, chunk in ops:
        if not b:
            b.extend(chunk)
            continue
        i = pos % len(b)
        if op == "flip":
            b[i] ^= chunk[0] if chunk else 0xFF
        elif op == "insert":
            b[i:i] = chunk
        elif op == "delete":
            del b[i : i + max(1, len(chunk))]
        elif op == "truncate":
            del b[i:]
    return bytes(b)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate"]),
        st.integers(0, 1 << 20),
        st.binary(min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=4,
)


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("ZHIJIAN_HYPOTHESIS_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(idx=st.integers(0, len(CORPUS)), ops=OPS, force=st.booleans())
def test_random_corruption_only_raises_import_errors(tmp_path_factory, idx, ops, force):
    from zhijian.ingest.detect import sniff

    if idx == len(CORPUS):
        name, data, fmt = "m.csv", _canonical_bytes(), "canonical_csv"
    else:
        where, rel = CORPUS[idx]
        src = (FIX if where == "F" else SYN) / rel
        if not src.exists():
            return
        name, data = Path(rel).name, src.read_bytes()
        fmt = None
        if force:
            from zhijian.ingest.detect import Input

            fmt = sniff(Input(src, str(src)), None)
    tmp = tmp_path_factory.mktemp("corrupt")
    p = tmp / name
    p.write_bytes(_corrupt(data, ops))
    ws = _HYP_WS.get("ws")
    if ws is None:
        ws = _HYP_WS["ws"] = init_workspace(tmp_path_factory.mktemp("hypws") / "ws")
    try:
        s = import_paths(ws, [p], fmt=fmt if force else None)
        json.dumps(s.to_dict(), default=str)
    except ImportFormatError as e:
        assert e.path and e.zh
    except Exception as e:  # noqa: BLE001 - the point of the test
        from zhijian.errors import DataError

        assert not isinstance(e, DataError), e
        raise


_HYP_WS: dict = {}


def _texts(ws) -> list[tuple]:
    import duckdb

    files = sorted(str(p) for p in (ws.lake_root / "messages").rglob("*.parquet"))
    return duckdb.sql(f"SELECT sender_name, text FROM read_parquet({files}) ORDER BY ts").fetchall()


def test_a_lone_surrogate_escape_is_replaced_and_reported(ws, tmp_path):
    """A JSON escape of half an emoji ("\\ud83d" without its partner) cannot be stored: the text is
    kept with U+FFFD in its place, and the summary says how many values were repaired, per file
    (Slack: users.json names and message texts, the export falling back from DuckDB, which rejects
    the escape, to the Python loop; generic JSON Lines)."""
    exp = tmp_path / "slack"
    (exp / "general").mkdir(parents=True)
    (exp / "users.json").write_text('[{"id": "U1", "name": "a\\ud800b"}]', encoding="utf-8")
    (exp / "channels.json").write_text('[{"id": "C1", "name": "general"}]', encoding="utf-8")
    for day, text in (("2024-01-01", "hi \\ud83d there"), ("2024-01-02", "yo")):
        (exp / "general" / f"{day}.json").write_text(
            f'[{{"type": "message", "user": "U1", "text": "{text}", "ts": "17000{day[-1]}0000.000100"}}]',
            encoding="utf-8",
        )
    s = import_paths(ws, [exp])
    assert s.messages == 2
    assert _texts(ws) == [("a\ufffdb", "hi \ufffd there"), ("a\ufffdb", "yo")]
    assert [w for w in s.warnings if "代理字符" in w] == [
        f"{exp}：2 处文本含不成对的 Unicode 代理字符（JSON 转义 \\ud800–\\udfff，如被截断的表情），已替换为 �"
    ]

    p = tmp_path / "robot.jsonl"
    p.write_text(
        '{"t": "2024-05-06 09:00:00", "from": "\\udc00x", "msg": "ok \\ud83d\\ude00 \\ude00"}\n'
        '{"t": "2024-05-06 09:01:00", "from": "y", "msg": "fine"}\n',
        encoding="utf-8",
    )
    s = import_paths(ws, [p], mapping={"ts": "t", "sender_name": "from", "text": "msg"})
    assert s.messages == 2
    assert ("\ufffdx", "ok \U0001f600 \ufffd") in _texts(ws)
    assert any(w.startswith(f"{p}：2 处") for w in s.warnings)
