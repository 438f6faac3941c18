"""Regenerate the initial Alembic migration from store/models.py (development only, before the first release)."""
import sys, tempfile, os
from pathlib import Path
from alembic import command
from zhijian.store.db import _alembic_config, make_engine
d = tempfile.mkdtemp()
eng = make_engine(f"sqlite:///{d}/x.sqlite")
cfg = _alembic_config(eng)
for f in Path("src/zhijian/store/migrations/versions").glob("*.py"):
    f.unlink()
with eng.begin() as conn:
    cfg.attributes["connection"] = conn
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
