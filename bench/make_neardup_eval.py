"""Write the labelled near-duplicate evaluation set ``tests/data/neardup_eval.jsonl``.

Each line: {"id", "text", "notice", "variant"}. ``notice`` is the true cluster. Notices come from
government-notice templates (meetings, trainings, inspections, data submissions, flood and fire
duty, ...) whose slots (date, time, place, subject, unit, number) are filled differently: two notices
from one template are *siblings* — different notices that a naive MinHash threshold merges. Each
notice is then forwarded the way cadres forward: with '转发：' / '【转】' / '【重要】', @mentions, a
salutation, '请认真落实' and similar closings, a signature '——XX办' or '（XX局）', a date line,
changed punctuation and line breaks, full-width digits, and cut tails (the copy keeps 45–90% of the
text). Deterministic (seeded); rerun to regenerate::

    .venv/bin/python bench/make_neardup_eval.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "neardup_eval.jsonl"

TEMPLATES = [
    "关于召开{year}年{subject}工作会议的通知：定于{month}月{day}日{ampm}{hour}时在{place}召开{subject}工作会议，"
    "请各{unitkind}分管领导和{role}准时参加，请于{month}月{dday}日前将参会人员名单报{office}。",
    "各{unitkind}：根据{upper}统一部署，{month}月{day}日至{month}月{day2}日开展{subject}专项检查，"
    "检查组将深入{place}等地实地查看，请提前做好自查自纠，准备好相关台账资料，联系人：{person}，电话{phone}。",
    "通知：请各{unitkind}于{month}月{day}日{hour}时前报送{subject}情况统计表（附件{n}），"
    "内容包括{item1}、{item2}和{item3}，电子版发送至{office}邮箱，纸质版加盖公章后报送{place}。",
    "{upper}定于{month}月{day}日在{place}举办{subject}业务培训班，培训为期{n}天，"
    "请各{unitkind}选派{n2}名{role}参加，{month}月{dday}日{ampm}{hour}时前到{place}报到。",
    "紧急通知：据气象部门预报，{month}月{day}日至{day2}日我县将出现强降雨天气，请各{unitkind}立即启动{subject}应急响应，"
    "落实24小时值班值守制度，{role}要在岗在位，重大情况及时报告{office}。",
    "关于做好{year}年{subject}工作的通知：为切实做好{subject}工作，现就有关事项通知如下：一、提高思想认识；"
    "二、压实工作责任，各{unitkind}主要负责人为第一责任人；三、加强督查检查，{upper}将于{month}月下旬对{place}进行抽查。",
    "请各{unitkind}组织{role}于{month}月{day}日{ampm}{hour}时准时收看{subject}视频会议，"
    "分会场设在{place}，请提前半小时调试设备，做好签到工作，会后将贯彻落实情况报{office}。",
    "根据{upper}要求，现开展{subject}摸底排查，请各{unitkind}对辖区内{item1}、{item2}进行全面排查，"
    "建立问题清单和整改台账，于{month}月{day}日前将排查结果报{office}，联系人{person}。",
]

FILL = {
    "subject": [
        "安全生产",
        "防汛抗旱",
        "森林防火",
        "乡村振兴",
        "人居环境整治",
        "耕地保护",
        "消防安全",
        "食品安全",
        "信访维稳",
        "秋冬季疫病防控",
        "基层减负",
        "农村危房改造",
        "粮食生产",
        "河湖长制",
        "禁毒宣传",
    ],
    "place": [
        "县政府三楼会议室",
        "县委党校报告厅",
        "县应急管理局二楼会议室",
        "城关镇便民服务中心",
        "县融媒体中心演播厅",
        "东岭乡政府",
        "红旗镇综合楼",
        "县农业农村局五楼会议室",
        "青山村委会",
        "县行政中心A座",
    ],
    "unitkind": ["乡镇", "村（社区）", "县直单位", "部门", "镇属单位"],
    "role": ["业务骨干", "网格员", "村支部书记", "分管负责同志", "联络员", "驻村工作队员"],
    "office": ["县应急办", "县委办", "县政府办", "县农业农村局办公室", "县减负办", "县防指办公室"],
    "upper": ["市委办公室", "市应急管理局", "县委县政府", "市农业农村局", "省防指"],
    "person": ["张明", "李红", "王建国", "刘芳", "陈伟", "赵丽"],
    "item1": ["人员信息", "房屋状况", "隐患点位", "物资储备", "资金使用"],
    "item2": ["整改进度", "责任人员", "台账资料", "值班安排", "培训记录"],
    "item3": ["存在问题", "下步打算", "典型经验", "意见建议"],
}
PREFIXES = [
    "转发：",
    "【转】",
    "【重要】",
    "转：",
    "Fw: ",
    "@所有人 ",
    "@所有人\u2005",
    "各位：",
    "各单位：",
    "请各村注意：",
    "【重要通知】",
    "@张三 @李四 ",
]
SUFFIXES = [
    "请认真落实！",
    "请各单位认真贯彻落实。",
    "收到请回复",
    "请遵照执行。",
    "请知悉。",
    "——县委办",
    "——镇党政办",
    "（县应急局）",
    "（红旗镇人民政府）",
    "\n县防指办公室\n2026年3月2日",
    "请抓好落实",
]


def fill(tpl: str, rnd: random.Random) -> str:
    month = rnd.randint(1, 12)
    day = rnd.randint(1, 25)
    vals = {
        "year": rnd.choice([2025, 2026]),
        "month": month,
        "day": day,
        "day2": day + rnd.randint(1, 3),
        "dday": max(1, day - rnd.randint(1, 3)),
        "hour": rnd.choice([8, 9, 10, 14, 15, 16]),
        "ampm": rnd.choice(["上午", "下午"]),
        "n": rnd.randint(1, 5),
        "n2": rnd.randint(1, 3),
        "phone": f"0{rnd.randint(700, 999)}-{rnd.randint(1000000, 9999999)}",
    }
    for k, opts in FILL.items():
        vals[k] = rnd.choice(opts)
    return tpl.format(**vals)


def sibling(text: str, tpl: str, rnd: random.Random) -> str:
    """Another notice from the same template: one or two slots changed."""
    for _ in range(50):
        t = fill(tpl, rnd)
        if t != text:
            return t
    raise RuntimeError("no sibling")


def forward(text: str, rnd: random.Random) -> tuple[str, str]:
    kinds = []
    t = text
    if rnd.random() < 0.6:
        t = rnd.choice(PREFIXES) + t
        kinds.append("prefix")
    if rnd.random() < 0.5:
        t = t + rnd.choice(SUFFIXES)
        kinds.append("suffix")
    if rnd.random() < 0.3:
        keep = rnd.uniform(0.45, 0.9)
        cut = int(len(text) * keep)
        t = t[: t.index(text[:10]) + cut] if text[:10] in t else t[:cut]
        kinds.append("cut")
    if rnd.random() < 0.3:
        t = t.replace("，", ", ").replace("：", ":\n")
        kinds.append("punct")
    if rnd.random() < 0.2:
        t = t.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        kinds.append("fullwidth")
    if not kinds or t == text:
        kinds.append("exact")
    return t, "+".join(kinds)


def main() -> None:
    rnd = random.Random(7)
    rows = []
    nid = 0
    for tpl in TEMPLATES:
        bases = []
        for _ in range(10):  # ten notices per template: siblings of each other
            b = fill(tpl, rnd) if not bases else sibling(bases[-1], tpl, rnd)
            bases.append(b)
        for b in bases:
            notice = f"n{nid:03d}"
            nid += 1
            rows.append({"text": b, "notice": notice, "variant": "original"})
            for _ in range(rnd.randint(1, 5)):
                t, kind = forward(b, rnd)
                rows.append({"text": t, "notice": notice, "variant": kind})
    rnd.shuffle(rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        for i, r in enumerate(rows):
            f.write(json.dumps({"id": f"e{i:04d}", **r}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} lines, {nid} notices -> {OUT}")


if __name__ == "__main__":
    main()
