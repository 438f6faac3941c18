"""Same-matter linking, triage into a finding with the clues as evidence, close with a reason the
reporter sees, and the retention purge (rows and files)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

import web_support
from clue_support import image_with_metadata
from zhijian.clues import service
from zhijian.clues.images import sanitize
from zhijian.store.models import AuditLog, Clue, ClueAttachment, ClueMessage, Finding


def _submit(ws, s, name, cat="GROUP_ROLLCALL_INSTANT", unit="东关镇", images=None):
    nc = service.validate(
        service.NewClue(
            category=cat, object_type="group", object_name=name, unit=unit, description="群里每晚要求回复收到"
        )
    )
    return service.submit(s, ws.root, ws.attachments, nc, images or [])


def test_linking_triage_close(tmp_path):
    county = web_support.build_county(tmp_path / "ws")
    ws = county.ws
    with ws.store.session() as s:
        a, ra = _submit(ws, s, "东关镇工作群")
        b, _ = _submit(ws, s, "东关镇 工作群！")  # typed differently: same matter
        c, _ = _submit(ws, s, "东关镇工作群", cat="AFTER_HOURS")  # other category: other matter
        d, rd = _submit(ws, s, "西河乡学习群")
    with ws.store.session() as s:
        ca, cb, cc, cd = (s.get(Clue, x) for x in (a, b, c, d))
        assert ca.object_id == "gA" and ca.unit_id == "A"
        assert cb.matter_id == ca.matter_id
        assert cc.matter_id != ca.matter_id and cd.matter_id != ca.matter_id
        fid = service.triage(
            s, "super", b, "东关镇工作群要求回复收到（群众线索）", "多名干部反映", None, "high"
        )
    with ws.store.session() as s:
        f = s.get(Finding, fid)
        assert f.category == "GROUP_ROLLCALL_INSTANT" and f.object_type == "group" and f.object_id == "gA"
        assert set(f.evidence["clue_ids"]) == {a, b}
        assert f.unit_id == "A" and f.status == "open" and f.rule_id == service.CLUE_RULE_ID
        assert s.get(Clue, a).status == "triaged" and s.get(Clue, a).finding_id == fid
        # linking d into a's matter, then closing with a reason the reporter reads
        service.link(s, "super", d, a)
        assert s.get(Clue, d).matter_id == s.get(Clue, a).matter_id
        service.close(s, "super", d, "经核查，该群已于本月解散。")
        service.reply(s, "super", d, "感谢反映")
        assert s.execute(select(func.count()).where(AuditLog.action.like("clue.%"))).scalar_one() == 4
    with ws.store.session() as s:
        v = service.reporter_view(s, service.find(s, ws.root, rd))
        assert v["status"] == "closed" and v["close_reason"] == "经核查，该群已于本月解散。"
        assert v["messages"][-1] == {
            "on": dt.date.today().isoformat(),
            "from_office": True,
            "body": "感谢反映",
        }
        try:
            service.add_reporter_message(s, service.find(s, ws.root, rd), "还有问题")
            raise AssertionError("closed clue accepted a message")
        except service.ClueError:
            pass
    ws.close()


def test_retention_purge(workspace):
    ws = workspace
    img = sanitize(image_with_metadata("PNG"))
    with ws.store.session() as s:
        old, _ = _submit(ws, s, "甲群", images=[img])
        recent, _ = _submit(ws, s, "乙群", images=[img])
        still_open, _ = _submit(ws, s, "丙群", images=[img])
        for cid in (old, recent):
            s.add(ClueMessage(clue_id=cid, on=dt.date.today(), from_office=True, body="回复"))
        s.get(Clue, old).status = "closed"
        s.get(Clue, old).closed_on = dt.date.today() - dt.timedelta(days=91)
        s.get(Clue, recent).status = "closed"
        s.get(Clue, recent).closed_on = dt.date.today() - dt.timedelta(days=10)
    old_dir = ws.attachments / "clues" / old
    assert any(old_dir.iterdir())
    with ws.store.session() as s:
        res = service.purge_expired(s, ws.attachments, ws.config.policy.clues.retention_days)
    assert res["clues"] == 1 and res["files"] == 1
    assert not old_dir.exists()
    with ws.store.session() as s:
        assert s.get(Clue, old) is None
        assert s.execute(select(func.count()).where(ClueMessage.clue_id == old)).scalar_one() == 0
        assert s.execute(select(func.count()).where(ClueAttachment.clue_id == old)).scalar_one() == 0
        assert s.get(Clue, recent) is not None and s.get(Clue, still_open) is not None
    assert any((ws.attachments / "clues" / recent).iterdir())
    assert any((ws.attachments / "clues" / still_open).iterdir())
