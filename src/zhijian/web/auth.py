"""Authentication, sessions, CSRF, login rate limiting, roles and unit scope.

- Passwords: Argon2id (argon2-cffi defaults), a strength rule like GlobaLeaks' "acceptable" level
  (≥ 10 characters, ≥ 3 character classes), never a default password in code.
- Sessions: server-side, in the store (web/sessions.py, shared by every worker process); the cookie
  holds a random 256-bit id, the server keeps only its SHA-256. Idle timeout 30 min (GlobaLeaks),
  absolute lifetime 12 h; the id is rotated at login.
- CSRF: synchronizer token per session, sent as the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header on every state-changing request.
- Login rate limiting: failures counted in memory per user name and per client (the client address
  is used only as an in-memory key and never stored or logged).
- Scope: admin and supervisor see the whole tree; a liaison their unit and its sub-units (``Unit.path``
  prefix); an owner their groups (``Group.owner_id``); a cadre only themselves.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import string
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.orm import Session

from zhijian.errors import ZhijianError
from zhijian.store import audit
from zhijian.store.models import ROLES, Account, App, Finding, Group, Person, Unit, User

ROLE_ZH = {
    "admin": "系统管理员",
    "supervisor": "减负办（全域）",
    "liaison": "单位联络员",
    "owner": "群主",
    "cadre": "干部",
}

_PH = PasswordHasher()
#: A hash verified against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = _PH.hash(secrets.token_hex(16))


class AuthError(ZhijianError):
    """Bad credentials, a weak password, an unknown role or unit."""


# ── passwords ─────────────────────────────────────────────────────────────────────────────────
def hash_password(password: str) -> str:
    return _PH.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _PH.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Chinese explanation of why a password is too weak, or None."""
    if len(password) < 10:
        return "密码至少 10 个字符"
    if len(password) > 200:
        return "密码不能超过 200 个字符"
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        return "密码需包含大写字母、小写字母、数字、符号中的至少三类"
    if len(set(password)) < 7:
        return "密码中不同的字符至少 7 个"
    return None


