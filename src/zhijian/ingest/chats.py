"""Registry of the chat-export readers: format name -> handler(run, input) -> (records, encoding).

A reader's module is imported when its format is read (importing all of them costs a few tenths of a
second of regex compilation that an import of canonical files does not need)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

#: format -> (module under zhijian.ingest, function)
READERS: dict[str, tuple[str, str]] = {
    "pywxdump_csv": ("wechat", "pywxdump_csv"),
    "pywxdump_json": ("wechat", "pywxdump_json"),
    "wechatmsg_csv": ("wechat", "wechatmsg_csv"),
    "wechatmsg_txt": ("wechat", "wechatmsg_txt"),
    "wechatmsg_html": ("wechat", "wechatmsg_html"),
    "memotrace_csv": ("wechat", "memotrace_csv"),
    "memotrace_xlsx": ("wechat", "memotrace_xlsx"),
    "wecom_json": ("wecom", "wecom_json"),
    "telegram_json": ("telegram", "telegram_json"),
    "whatsapp_txt": ("whatsapp", "whatsapp_txt"),
    "slack": ("slack", "slack"),
    "generic_csv": ("generic", "generic_csv"),
    "generic_jsonl": ("generic", "generic_jsonl"),
}


def reader(fmt: str) -> Callable[..., Any]:
    module, name = READERS[fmt]
    return getattr(importlib.import_module(f"zhijian.ingest.{module}"), name)


def _lazy(fmt: str) -> Callable[..., Any]:
    def handler(run, inp):
        return reader(fmt)(run, inp)

    handler.__name__ = READERS[fmt][1]
    return handler


HANDLERS: dict[str, Callable[..., Any]] = {fmt: _lazy(fmt) for fmt in READERS}
