"""SQLAlchemy 2 models of the store: the things people edit and that have workflow (PRODUCT.md §3).

Alembic migrations under ``store/migrations`` create these tables; ``tests/test_store.py`` checks
that the migrations and these models agree. Timestamps are UTC; dates are local calendar dates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


UNIT_LEVELS = ("province", "city", "county", "township", "village")
ROLES = ("admin", "supervisor", "liaison", "owner", "cadre")
FINDING_STATUSES = ("open", "assigned", "rectifying", "submitted", "verified", "reopened", "closed")
OBJECT_TYPES = ("group", "app", "account", "message", "unit")


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id", foreign_keys=[parent_id])
    level: Mapped[str] = mapped_column(String(16))  # one of UNIT_LEVELS
    kind: Mapped[str | None] = mapped_column(
        String(32)
    )  # party | government | department | township | village
    path: Mapped[str] = mapped_column(String(1000), index=True)  # '/root/child/…/self/' for subtree queries


class Person(Base):
    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    title: Mapped[str | None] = mapped_column(String(100))
    aliases: Mapped[list[Any]] = mapped_column(
        default=list
    )  # WeChat ids, WeCom ids, phone numbers, nicknames


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    platform: Mapped[str] = mapped_column(String(32), default="wechat")
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"), index=True)
    owner: Mapped[Person | None] = relationship(foreign_keys=[owner_id])
    purpose: Mapped[str | None] = mapped_column(Text)
    group_type: Mapped[str] = mapped_column(String(16), default="fixed")  # fixed | temporary
    created_on: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    end_condition: Mapped[str | None] = mapped_column(Text)
    member_count: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | dissolved | merged | removed
    dissolved_on: Mapped[date | None] = mapped_column(Date)  # when it left the active inventory (精简率)
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_on: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[list[Any]] = mapped_column(default=list)  # e.g. 安保, 应急
    source: Mapped[str | None] = mapped_column(String(200))  # import batch or 'registration'


class App(Base):
    __tablename__ = "apps"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    platform: Mapped[str] = mapped_column(String(32), default="app")  # app | miniprogram | quickapp
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)  # 主办单位
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    purpose: Mapped[str | None] = mapped_column(Text)
    functions: Mapped[list[Any]] = mapped_column(default=list)  # declared functions, e.g. 学习, 填报, 考勤
    features: Mapped[list[Any]] = mapped_column(default=list)  # checkin | points | online_time | ranking
    launched_on: Mapped[date | None] = mapped_column(Date)
    last_active_on: Mapped[date | None] = mapped_column(Date)
    users: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    dissolved_on: Mapped[date | None] = mapped_column(Date)  # closed / merged on (精简率)
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str | None] = mapped_column(String(200))


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    platform: Mapped[str] = mapped_column(
        String(32), default="wechat_oa"
    )  # wechat_oa | weibo | douyin | toutiao
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    purpose: Mapped[str | None] = mapped_column(Text)
    functions: Mapped[list[Any]] = mapped_column(default=list)
    created_on: Mapped[date | None] = mapped_column(Date)
    last_post_on: Mapped[date | None] = mapped_column(Date)
    followers: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    dissolved_on: Mapped[date | None] = mapped_column(Date)  # closed on (精简率)
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str | None] = mapped_column(String(200))


class Finding(Base):
    """A problem lead. ``id`` is stable: a hash of rule + object + period, so re-running the
    analysis updates a finding (evidence, metrics, last_seen_at) and never duplicates it or
    touches its workflow fields."""

    __tablename__ = "findings"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    rule_id: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    period: Mapped[str] = mapped_column(String(32), default="")  # '' | 'YYYY-MM' | 'YYYY-MM-DD'
    severity: Mapped[str] = mapped_column(String(8), default="medium")  # low | medium | high
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)  # message_ids, object_ids, metrics
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the policy values that made it a finding
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    assignee_unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    assignee_unit: Mapped[Unit | None] = relationship(foreign_keys=[assignee_unit_id])
    deadline: Mapped[date | None] = mapped_column(Date)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(
        Boolean, default=True
    )  # false when the last analysis no longer found it
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class FindingEvent(Base):
    """Workflow history of a finding: transitions, comments, attachments."""

    __tablename__ = "finding_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    finding: Mapped[Finding] = relationship(foreign_keys=[finding_id])
    at: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    action: Mapped[str] = mapped_column(
        String(32)
    )  # assign | start | submit | verify | reopen | close | comment
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    attachment: Mapped[str | None] = mapped_column(
        String(500)
    )  # path under the workspace's attachments folder


class Recommendation(Base):
    """Screening result per object: keep / merge / remove / review, with reasons and evidence."""

    __tablename__ = "recommendations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # object_type:object_id
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    action: Mapped[str] = mapped_column(String(16))  # keep | merge | remove | review
    merge_into: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision: Mapped[str | None] = mapped_column(
        String(16)
    )  # a person's decision: keep | merge | remove | exempt
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decider: Mapped[User | None] = relationship(foreign_keys=[decided_by])
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    deadline: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # one of ROLES
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A signed-in (or, for the login form's CSRF token, anonymous) browser session of the web app
    (web/sessions.py). Only the SHA-256 of the random cookie value is stored; no address, no user
    agent. In the store, so every ``zhijian serve --workers N`` process sees the same sessions."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie value
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[float] = mapped_column(Float)  # epoch seconds
    last_seen: Mapped[float] = mapped_column(
        Float, index=True
    )  # epoch seconds, updated at most once a minute


class AuditLog(Base):
    """Append-only, hash-chained: ``hash = sha256(prev_hash + canonical JSON of the entry)``."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))  # username, 'cli', 'analysis' or 'anonymous'
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ImportBatch(Base):
    __tablename__ = "import_batches"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    paths: Mapped[list[Any]] = mapped_column(default=list)
    format: Mapped[str] = mapped_column(String(32))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed


