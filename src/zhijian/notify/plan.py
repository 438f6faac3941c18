"""Put due reminders into the outbox (idempotent: each reminder has a unique key per channel and
target, so running the planner daily never sends one twice).

- Temporary groups: one reminder per threshold of ``policy.groups.reminder_days`` (30/15/1 days
  before the end date; when planning starts late, only the nearest threshold is sent), and one when
  the end date has passed (a finding follows after ``temp_end_grace_days``). A renewal changes the
  end date and so starts a fresh series.
- Inactive groups: no substantive message (roll-call replies, system and recall messages do not
  count) for ``policy.groups.inactive_days``; one reminder per inactivity episode.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from zhijian.notify.config import NotifyConfig, load
from zhijian.store.models import Group, Outbox, Person

SOURCE = "Entra ID group expiration policy (30/15/1 天); 若干意见 2023 (专项工作群在工作结束后及时解散)"


@dataclass
class Reminder:
    key: str
    group_id: str
    person_id: str
    subject: str
    body: str


def _address(cfg: NotifyConfig, person: Person | None) -> str | None:
    if person is None:
        return None
    if person.id in cfg.recipients:
        return cfg.recipients[person.id]
    for a in person.aliases or []:
        a = str(a)
        if "@" in a and "." in a.rsplit("@", 1)[-1]:
            return a
    return None


def last_substantive(ws) -> dict[str, dt.date]:
    """Local date of the last substantive message per group (from the lake)."""
    lake = ws.lake()
    m = lake.table("messages")
    lab = lake.table("message_labels")
    replies = lab.filter(lab.label == "roll_call_reply").select("message_id").distinct()
    sub = m.filter(~m.kind.isin(["system", "recall"]) & ~m.message_id.isin(replies.message_id))
    rows = lake.to_arrow(sub.group_by("group_id").aggregate(last=sub.local_ts.max())).to_pylist()
    return {r["group_id"]: r["last"].date() for r in rows if r["last"] is not None}


def due_reminders(ws, today: dt.date) -> list[Reminder]:
    pol = ws.config.policy.groups
    out: list[Reminder] = []
    thresholds = sorted(set(pol.reminder_days))
    with ws.store.session() as s:
        groups = (
            s.execute(select(Group).where(Group.status == "active", Group.owner_id.isnot(None)))
            .scalars()
            .all()
        )
        owners = {
            p.id: p
            for p in s.execute(select(Person).where(Person.id.in_({g.owner_id for g in groups}))).scalars()
        }
        snap = [(g.id, g.name, g.owner_id, g.group_type, g.end_date, g.purpose, g.created_on) for g in groups]
    last = last_substantive(ws) if snap else {}
    for gid, name, owner_id, gtype, end, purpose, _created in snap:
        who = owners.get(owner_id)
        hello = f"{who.name if who else owner_id} 同志："
        if gtype == "temporary" and end is not None:
            left = (end - today).days
            if left >= 0:
                due = [t for t in thresholds if left <= t]
                if due:
                    d = min(due)
                    out.append(
                        Reminder(
                            key=f"temp-end:{gid}:{end.isoformat()}:{d}",
                            group_id=gid,
                            person_id=owner_id,
                            subject=f"【指尖】临时群“{name}”将于 {end.isoformat()} 到期（还有 {left} 天）",
                            body=(
                                f"{hello}\n您登记的临时群“{name}”"
                                + (f"（建群目的：{purpose}）" if purpose else "")
                                + f"预计于 {end.isoformat()} 解散，还有 {left} 天。\n"
                                "工作已结束的，请在平台上解散该群，并在“群主自助”中登记为已解散；仍需使用的，请在“群主自助”中续期。\n"
                                f"依据：临时群到期前 {'/'.join(map(str, thresholds))} 天提醒（{SOURCE}）。"
                            ),
                        )
                    )
            else:
                out.append(
                    Reminder(
                        key=f"temp-overdue:{gid}:{end.isoformat()}",
                        group_id=gid,
                        person_id=owner_id,
                        subject=f"【指尖】临时群“{name}”已超过预计解散日期 {-left} 天",
                        body=(
                            f"{hello}\n临时群“{name}”预计于 {end.isoformat()} 解散，现已超过 {-left} 天。\n"
                            f"超过 {pol.temp_end_grace_days} 天仍未解散或续期的，将形成“临时群逾期未解散”问题线索。"
                            "请解散该群或在“群主自助”中续期。"
                        ),
                    )
                )
        seen = last.get(gid)
        if seen is not None and (today - seen).days >= pol.inactive_days:
            days = (today - seen).days
            out.append(
                Reminder(
                    key=f"inactive:{gid}:{seen.isoformat()}",
                    group_id=gid,
                    person_id=owner_id,
                    subject=f"【指尖】工作群“{name}”已 {days} 天没有实质性消息",
                    body=(
                        f"{hello}\n工作群“{name}”最近一条实质性消息在 {seen.isoformat()}，已 {days} 天无实质性消息"
                        "（“收到”类回复不计）。\n如该群已无工作需要，请解散并在“群主自助”中登记；"
                        f"无实质性消息满 {pol.zombie_days} 天的群将列为僵尸群。\n"
                        "依据：policy.groups.inactive_days（Orchestry / ShareGate 不活跃群治理）。"
                    ),
                )
            )
    return out


def plan_reminders(ws, today: dt.date | None = None, cfg: NotifyConfig | None = None) -> dict:
    """Insert the due reminders into the outbox for every configured channel; returns a summary."""
    today = today or dt.date.today()
    cfg = cfg or load(ws.root)
    rems = due_reminders(ws, today)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    created, unroutable, existing = [], 0, 0
    with ws.store.session() as s:
        people = {
            p.id: p
            for p in s.execute(select(Person).where(Person.id.in_({r.person_id for r in rems}))).scalars()
        }
        known = set(s.execute(select(Outbox.key)).scalars())
        for r in rems:
            targets: list[tuple[str, str]] = []
            addr = _address(cfg, people.get(r.person_id))
            if addr and cfg.smtp is not None:
                targets.append(("email", addr))
            targets += [(rb.kind, rb.name) for rb in cfg.robots]
            if not targets:
                unroutable += 1
                continue
            for channel, target in targets:
                key = f"{r.key}|{channel}|{target}"[:200]
                if key in known:
                    existing += 1
                    continue
                s.add(
                    Outbox(
                        key=key,
                        channel=channel,
                        target=target,
                        subject=r.subject,
                        body=r.body,
                        created_at=now,
                        attempts=0,
                    )
                )
                known.add(key)
                created.append({"key": key, "channel": channel, "target": target, "subject": r.subject})
    return {
        "today": today.isoformat(),
        "due": len(rems),
        "created": created,
        "already_queued": existing,
        "unroutable": unroutable,
    }
