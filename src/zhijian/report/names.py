"""Chinese display names for ids (taxonomy categories, labels, object types, statuses, platforms)."""

from __future__ import annotations

OBJECT_TYPES_ZH = {
    "group": "工作群",
    "app": "政务应用",
    "account": "政务公众号",
    "message": "消息",
    "unit": "单位",
}
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
#: The decisions a unit may write into the 研判结论 column of a 目录清单 (and back).
DECISIONS_ZH = {"keep": "保留", "merge": "合并", "remove": "清除", "exempt": "豁免"}
DECISIONS_FROM_ZH = {v: k for k, v in DECISIONS_ZH.items()}
OBJECT_STATUS_ZH = {"active": "在用", "dissolved": "已解散", "merged": "已合并", "removed": "已清除"}
GROUP_TYPES_ZH = {"fixed": "固定", "temporary": "临时"}
PLATFORMS_ZH = {
    "wechat": "微信",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "qq": "QQ",
    "feishu": "飞书",
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "slack": "Slack",
    "app": "App",
    "miniprogram": "小程序",
    "quickapp": "快应用",
    "wechat_oa": "微信公众号",
    "weibo": "微博",
    "douyin": "抖音",
    "toutiao": "今日头条",
    "other": "其他",
}
FEATURES_ZH = {"checkin": "打卡", "points": "积分", "online_time": "在线时长", "ranking": "排名"}

#: Used only while the taxonomy module (zhijian.rules.taxonomy) is not importable; the names are
#: those of research/policy.md §a (merged list).
_CATEGORY_FALLBACK = {
    "FORCED_USE": "强制使用",
    "ENGAGEMENT_RANKING": "滥用排名",
    "MANDATORY_CHECKIN_POINTS": "强制打卡积分",
    "EXCESSIVE_TRACE": "过度留痕",
    "GROUP_ROLLCALL_INSTANT": "打卡接龙、即时响应",
    "ARBITRARY_TASKS": "随意摊派任务、索要材料",
    "MULTI_REPORTING": "多头填报",
    "DUPLICATE": "功能重复",
    "DUPLICATE_GROUP": "重复建群",
    "ZOMBIE": "空壳僵尸",
    "STALE_TEMP_GROUP": "临时群未解散",
    "OFF_TOPIC_GROUP": "聊天群",
    "FORWARD_LIKE_VOTE": "摊派关注点赞转发投票",
    "AFTER_HOURS": "非工作时间",
    "NONCOMPLIANT_BUILD": "建设不规范",
    "TECH_QUALITY": "技术问题",
    "COMMERCIAL_USE": "经营性活动",
}


def category_name(cat_id: str) -> str:
    try:
        from zhijian.rules.taxonomy import category
    except ImportError:
        return _CATEGORY_FALLBACK.get(cat_id, cat_id)
    c = category(cat_id)
    return c.name_zh if c is not None else _CATEGORY_FALLBACK.get(cat_id, cat_id)


def label_name(label_id: str) -> str:
    try:
        from zhijian.rules.taxonomy import labels
    except ImportError:
        return label_id
    for lab in labels():
        if lab.id == label_id:
            return lab.name_zh
    return label_id


def platform_name(p: str | None) -> str:
    return PLATFORMS_ZH.get(p or "", p or "")
