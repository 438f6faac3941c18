"""Finding categories for display: Chinese name, definition and sources.

The taxonomy is owned by ``zhijian.rules.taxonomy`` (``rules/taxonomy.yaml``). It is imported lazily
and read defensively: when it is absent or has another shape, the category id is shown as is.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

#: Used only when the taxonomy module is not available (ids from PRODUCT.md §2).
_FALLBACK_ZH = {
    "FORCED_USE": "强制使用",
    "ENGAGEMENT_RANKING": "排名通报",
    "MANDATORY_CHECKIN_POINTS": "强制打卡积分",
    "EXCESSIVE_TRACE": "过度留痕",
    "GROUP_ROLLCALL_INSTANT": "群内接龙秒回",
    "ARBITRARY_TASKS": "随意布置任务",
    "MULTI_REPORTING": "多头报送",
    "DUPLICATE": "重复建设",
    "DUPLICATE_GROUP": "重复建群",
    "ZOMBIE": "僵尸对象",
    "STALE_TEMP_GROUP": "临时群逾期未解散",
    "OFF_TOPIC_GROUP": "工作群闲聊",
    "FORWARD_LIKE_VOTE": "强制转发点赞投票",
    "AFTER_HOURS": "非工作时间要求",
    "NONCOMPLIANT_BUILD": "违规建设",
    "TECH_QUALITY": "技术质量差",
    "COMMERCIAL_USE": "商业利用",
}


def _get(obj: Any, *names: str) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


def _normalise(entries: Any) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if isinstance(entries, dict):
        items = []
        for k, v in entries.items():
            if isinstance(v, dict) and "id" not in v:
                v = {**v, "id": k}
            items.append(v)
        entries = items
    for e in entries or []:
        cid = _get(e, "id", "category", "code")
        if not cid:
            continue
        sources = _get(e, "sources", "source") or []
        if isinstance(sources, str | dict):
            sources = [sources]
        out[str(cid)] = {
            "id": str(cid),
            "name": _get(e, "name_zh", "zh", "name", "title") or str(cid),
            "definition": _get(e, "definition_zh", "definition", "description") or "",
            "sources": [_source_text(s) for s in sources],
        }
    return out


def _source_text(s: Any) -> str:
    if isinstance(s, str):
        return s
    parts = [_get(s, "issuer"), _get(s, "title", "name"), _get(s, "date")]
    text = " ".join(str(p) for p in parts if p)
    return text or str(_get(s, "url") or s)


@functools.lru_cache(maxsize=1)
def categories() -> dict[str, dict]:
    try:
        from zhijian.rules import taxonomy as tx  # noqa: PLC0415 - owned by another package
    except Exception:  # noqa: BLE001 - absent or broken: degrade to ids
        tx = None
    data: Any = None
    if tx is not None:
        for fn in ("load_taxonomy", "load", "taxonomy", "categories", "all_categories"):
            f = getattr(tx, fn, None)
            if callable(f):
                try:
                    data = f()
                    break
                except Exception:  # noqa: BLE001
                    data = None
        if data is None:
            data = getattr(tx, "CATEGORIES", None) or getattr(tx, "TAXONOMY", None)
    if data is None:
        path = Path(__file__).resolve().parent.parent / "rules" / "taxonomy.yaml"
        if path.exists():
            try:
                import yaml

                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
                data = raw.get("categories", raw) if isinstance(raw, dict) else raw
            except Exception:  # noqa: BLE001
                data = None
    try:
        out = _normalise(data)
    except Exception:  # noqa: BLE001
        out = {}
    for cid, zh in _FALLBACK_ZH.items():
        out.setdefault(cid, {"id": cid, "name": zh, "definition": "", "sources": []})
    return out


def name(cid: str) -> str:
    c = categories().get(cid)
    return c["name"] if c else cid


@functools.lru_cache(maxsize=512)
def rule_info(rule_id: str) -> dict | None:
    """The message rule (label, pattern, source) from the built-in rule pack, when the id is one."""
    try:
        from zhijian.rules.pack import builtin_pack

        r = builtin_pack().rule(rule_id)
    except Exception:  # noqa: BLE001 - not a message rule (a screening check) or no rules package
        return None
    return {
        "id": rule_id,
        "description": " ".join(x for x in (str(_get(r, "label") or ""), str(_get(r, "note") or "")) if x),
        "pattern": _get(r, "pattern") or "",
        "source": _get(r, "source") or "",
    }
