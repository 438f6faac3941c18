"""Snapshots of the store's inventory as Arrow tables, so analyses can join them in the engine."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from zhijian.store import Store
from zhijian.store.models import Account, App, Group, Person, Unit

_STR, _DATE, _INT, _BOOL, _LIST = pa.string(), pa.date32(), pa.int64(), pa.bool_(), pa.list_(pa.string())

SNAPSHOTS: dict[str, tuple[Any, dict[str, pa.DataType]]] = {
    "units": (Unit, {"id": _STR, "name": _STR, "parent_id": _STR, "level": _STR, "kind": _STR, "path": _STR}),
    "people": (Person, {"id": _STR, "name": _STR, "unit_id": _STR, "title": _STR}),
    "groups": (
        Group,
        {
            "id": _STR,
            "name": _STR,
            "platform": _STR,
            "unit_id": _STR,
            "owner_id": _STR,
            "purpose": _STR,
            "group_type": _STR,
            "created_on": _DATE,
            "end_date": _DATE,
            "member_count": _INT,
            "status": _STR,
            "registered": _BOOL,
            "tags": _LIST,
        },
    ),
    "apps": (
        App,
        {
            "id": _STR,
            "name": _STR,
            "platform": _STR,
            "unit_id": _STR,
            "purpose": _STR,
            "functions": _LIST,
            "features": _LIST,
            "launched_on": _DATE,
            "last_active_on": _DATE,
            "users": _INT,
            "status": _STR,
            "registered": _BOOL,
            "tags": _LIST,
        },
    ),
    "accounts": (
        Account,
        {
            "id": _STR,
            "name": _STR,
            "platform": _STR,
            "unit_id": _STR,
            "purpose": _STR,
            "functions": _LIST,
            "created_on": _DATE,
            "last_post_on": _DATE,
            "followers": _INT,
            "status": _STR,
            "registered": _BOOL,
            "tags": _LIST,
        },
    ),
}


def snapshot(store: Store, name: str) -> pa.Table:
    model, cols = SNAPSHOTS[name]
    schema = pa.schema([(c, t) for c, t in cols.items()])
    with store.session() as s:
        rows = s.execute(select(*[getattr(model, c) for c in cols])).all()
    data: dict[str, list[Any]] = {c: [] for c in cols}
    for r in rows:
        for c, v in zip(cols, r, strict=True):
            if cols[c] == _LIST:
                v = [str(x) for x in (v or [])]
            elif cols[c] == _DATE and isinstance(v, dt.datetime):
                v = v.date()
            data[c].append(v)
    return pa.table(data, schema=schema)


def inventory_tables(store: Store) -> dict[str, pa.Table]:
    return {name: snapshot(store, name) for name in SNAPSHOTS}
