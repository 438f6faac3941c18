"""Importing what the offices have: chat exports (WeChat, WeCom, Telegram, WhatsApp, Slack, generic
CSV/JSONL), zhijian's own canonical message files, the 摸底表 inventories, rosters and unit lists.

Entry point: :func:`import_paths` (one atomic, idempotent import batch per call) and
:func:`export_messages` (the canonical CSV/JSONL/Parquet that :func:`import_paths` reads back).
"""

from zhijian.ingest.pipeline import import_paths
from zhijian.ingest.run import ImportSummary

__all__ = ["import_paths", "ImportSummary"]
