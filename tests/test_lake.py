import datetime as dt
import os
import subprocess
import sys

import pyarrow as pa
import pytest

from zhijian.lake import Lake
from zhijian.lake.schema import MESSAGES


def _messages(ids, batch="b1"):
    n = len(ids)
    ts = [dt.datetime(2026, 5, 6, 1, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=i) for i in range(n)]
    return pa.table(
        {
            "message_id": ids,
            "source": ["test"] * n,
            "group_id": ["G1"] * n,
            "sender_id": ["P1"] * n,
            "sender_name": ["张三"] * n,
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "local_ts": pa.array(
                [t.replace(tzinfo=None) + dt.timedelta(hours=8) for t in ts], pa.timestamp("us")
            ),
            "kind": ["text"] * n,
            "text": ["收到"] * n,
            "reply_to": [None] * n,
            "mentions": [[] for _ in range(n)],
            "at_all": [False] * n,
            "forwarded": [False] * n,
            "batch_id": [batch] * n,
        },
        schema=MESSAGES,
    )


def test_empty_dataset_has_schema(tmp_path):
    lake = Lake(tmp_path / "lake")
    t = lake.table("messages")
    assert list(t.columns) == MESSAGES.names
    assert lake.to_arrow(t.count().as_table()).column(0)[0].as_py() == 0


def test_append_and_replace_are_visible_only_when_committed(tmp_path):
    lake = Lake(tmp_path / "lake")
    st = lake.stage_batch("messages", "b1")
    st.write(_messages(["a", "b"]))
    assert not lake.exists("messages")  # staged, not visible
    st.commit()
    assert lake.to_arrow(lake.table("messages")).num_rows == 2
    with pytest.raises(RuntimeError):
        with lake.stage_batch("messages", "b2") as st2:
            st2.write(_messages(["c"], "b2"))
            raise RuntimeError("boom")
    assert lake.to_arrow(lake.table("messages")).num_rows == 2
    labels = pa.table(
        {"message_id": ["a"], "label": ["roll_call_reply"], "rule_id": ["r1"], "span": ["收到"]}
    )
    lake.replace("message_labels", labels)
    lake.replace("message_labels", labels)
    assert lake.to_arrow(lake.table("message_labels")).num_rows == 1


def test_killed_writer_leaves_nothing_visible(tmp_path):
    root = tmp_path / "lake"
    code = f"""
import os, sys
sys.path.insert(0, {str(os.path.dirname(__file__))!r})
from test_lake import _messages
from zhijian.lake import Lake
lake = Lake({str(root)!r})
st = lake.stage_batch("messages", "b9")
st.write(_messages([str(i) for i in range(1000)], "b9"))
os.kill(os.getpid(), 9)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert p.returncode == -9
    lake = Lake(root)
    assert lake.to_arrow(lake.table("messages")).num_rows == 0
    lake.clean_tmp()
    assert not (root / "_tmp").exists()
