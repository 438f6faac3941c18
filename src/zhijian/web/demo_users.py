"""Demo accounts, one per role, with passwords generated at call time (never a fixed password)."""

from __future__ import annotations

from sqlalchemy import func, select

from zhijian.store.models import Group, Person, Unit, User
from zhijian.web.auth import create_user, generate_password


def create_demo_users(ws) -> list[tuple[str, str, str, str]]:
    """Create (or reset the passwords of) the demo accounts of workspace ``ws``.

    Returns ``[(username, role, unit name, password), …]`` for ``zhijian demo`` to print:
    ``demo-admin`` and ``demo-supervisor`` (whole county), ``demo-liaison`` (the township with the
    most people, and its villages), ``demo-owner`` (the person who owns the most groups) and
    ``demo-cadre`` (a member of that township)."""
    from zhijian.web.auth import hash_password

    out: list[tuple[str, str, str, str]] = []
    with ws.store.session() as s:
        root = s.execute(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.path)).scalars().first()
        per_unit = select(Person.unit_id, func.count().label("n")).group_by(Person.unit_id).subquery()
        township = (
            s.execute(
                select(Unit)
                .join(per_unit, per_unit.c.unit_id == Unit.id)
                .where(Unit.level == "township")
                .order_by(per_unit.c.n.desc(), Unit.id)
            )
            .scalars()
            .first()
        )
        liaison_unit = township or root
        owner_pid = (
            s.execute(
                select(Group.owner_id)
                .where(Group.owner_id.isnot(None))
                .group_by(Group.owner_id)
                .order_by(func.count().desc(), Group.owner_id)
            )
            .scalars()
            .first()
        )
        cadre = None
        if liaison_unit is not None:
            cadre = (
                s.execute(
                    select(Person)
                    .where(Person.unit_id == liaison_unit.id, Person.id != (owner_pid or ""))
                    .order_by(Person.id)
                )
                .scalars()
                .first()
            )
        owner = s.get(Person, owner_pid) if owner_pid else None
        specs = [
            ("demo-admin", "admin", root, None, "演示管理员"),
            ("demo-supervisor", "supervisor", root, None, "演示减负办"),
            ("demo-liaison", "liaison", liaison_unit, None, "演示联络员"),
            (
                "demo-owner",
                "owner",
                s.get(Unit, owner.unit_id) if owner and owner.unit_id else None,
                owner,
                "演示群主",
            ),
            (
                "demo-cadre",
                "cadre",
                s.get(Unit, cadre.unit_id) if cadre and cadre.unit_id else None,
                cadre,
                "演示干部",
            ),
        ]
        for username, role, unit, person, display in specs:
            if role == "liaison" and unit is None:
                continue
            if role in ("owner", "cadre") and person is None:
                continue
            pw = generate_password()
            existing = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
            if existing is not None:
                existing.password_hash = hash_password(pw)
                existing.active = True
            else:
                create_user(
                    s,
                    username,
                    role,
                    pw,
                    unit_id=unit.id if unit is not None else None,
                    person_id=person.id if person is not None else None,
                    display_name=display + (f"（{person.name}）" if person is not None else ""),
                    actor="demo",
                )
            out.append((username, role, unit.name if unit is not None else "", pw))
    return out
