"""The relational store: inventory, findings and their workflow, clues, users, audit log."""

from zhijian.store.db import Store, migrate

__all__ = ["Store", "migrate"]
