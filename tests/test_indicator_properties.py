"""Property tests on the indicator and activity definitions (burden.py, activity.py, lifecycle.py):
random weeks of memberships and messages, then one more fact, and exactly the definition's change.

- one more membership (a group the person was not in, overlapping the week) raises that person's
  ``groups_joined`` by one and nobody else's;
- one more ordinary message raises ``messages_received`` by one for each member present at that time
  other than its sender, and nobody else's; a system or recall message raises nothing;
- one more roll-call reply raises the sender's ``roll_call_replies_sent`` by one, leaves every
  ``demands_received`` as it was, and raises the recipients' ``messages_received`` by one;
- a roll-call reply, system or recall message never moves a group's last substantive message
  (it is not activity: a group kept alive by "收到" alone is still a zombie).

(The after-hours property — one more after-hours demand adds exactly one per recipient — is in
test_burden_indicators.py.)"""

from __future__ import annotations

import datetime as dt
import itertools

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screen_helpers import member, msg
from zhijian.analysis import burden
from zhijian.analysis.calendar import calendar_table
from zhijian.analysis.lifecycle import group_stats
from zhijian.analysis.pipeline import AnalysisContext
from zhijian.config import Config
from zhijian.lake import Lake
from zhijian.lake.schema import MEMBERSHIPS, MESSAGES, SCHEMAS
from zhijian.store.snapshot import SNAPSHOTS

WEEK = dt.datetime(2026, 6, 8)  # a Monday without holidays
GROUPS = ("G0", "G1", "G2")
PEOPLE = tuple(f"p{i}" for i in range(5))
_ids = itertools.count()
SETTINGS = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _inventory_groups() -> pa.Table:
    cols = SNAPSHOTS["groups"][1]
    rows = [
        {c: None for c in cols}
        | {
            "id": g,
            "name": f"群{g}",
            "status": "active",
            "registered": True,
            "group_type": "fixed",
            "created_on": dt.date(2026, 1, 1),
            "tags": [],
        }
        for g in GROUPS
    ]
    return pa.Table.from_pylist(rows, schema=pa.schema([(c, t) for c, t in cols.items()]))


def _ctx(lake: Lake, config: Config) -> AnalysisContext:
    return AnalysisContext(
        None, lake, config, dt.date(2026, 6, 15), dt.date(2026, 6, 8), dt.date(2026, 6, 14)
    )


def _lake(root) -> tuple[Lake, Config]:
    cfg = Config()
    lake = Lake(root / "lake")
    for name, (_model, cols) in SNAPSHOTS.items():
        if name == "groups":
            lake.register("inv_groups", _inventory_groups())
        else:
            lake.register(f"inv_{name}", pa.schema([(c, t) for c, t in cols.items()]).empty_table())
    cal, _ = calendar_table(dt.date(2026, 6, 1), dt.date(2026, 6, 30), cfg.policy.working_hours)
    lake.register("calendar", cal)
    return lake, cfg


def _write(lake: Lake, batch: str, msgs: list[dict], mems: list[dict], labels: list[dict]) -> None:
    if mems:
        lake.append_batch("memberships", batch, pa.Table.from_pylist(mems, schema=MEMBERSHIPS))
    if msgs:
        lake.append_batch("messages", batch, pa.Table.from_pylist(msgs, schema=MESSAGES))
    lake.replace("message_labels", pa.Table.from_pylist(labels, schema=SCHEMAS["message_labels"]))


def _label(m: dict, label: str) -> dict:
    return {"message_id": m["message_id"], "label": label, "rule_id": "t", "span": None}


def _person(lake: Lake, cfg: Config) -> dict[str, dict[str, int]]:
    ctx = _ctx(lake, cfg)
    p = burden.compute(ctx)["person"]
    rows = lake.to_arrow(p).to_pylist()
    return {r["person_id"]: r for r in rows}


def _at(hours: int) -> dt.datetime:
    return WEEK + dt.timedelta(hours=hours)


membership = st.tuples(
    st.sampled_from(GROUPS),
    st.sampled_from(PEOPLE),
    st.one_of(st.none(), st.integers(0, 167)),  # joined: hours after Monday 00:00
    st.one_of(st.none(), st.integers(1, 168)),  # left
)
message = st.tuples(
    st.sampled_from(GROUPS),
    st.sampled_from(PEOPLE),
    st.integers(0, 167),
    st.sampled_from(["text", "text", "image", "system"]),
    st.sampled_from([None, "data_request", "roll_call_demand", "roll_call_reply"]),
)


def _base(draw_members, draw_msgs):
    mems, seen = [], set()
    for g, p, j, lv in draw_members:
        if (g, p) in seen:
            continue
        seen.add((g, p))
        joined = _at(j) if j is not None else None
        left = _at(lv) if lv is not None else None
        if joined is not None and left is not None and left <= joined:
            left = None
        mems.append(member(g, p, joined, left))
    msgs, labels = [], []
    for g, p, h, kind, label in draw_msgs:
        m = msg(g, None if kind == "system" else p, _at(h), "请各村落实防汛工作", kind=kind)
        msgs.append(m)
        if label and kind != "system":
            labels.append(_label(m, label))
    # one message on Monday morning so that the week exists even when nothing else was drawn
    anchor = msg("G0", None, _at(1), "群公告", kind="system")
    return mems, [anchor, *msgs], labels


