import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from zhijian.analysis.findings import FindingDraft, finding_id, upsert_findings
from zhijian.errors import WorkspaceError
from zhijian.store import Store, migrate
from zhijian.store.models import Base, Finding, Group, Person, Unit
from zhijian.store.queries import list_findings, unit_subtree_ids


def _store(url: str) -> Store:
    st = Store(url)
    migrate(st.engine)
    return st


@pytest.fixture(params=["sqlite", "pg"])
def store(request, tmp_path):
    if request.param == "sqlite":
        st = _store(f"sqlite:///{tmp_path / 's.sqlite'}")
    else:
        st = _store(request.getfixturevalue("pg_url"))
    yield st
    st.dispose()


def _tree(s):
    s.add_all(
        [
            Unit(id="C", name="青山县", level="county", path="/C/"),
            Unit(id="T1", name="东岭镇", level="township", parent_id="C", path="/C/T1/"),
            Unit(id="V1", name="上坪村", level="village", parent_id="T1", path="/C/T1/V1/"),
            Unit(id="D1", name="教育局", level="county", parent_id="C", path="/C/D1/"),
        ]
    )


def test_migrations_match_models(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_model_round_trip_and_subtree(store):
    with store.session() as s:
        _tree(s)
        s.add(Person(id="P1", name="张三", unit_id="V1", aliases=["wxid_zs", "13800000000"]))
        s.add(
            Group(
                id="G1",
                name="上坪村防汛工作群",
                unit_id="V1",
                owner_id="P1",
                group_type="temporary",
                end_date=dt.date(2026, 9, 30),
                tags=["应急"],
            )
        )
    with store.session() as s:
        g = s.get(Group, "G1")
        assert g.end_date == dt.date(2026, 9, 30) and g.tags == ["应急"] and g.status == "active"
        assert s.get(Person, "P1").aliases == ["wxid_zs", "13800000000"]
        assert sorted(unit_subtree_ids(s, "T1")) == ["T1", "V1"]
        assert len(unit_subtree_ids(s, "C")) == 4


def test_upsert_is_idempotent_and_keeps_workflow(store):
    with store.session() as s:
        _tree(s)
    d = FindingDraft(
        "ZOMBIE", "group.zombie", "group", "G1", "群G1 90 天无实质消息", unit_id="V1", message_ids=["m1"]
    )
    r1 = upsert_findings(store, [d])
    assert (r1.new, r1.updated) == (1, 0)
    with store.session() as s:
        f = s.get(Finding, finding_id("group.zombie", "group", "G1"))
        f.status, f.assignee_unit_id, f.deadline = "assigned", "T1", dt.date(2026, 12, 31)
    d.message_ids = ["m1", "m2"]
    r2 = upsert_findings(store, [d])
    assert (r2.new, r2.updated) == (0, 1)
    with store.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Finding)) == 1
        f = s.get(Finding, d.id)
        assert f.status == "assigned" and f.deadline == dt.date(2026, 12, 31)
        assert f.evidence["message_ids"] == ["m1", "m2"]
    # a rule that ran and no longer finds it marks it inactive, keeping the row and its workflow
    r3 = upsert_findings(store, [], rules_run={"group.zombie"})
    assert r3.deactivated == 1
    rows, total = list_findings(store)
    assert total == 0
    rows, total = list_findings(store, active_only=False, unit_id="T1")
    assert total == 1 and rows[0]["status"] == "assigned" and rows[0]["unit_name"] == "上坪村"


def test_newer_store_revision_is_refused(tmp_path):
    st = _store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with st.engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(WorkspaceError, match="9999"):
        migrate(st.engine)
