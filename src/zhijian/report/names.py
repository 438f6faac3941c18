"""Chinese display names for ids (taxonomy categories, labels, object types, statuses)."""

from __future__ import annotations

OBJECT_TYPES_ZH = {"group": "工作群", "app": "政务应用", "account": "政务公众号", "message": "消息", "unit": "单位"}
STATUSES_ZH = {
    "open": "待处理",
    "assigned": "已交办",
    "rectifying": "整改中",
    "submitted": "已提交整改",
    "verified": "已核验",
    "reopened": "已退回",
    "closed": "已办结",
}
ACTIONS_ZH = {"keep": "保留", "merge": "合并", "remove": "清除", "review": "待研判", "exempt": "豁免"}


def category_name(cat_id: str) -> str:
    from zhijian.rules.taxonomy import category

    c = category(cat_id)
    return c.name_zh if c is not None else cat_id


def label_name(label_id: str) -> str:
    from zhijian.rules.taxonomy import labels

    for lab in labels():
        if lab.id == label_id:
            return lab.name_zh
    return label_id