class AnalysisRun(Base):
    __tablename__ = "analysis_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    engine: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Clue(Base):
    """An anonymous report. No IP address, no user agent; ``received_on`` is a day, not a time."""

    __tablename__ = "clues"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, not the receipt
    receipt_hash: Mapped[str] = mapped_column(String(200))  # Argon2 hash of the receipt
    receipt_lookup: Mapped[str] = mapped_column(String(64), index=True)  # keyed hash prefix for lookup
    category: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str | None] = mapped_column(String(16))
    object_name: Mapped[str | None] = mapped_column(String(200))
    object_id: Mapped[str | None] = mapped_column(String(64))
    unit_text: Mapped[str | None] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    received_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="received")  # received | triaged | closed
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[date | None] = mapped_column(Date)
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"))
    finding: Mapped[Finding | None] = relationship(foreign_keys=[finding_id])
    matter_id: Mapped[str | None] = mapped_column(String(32), index=True)  # links same-matter clues


class ClueMessage(Base):
    __tablename__ = "clue_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clue_id: Mapped[str] = mapped_column(ForeignKey("clues.id", ondelete="CASCADE"), index=True)
    clue: Mapped[Clue] = relationship(foreign_keys=[clue_id])
    on: Mapped[date] = mapped_column(Date)
    from_office: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)


class ClueAttachment(Base):
    __tablename__ = "clue_attachments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    clue_id: Mapped[str] = mapped_column(ForeignKey("clues.id", ondelete="CASCADE"), index=True)
    clue: Mapped[Clue] = relationship(foreign_keys=[clue_id])
    media_type: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(500))  # relative to the workspace
    size: Mapped[int] = mapped_column(Integer)


class Outbox(Base):
    """Reminders waiting to be delivered by e-mail or a WeCom / DingTalk robot webhook."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # dedup key, e.g. 'temp-end:G12:15'
    channel: Mapped[str] = mapped_column(String(16))  # email | wecom | dingtalk
    target: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)  # retry back-off (notify/outbox.py)


Index("ix_findings_object", Finding.object_type, Finding.object_id)
Index("ix_audit_object", AuditLog.object_type, AuditLog.object_id)

__all__ = [
    "Base",
    "Unit",
    "Person",
    "Group",
    "App",
    "Account",
    "Finding",
    "FindingEvent",
    "Recommendation",
    "User",
    "AuditLog",
    "ImportBatch",
    "AnalysisRun",
    "Clue",
    "ClueMessage",
    "ClueAttachment",
    "Outbox",
]
