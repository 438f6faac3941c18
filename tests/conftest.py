"""Shared fixtures: real workspaces on SQLite, and on PostgreSQL when ZHIJIAN_TEST_PG is set."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from zhijian.workspace import Workspace, init_workspace

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures" / "exports"
TEST_OUTPUT = REPO / "test-output"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws", "测试县")
    yield ws
    ws.close()


@pytest.fixture
def pg_url() -> str:
    """A fresh PostgreSQL schema for one test (search_path set through the URL); dropped afterwards."""
    base = os.environ.get("ZHIJIAN_TEST_PG")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("ZHIJIAN_TEST_PG is not set under CI")
        pytest.skip("ZHIJIAN_TEST_PG not set")
    import sqlalchemy as sa

    from zhijian.store.db import make_engine

    schema = "t_" + uuid.uuid4().hex[:12]
    eng = make_engine(base)
    with eng.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with eng.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    eng.dispose()


@pytest.fixture(scope="session")
def spark():
    """The process's one SparkSession (local mode) for engine-parity tests. Under CI=true a missing
    PySpark or Java fails the test instead of skipping it."""
    import shutil

    missing = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "PySpark is not installed (pip install 'zhijian[spark]')"
    if missing is None and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing = "Java is not installed"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} (required under CI)")
        pytest.skip(missing)
    from zhijian.lake.engine import spark_session

    # Cached per process: every test gets the same session (settings in zhijian.lake.engine).
    return spark_session({"master": "local[2]", "shuffle_partitions": 4, "driver_memory": "2g"})
