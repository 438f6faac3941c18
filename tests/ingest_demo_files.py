"""Small files in the demo county's import contract (issue 3), written for the ingest tests."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook


def _xlsx(path: Path, header: list[str], rows: list[list]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)


def _csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> None:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


UNITS = [
    ["C1", "某某县", "", "县", "党委"],
    ["T1", "东镇", "C1", "乡镇", "乡镇"],
    ["V1", "东村", "T1", "村", "村"],
    ["D1", "县教育局", "C1", "县", "部门"],
]
ROSTER = [
    ["P001", "张三", "县教育局", "局长", "wx_zhang", "", "13800000001"],
    ["P002", "李四", "东镇", "镇长", "wx_li", "li4", ""],
    ["P003", "王五", "V1", "村支书", "wx_wang", "", ""],
]
GROUPS = [
    ["G001", "东镇工作群", "微信", "李四", "东镇", "日常工作", "固定", "2025-01-05", "", 40, "是", "应急"],
    [
        "G002",
        "防汛临时群",
        "企业微信",
        "P001",
        "县教育局",
        "防汛",
        "临时",
        "2025-06-01",
        "2025-09-30",
        12,
        "否",
        "应急,安保",
    ],
]
MESSAGES = [
    [
        "m1",
        "G001",
        "东镇工作群",
        "wx_li",
        "李四",
        "2026-05-06T09:12:00+08:00",
        "text",
        "请各村今天18:00前报送材料",
        "false",
        "[]",
        "",
        "false",
    ],
    [
        "m2",
        "G001",
        "东镇工作群",
        "wx_wang",
        "王五",
        "2026-05-06T09:13:00+08:00",
        "text",
        "收到",
        "false",
        "[]",
        "m1",
        "false",
    ],
    [
        "m3",
        "G001",
        "东镇工作群",
        "wx_li",
        "李四",
        "2026-05-06T20:00:00+08:00",
        "text",
        "@所有人 明早8点开会",
        "true",
        '["wx_wang"]',
        "",
        "false",
    ],
    [
        "m4",
        "G002",
        "防汛临时群",
        "wx_zhang",
        "张三",
        "2026-05-07T01:00:00Z",
        "system",
        "张三邀请李四加入了群聊",
        "false",
        "[]",
        "",
        "false",
    ],
    [
        "m5",
        "G009",
        "未登记的群",
        "wx_nobody",
        "陌生人",
        "2026-05-07T10:00:00+08:00",
        "text",
        "大家好\n第二行，含逗号",
        "false",
        "[]",
        "",
        "true",
    ],
]
CANON_HEADER = [
    "message_id",
    "group_id",
    "group_name",
    "sender_id",
    "sender_name",
    "ts",
    "kind",
    "text",
    "at_all",
    "mentions",
    "reply_to",
    "forwarded",
]


def write_demo(folder: Path, *, messages: list[list] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _csv(folder / "单位.csv", ["单位编码", "单位名称", "上级单位编码", "层级", "类别"], UNITS)
    _xlsx(
        folder / "花名册.xlsx", ["人员编号", "姓名", "单位", "职务", "微信号", "企业微信ID", "手机号"], ROSTER
    )
    _xlsx(
        folder / "工作群摸底表.xlsx",
        [
            "群ID",
            "群名称",
            "平台",
            "群主",
            "所属单位",
            "建群目的",
            "群类型",
            "建群时间",
            "预计解散时间",
            "成员数",
            "是否备案",
            "标签",
        ],
        GROUPS,
    )
    _xlsx(
        folder / "政务应用摸底表.xlsx",
        [
            "应用名称",
            "平台",
            "主办单位",
            "功能",
            "强制功能",
            "上线时间",
            "最近活跃时间",
            "用户数",
            "是否备案",
            "标签",
        ],
        [
            [
                "智慧党建",
                "App",
                "某某县",
                "学习,考试",
                "打卡,积分",
                "2023-03-01",
                "2026-04-30",
                1200,
                "是",
                "",
            ],
            ["东镇通", "小程序", "东镇", "填报", "", "2024-01-01", "2026-01-02", 80, "否", "应急"],
        ],
    )
    _xlsx(
        folder / "政务公众号摸底表.xlsx",
        ["账号名称", "平台", "主办单位", "开设时间", "最近更新时间", "粉丝数", "是否备案", "功能"],
        [["某某县发布", "微信公众号", "某某县", "2018-05-01", "2026-05-01", 30000, "是", "信息发布"]],
    )
    _csv(
        folder / "群成员.csv",
        ["群ID", "微信号", "角色", "入群时间", "退群时间"],
        [
            ["G001", "wx_li", "群主", "2025-01-05 09:00:00", ""],
            ["G001", "wx_wang", "成员", "2025-01-06 10:00:00", ""],
            ["G002", "wx_zhang", "群主", "2025-06-01 08:00:00", "2025-10-01 08:00:00"],
        ],
    )
    (folder / "messages").mkdir(exist_ok=True)
    _csv(folder / "messages" / "part-1.csv", CANON_HEADER, messages if messages is not None else MESSAGES)
    return folder
