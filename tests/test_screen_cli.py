"""The screening / burden CLI end to end on the planted workspace (real store, real lake)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from screen_helpers import planted_workspace
from zhijian.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws, _ = planted_workspace(tmp_path_factory.mktemp("cli") / "ws")
    yield ws
    ws.close()


def _json(args):
    r = runner.invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


@pytest.mark.slow
def test_screen_plan_burden_campaign_whatif(ws):
    w = ["-w", str(ws.root)]
    out = _json(["screen", *w, "--json"])
    assert out["as_of"] == "2026-11-01"
    assert out["recommendations"]["group"]["remove"] == 3
    assert out["by_category"]["STALE_TEMP_GROUP"] == 2
    plan = _json(["plan", *w, "--json"])
    assert {p["target"] for p in plan["plans"]} == {"G_OK1", "G_BUSY_A"}
    assert all(r["action"] != "keep" for r in plan["recommendations"])
    r = runner.invoke(app, ["plan", *w])
    assert r.exit_code == 0 and "合并方案" in r.output and "待研判" in r.output
    from zhijian.analysis.pipeline import run_analysis

    run_analysis(ws, steps=["burden"])
    b = _json(["burden", *w, "--json", "--from", "2026-10-01"])
    assert b["scope"] == "county" and b["weeks"] and all(x["period"] >= "2026-10-01" for x in b["weeks"])
    assert "burden_index" in b["metrics"]
    small = _json(["burden", *w, "--json", "--unit", "V1"])  # a village with nobody in the roster
    assert small["withheld"] is True and small["weeks"] == []
    t = runner.invoke(app, ["burden", *w, "--unit", "T1"])
    assert t.exit_code == 0 and "人均每周负担" in t.output
    c = _json(["campaign", *w, "--date", "2026-08-03", "--json"])
    assert c["reduction"]["group"]["before"] == 14
    assert c["indicators"]["scopes"][0]["scope_id"] == "county"
    wi = _json(["whatif", *w, "--working-hours", "urgent-only", "--json"])
    assert wi["scopes"]["county"]["after_hours_messages_received"]["after"] == 0


@pytest.mark.slow
def test_bad_date_is_a_clear_error(ws):
    r = subprocess.run(
        [sys.executable, "-m", "zhijian.cli", "campaign", "-w", str(ws.root), "--date", "2026-13-01"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "不是日期" in r.stderr