def generate_password(length: int = 16) -> str:
    """A random password that satisfies :func:`password_problem` (from ``secrets``)."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%+="
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if password_problem(pw) is None and any(c.isdigit() for c in pw):
            return pw


# ── users ─────────────────────────────────────────────────────────────────────────────────────
def create_user(
    s: Session,
    username: str,
    role: str,
    password: str,
    *,
    unit_id: str | None = None,
    person_id: str | None = None,
    display_name: str = "",
    actor: str = "cli",
) -> User:
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AuthError("用户名不能为空、不能含空格、不超过 64 个字符", f"bad user name {username!r}")
    if role not in ROLES:
        raise AuthError(
            f"未知角色 {role}（可选：{'、'.join(ROLES)}）", f"unknown role {role!r}; one of {ROLES}"
        )
    if role in ("liaison",) and not unit_id:
        raise AuthError("单位联络员必须指定所属单位（--unit）", "a liaison needs --unit")
    if role in ("owner", "cadre") and not person_id:
        raise AuthError("群主和干部账号必须关联人员（--person）", f"role {role} needs --person")
    if unit_id and s.get(Unit, unit_id) is None:
        raise AuthError(f"单位不存在：{unit_id}", f"unknown unit {unit_id!r}")
    if person_id and s.get(Person, person_id) is None:
        raise AuthError(f"人员不存在：{person_id}", f"unknown person {person_id!r}")
    problem = password_problem(password)
    if problem:
        raise AuthError(problem, "password too weak")
    if s.execute(select(User.id).where(User.username == username)).first():
        raise AuthError(f"用户名已存在：{username}", f"user {username!r} exists")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    u = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        unit_id=unit_id,
        person_id=person_id,
        active=True,
        created_at=now,
        password_changed_at=now,
    )
    s.add(u)
    s.flush()
    audit.record(s, actor, "user.create", "user", str(u.id), None, user_public(u))
    return u


def user_public(u: User) -> dict:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "unit_id": u.unit_id,
        "person_id": u.person_id,
        "active": u.active,
    }


def find_user(s: Session, name_or_id: str) -> User | None:
    u = s.execute(select(User).where(User.username == name_or_id)).scalar_one_or_none()
    if u is None and name_or_id.isdigit():
        u = s.get(User, int(name_or_id))
    return u


# ── sessions ──────────────────────────────────────────────────────────────────────────────────
@dataclass
class WebSession:
    user_id: int | None
    csrf: str
    created: float
    last_seen: float
    data: dict = field(default_factory=dict)


def csrf_ok(sess: WebSession | None, token: str | None) -> bool:
    return bool(sess and token and hmac.compare_digest(sess.csrf.encode(), token.encode()))


# ── login rate limiting ───────────────────────────────────────────────────────────────────────
class RateLimiter:
    """At most ``limit`` failures per key within ``window`` seconds; in memory only."""

    def __init__(self, limit: int = 5, window: float = 900):
        self.limit = limit
        self.window = window
        self._f: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, *keys: str) -> float:
        """Seconds until a login for these keys may be tried again (0 = allowed)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for k in keys:
                q = self._f.get(k)
                if not q:
                    continue
                while q and now - q[0] > self.window:
                    q.popleft()
                if len(q) >= self.limit:
                    wait = max(wait, self.window - (now - q[0]))
        return wait

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._f) > 100_000:
                self._f.clear()
            for k in keys:
                self._f.setdefault(k, deque()).append(now)

    def reset(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._f.pop(k, None)


# ── principal and scope ───────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    role: str
    unit_id: str | None
    unit_path: str | None
    unit_name: str | None
    person_id: str | None

    @property
    def whole_tree(self) -> bool:
        return self.role in ("admin", "supervisor")

    @property
    def role_zh(self) -> str:
        return ROLE_ZH.get(self.role, self.role)


def load_principal(s: Session, user_id: int) -> Principal | None:
    u = s.get(User, user_id)
    if u is None or not u.active:
        return None
    unit = s.get(Unit, u.unit_id) if u.unit_id else None
    return Principal(
        user_id=u.id,
        username=u.username,
        display_name=u.display_name or u.username,
        role=u.role,
        unit_id=u.unit_id,
        unit_path=unit.path if unit else None,
        unit_name=unit.name if unit else None,
        person_id=u.person_id,
    )


def subtree_ids(p: Principal):
    """A subquery of the unit ids a liaison may see (their unit and every sub-unit)."""
    return select(Unit.id).where(Unit.path.startswith(p.unit_path or "\x00", autoescape=True))


def unit_clause(p: Principal, col):
    if p.whole_tree:
        return true()
    if p.role == "liaison" and p.unit_path:
        return col.in_(subtree_ids(p))
    return false()


def object_clause(p: Principal, model):
    """Which rows of ``Group`` / ``App`` / ``Account`` the principal may see."""
    if p.whole_tree:
        return true()
    if p.role == "liaison" and p.unit_path:
        return model.unit_id.in_(subtree_ids(p))
    if p.role == "owner" and p.person_id and model is Group:
        return Group.owner_id == p.person_id
    return false()


def finding_clause(p: Principal):
    if p.whole_tree:
        return true()
    if p.role == "liaison" and p.unit_path:
        sub = subtree_ids(p)
        return or_(Finding.unit_id.in_(sub), Finding.assignee_unit_id.in_(sub))
    if p.role == "owner" and p.person_id:
        own = select(Group.id).where(Group.owner_id == p.person_id)
        return and_(Finding.object_type == "group", Finding.object_id.in_(own))
    return false()


def units_clause(p: Principal):
    """Which units the principal may see figures or lists of."""
    if p.whole_tree:
        return true()
    if p.role == "liaison" and p.unit_path:
        return Unit.path.startswith(p.unit_path, autoescape=True)
    return false()


MODELS = {"group": Group, "app": App, "account": Account}


def can_see_object(s: Session, p: Principal, object_type: str, object_id: str) -> bool:
    model = MODELS.get(object_type)
    if model is None:
        return False
    q = select(model.id).where(model.id == object_id, object_clause(p, model))
    return s.execute(q).first() is not None
