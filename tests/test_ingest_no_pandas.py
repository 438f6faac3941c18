"""Importing chat exports never imports pandas: pyarrow's conversions of Python objects or numpy
arrays import it (0.25-0.4 s, more than a whole 100k-message import of small Slack day files spends
in DuckDB), so the readers build their small lookup tables with ``common.temp_table`` and Arrow
arrays from buffers. Run in a fresh interpreter: the test session itself may have imported pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES

SYN = Path(__file__).parent / "data" / "exports"

CHILD = r"""
import sys
from pathlib import Path
from zhijian.ingest import import_paths
from zhijian.workspace import init_workspace

ws = init_workspace(Path(sys.argv[1]), "测试县")
for p in sys.argv[2:]:
    s = import_paths(ws, [Path(p)])
    assert s.messages > 0, p
ws.close()
print("pandas" in sys.modules)
"""


def test_importing_exports_does_not_import_pandas(tmp_path):
    files = [
        FIXTURES / "slack" / "slackdump_source_export.zip",  # a folder of day files, read in pieces
        FIXTURES / "whatsapp" / "whatstk_example-12h.txt",
        FIXTURES / "telegram" / "chat-analytics_DM_2A_7M.json",
        FIXTURES / "wechat-pywxdump" / "weclone_example_chat.csv",
        SYN / "wecom" / "archive.jsonl",
        SYN / "wechatmsg" / "东镇工作群_utf8.csv",
        SYN / "memotrace" / "防汛工作群.csv",
        SYN / "pywxdump" / "wxid_me_0_4.json",
    ]
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "ws"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "False"