def _present(mems: list[dict], g: str, pid: str, t: dt.datetime) -> bool:
    return any(
        r["group_id"] == g
        and r["person_id"] == pid
        and (r["joined_at"] is None or r["joined_at"] <= t)
        and (r["left_at"] is None or t < r["left_at"])
        for r in mems
    )


@pytest.mark.slow
@SETTINGS
@given(
    members=st.lists(membership, max_size=10),
    messages=st.lists(message, max_size=10),
    new=st.tuples(st.sampled_from(PEOPLE), st.integers(0, 160), st.one_of(st.none(), st.integers(1, 8))),
)
def test_one_more_membership_adds_one_group_joined(tmp_path, members, messages, new):
    lake, cfg = _lake(tmp_path / f"g{next(_ids)}")
    mems, msgs, labels = _base(members, messages)
    _write(lake, "b1", msgs, mems, labels)
    before = _person(lake, cfg)
    pid, j, length = new
    g = "G_NEW"  # a group the person was not in
    joined = _at(j)
    left = None if length is None else joined + dt.timedelta(hours=length)
    lake.append_batch(
        "memberships", "b2", pa.Table.from_pylist([member(g, pid, joined, left)], schema=MEMBERSHIPS)
    )
    after = _person(lake, cfg)
    for p in PEOPLE:
        want = before.get(p, {}).get("groups_joined", 0) + (1 if p == pid else 0)
        assert after.get(p, {}).get("groups_joined", 0) == want, (p, pid)
    lake.close()


@pytest.mark.slow
@SETTINGS
@given(
    members=st.lists(membership, min_size=1, max_size=10),
    messages=st.lists(message, max_size=10),
    new=st.tuples(
        st.sampled_from(GROUPS),
        st.sampled_from(PEOPLE),
        st.integers(0, 167),
        st.sampled_from(["text", "file", "system", "recall", "reply"]),
    ),
)
def test_one_more_message_reaches_exactly_the_members_present(tmp_path, members, messages, new):
    lake, cfg = _lake(tmp_path / f"m{next(_ids)}")
    mems, msgs, labels = _base(members, messages)
    _write(lake, "b1", msgs, mems, labels)
    before = _person(lake, cfg)
    g, sender, h, what = new
    t = _at(h)
    kind = "text" if what == "reply" else what
    m = msg(
        g,
        None if kind == "system" else sender,
        t,
        "收到" if what == "reply" else "请各村落实防汛工作",
        kind=kind,
    )
    if what == "reply":
        labels = [*labels, _label(m, "roll_call_reply")]
    _write(lake, "b2", [m], [], labels)
    after = _person(lake, cfg)
    counted = kind not in ("system", "recall")
    for p in PEOPLE:
        b, a = before.get(p, {}), after.get(p, {})
        received = counted and p != sender and _present(mems, g, p, t)
        assert a.get("messages_received", 0) - b.get("messages_received", 0) == int(received), (p, new)
        assert a.get("demands_received", 0) == b.get("demands_received", 0), (p, new)
        sent_reply = what == "reply" and p == sender and p in after
        assert a.get("roll_call_replies_sent", 0) - b.get("roll_call_replies_sent", 0) == int(sent_reply), (
            p,
            new,
        )
    lake.close()


@pytest.mark.slow
@SETTINGS
@given(
    messages=st.lists(message, max_size=12),
    noise=st.lists(
        st.tuples(
            st.sampled_from(GROUPS), st.integers(0, 167), st.sampled_from(["reply", "system", "recall"])
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_replies_and_system_messages_are_never_activity(tmp_path, messages, noise):
    lake, cfg = _lake(tmp_path / f"a{next(_ids)}")
    mems = [member(g, p) for g in GROUPS for p in PEOPLE]
    _, msgs, labels = _base([], messages)
    _write(lake, "b1", msgs, mems, labels)

    def last_substantive() -> dict[str, tuple]:
        rows = lake.to_arrow(group_stats(_ctx(lake, cfg))).to_pylist()
        return {r["id"]: (r["last_sub_ts"], r["n_sub"]) for r in rows}

    before = last_substantive()
    extra = []
    for g, h, what in noise:
        kind = "text" if what == "reply" else what
        m = msg(
            g,
            None if kind == "system" else "p0",
            _at(h),
            "收到👌" if what == "reply" else "撤回了一条消息",
            kind=kind,
        )
        extra.append(m)
        if what == "reply":
            labels = [*labels, _label(m, "roll_call_reply")]
    _write(lake, "b2", extra, [], labels)
    assert last_substantive() == before
    lake.close()
