"""Chinese message texts for the demo county: templates × slots × noise, each with its known labels.

Every generator returns ``(text, mask)`` where ``mask`` is a bit set of :data:`LABELS`. A text is
assembled from parts (body, tails, prefixes); the mask is the union of the parts' labels, so a part
that is cut off (a forwarded copy with its tail cut) takes its label with it. Prohibitions and
cancellations ("不得要求打卡", "今天不用回复收到") are their own templates with no label (``normal``).

Noise never touches the words that carry a label (typos only hit neutral words).
"""

from __future__ import annotations

import datetime as dt
import random

from zhijian.demo import lexicon as lx

LABELS = (
    "roll_call_demand",
    "roll_call_reply",
    "checkin_demand",
    "proof_demand",
    "instant_response_demand",
    "data_request",
    "forward_like_demand",
    "app_usage_demand",
)
RC, RR, CK, PF, IN, DR, FL, AU = (1 << i for i in range(8))
DEMAND_MASK = RC | CK | PF | IN | DR | FL | AU
URGENT_MARKERS = ("紧急", "应急", "安保")


def labels_of(mask: int) -> list[str]:
    out = [name for i, name in enumerate(LABELS) if mask & (1 << i)]
    return out or ["normal"]


CN_NUM = "零一二三四五六七八九十"
WEEKDAY_CN = "一二三四五六日"

# ── noise ─────────────────────────────────────────────────────────────────────────────────────────
TYPOS = (
    ("的", "得"),
    ("已经", "以经"),
    ("尽快", "尽块"),
    ("工作", "工做"),
    ("各位", "各为"),
    ("按照", "按着"),
    ("通知", "通之"),
    ("一下", "一哈"),
)
EMOJI_TAIL = ("🙏", "💪", "👍", "‼️", "❗", "🙏🙏", "[抱拳]", "[玫瑰]", "～", "！！", "[握手]", "😊")
BRACKETS = ("【通知】", "【重要】", "【提醒】", "【温馨提示】", "【工作提示】", "")


def noisy(text: str, r: random.Random, level: float = 1.0) -> str:
    """Typos in neutral words, width changes, emoji, spacing, line breaks."""
    if r.random() < 0.12 * level:
        a, b = TYPOS[r.randrange(len(TYPOS))]
        if a in text:
            text = text.replace(a, b, 1)
    if r.random() < 0.15 * level:
        text = text.replace("，", ",").replace("：", ":")
    if r.random() < 0.08 * level:
        text = text.replace("。", "")
    if r.random() < 0.12 * level:
        text = text.replace("，", "，\n", 1)
    if r.random() < 0.06 * level:
        text = text.replace("，", " ，", 1)
    if r.random() < 0.2 * level:
        text = text.rstrip("。") + EMOJI_TAIL[r.randrange(len(EMOJI_TAIL))]
    return text


TRAD = str.maketrans(
    {
        "请": "請",
        "复": "復",
        "报": "報",
        "时": "時",
        "钟": "鐘",
        "内": "內",
        "发": "發",
        "签": "簽",
        "图": "圖",
        "转": "轉",
        "点": "點",
        "赞": "讚",
        "积": "積",
        "个": "個",
        "们": "們",
        "说": "說",
        "这": "這",
        "张": "張",
        "与": "與",
        "于": "於",
        "后": "後",
        "门": "門",
        "实": "實",
        "传": "傳",
        "动": "動",
        "员": "員",
        "认": "認",
        "议": "議",
        "会": "會",
        "长": "長",
        "乡": "鄉",
        "镇": "鎮",
        "村": "村",
        "对": "對",
        "统": "統",
        "计": "計",
        "表": "表",
        "数": "數",
        "据": "據",
        "录": "錄",
    }
)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def variant(text: str, r: random.Random, p_trad: float = 0.02, p_full: float = 0.05) -> str:
    """Traditional characters (a few cadres type them) and full-width digits (some input methods)."""
    if r.random() < p_trad:
        text = text.translate(TRAD)
    if r.random() < p_full:
        text = text.translate(FULLWIDTH)
    return text


def pick(r: random.Random, seq):
    return seq[r.randrange(len(seq))]


# ── deadlines ─────────────────────────────────────────────────────────────────────────────────────
def deadline(r: random.Random, now: dt.datetime, short: bool = True) -> tuple[str, dt.datetime]:
    """A deadline phrase and the local time it means, relative to ``now``."""
    d = now.date()
    opts = []
    if now.hour < 16:
        opts += [
            ("今天下午5点前", dt.datetime.combine(d, dt.time(17))),
            ("今天下班前", dt.datetime.combine(d, dt.time(17, 30))),
            ("今天17:00前", dt.datetime.combine(d, dt.time(17))),
        ]
    if now.hour < 14:
        opts += [
            ("今天下午3点前", dt.datetime.combine(d, dt.time(15))),
            ("下午2点半前", dt.datetime.combine(d, dt.time(14, 30))),
        ]
    if now.hour < 10:
        opts += [
            ("今天12点前", dt.datetime.combine(d, dt.time(12))),
            ("上午11点前", dt.datetime.combine(d, dt.time(11))),
        ]
    opts += [
        ("2小时内", now + dt.timedelta(hours=2)),
        ("1小时内", now + dt.timedelta(hours=1)),
        ("明早8点前", dt.datetime.combine(d + dt.timedelta(days=1), dt.time(8))),
        ("明天上午10点前", dt.datetime.combine(d + dt.timedelta(days=1), dt.time(10))),
        ("明天中午12点前", dt.datetime.combine(d + dt.timedelta(days=1), dt.time(12))),
    ]
    if now.hour >= 17:
        opts += [
            ("今晚9点前", dt.datetime.combine(d, dt.time(21))),
            ("今晚10点前", dt.datetime.combine(d, dt.time(22))),
        ]
    if not short or r.random() < 0.3:
        k = r.randint(2, 5)
        due = d + dt.timedelta(days=k)
        opts = [
            (f"{due.month}月{due.day}日前", dt.datetime.combine(due, dt.time(17, 30))),
            (
                f"{due.month}月{due.day}日（周{WEEKDAY_CN[due.weekday()]}）前",
                dt.datetime.combine(due, dt.time(17, 30)),
            ),
        ]
        if now.weekday() < 4:
            fri = d + dt.timedelta(days=4 - now.weekday())
            opts.append(("本周五前", dt.datetime.combine(fri, dt.time(17, 30))))
    return pick(r, opts)


# ── demands ───────────────────────────────────────────────────────────────────────────────────────
RC_TAILS = (
    "收到请回复",
    "收到请回复！",
    "收到请回复“收到”",
    "请回复收到",
    "收到的请回复",
    "看到请回复1",
    "看到请扣1",
    "收到请及时回复",
    "请各位回复收到，以便统计",
    "请联络员回复收到",
    "收到请回复，没回复的我逐个打电话",
    "看到的回个收到",
    "请在群里回复“收到”确认",
    "麻烦大家回复一下收到",
    "收到后请回复",
)
RC_STANDALONE = (
    "@所有人 收到请回复",
    "@所有人 以上通知收到请回复！",
    "请各位收到回复“收到”",
    "以上通知，请大家回复收到",
    "还有部分同志没有回复，请看到后回复收到",
    "请大家接龙报平安",
    "请各村接龙确认参会人员",
    "请全体干部接龙报到",
    "请以接龙形式报送{act}开展情况",
    "请大家接龙：序号+姓名+已学习",
    "各位都回复一下，确认都看到了",
    "请各单位联络员接龙确认",
    "看到消息的请扣1",
    "请在群里报个到",
    "今天的{act}，请参加的同志接龙",
    "请各网格员接龙报送今日巡查情况",
)
CK_T = (
    "请各位明早8:30前在“{app}”上完成定位签到",
    "今天起每天上下班都要在群里发定位打卡",
    "请网格员每天早上8点前打卡，未打卡的通报",
    "各村干部到岗后请在群里发位置签到",
    "巡河请在“{app}”上打卡，每周不少于{n}次",
    "请大家在钉钉上完成今日考勤打卡",
    "今晚8点前所有包村干部发送实时位置共享",
    "明天开始实行上下班打卡制度，请大家按时在群里签到",
    "下村走访请开启定位，到户后签到",
    "值班人员请每两小时在群里签到一次",
    "请各站所负责人每天在“{app}”签到打卡",
    "参会人员请扫码签到，未签到的按缺席处理",
)
PF_T = (
    "请各村今晚前报{n}张{act}活动照片",
    "学习完成后请截图发群里留痕",
    "入户走访请拍照留存，照片要有时间水印和定位",
    "请上传工作照片，每人不少于{n}张",
    "请将{act}现场视频发到群里",
    "巡查时请截图轨迹上传",
    "各位把学习记录截图发一下",
    "请各网格员上传今日巡查照片",
    "开展情况请附图片佐证材料，每项不少于{n}张",
    "请把{act}的照片和视频发群里备查",
    "入户照片要求人户同框，发群里留痕",
    "请各村报送{act}工作照片，要有横幅",
)
IN_T = (
    "请{n}分钟内回复",
    "请立即回复",
    "看到请秒回",
    "手机保持24小时畅通，随时在线",
    "看到后马上回电话",
    "请立马反馈",
    "半小时内报到群里",
    "请所有人{n}分钟内在群里反馈",
    "消息必须第一时间回复",
    "请立刻核实后回复",
    "请务必在{n}分钟内答复",
    "请保持在线，随时回复",
)
DR_T = (
    "请于{dl}报送{form}",
    "请各乡镇{dl}将{form}报{unit}邮箱",
    "麻烦各村{dl}把{topic}情况报给我",
    "请尽快填报{form}，{dl}交",
    "请将{topic}数据统计后于{dl}上报，逾期不报的通报",
    "请{dl}报送{topic}工作总结",
    "请各单位于{dl}报送{topic}半年工作汇报材料",
    "{dl}请把{form}发到群里",
    "请{dl}完成{form}填报并报送纸质版",
    "请各乡镇{dl}报送{topic}进展情况，附佐证材料",
    "急需{topic}相关数据，请{dl}报送",
)
FORMS = ("{topic}情况统计表", "{topic}摸底排查表", "{topic}工作台账", "{topic}基础信息表", "{topic}问题清单")
FL_T = (
    "请各位将“{acct}”今天的推文转发朋友圈，并截图",
    "请大家给“{acct}”的文章点赞、在看",
    "请动员家人朋友为{subj}投票，每人每天{n}票",
    "请关注“{acct}”公众号，关注后截图发群里",
    "“{acct}”发布的文章请大家转发到{n}个以上微信群",
    "请大家点开链接为{subj}投票，投完截图",
    "请各单位组织干部职工观看直播并点赞评论",
    "请大家在“{acct}”视频号下面评论点赞",
    "请转发至朋友圈，保留{n}小时以上",
)
AU_T = (
    "请大家今天内下载注册“{app}”APP",
    "学习强国每日积分不低于{n}分，每周通报排名",
    "请尚未注册“{app}”的同志抓紧注册，明天通报注册率",
    "请每天登录“{app}”，在线时长不少于{n}分钟",
    "“{app}”本周积分排名已出，后三名的请说明情况",
    "请在“{app}”上完成本月学习任务",
    "请各村督促党员安装“{app}”，安装率纳入考核",
    "“{app}”的学习积分本月要达到{n}分",
    "请大家每天登录“{app}”学习不少于{n}分钟",
)
URGENT_T = (
    "【紧急通知】今晚有{w}，请各村立即组织人员对地灾点、山塘水库开展巡查，发现险情第一时间上报",
    "紧急！气象台发布{w}预警，请各乡镇值班人员立即到岗，做好转移准备",
    "应急响应：{w}即将来临，请各村干部立即到岗到位，巡查情况随时报告",
    "【紧急】{place}附近发生山火，请就近村干部立即赶赴现场，收到请回复",
    "紧急通知：请各乡镇立即排查辖区危险边坡，今晚12点前报送排查情况",
)
LEAD = ("", "", "", "各位同事：", "各村（社区）：", "各位：", "@所有人 ", "各乡镇：", "各位领导、同事：")


def _fill(t: str, r: random.Random, ctx: dict) -> str:
    slots = {
        "app": pick(r, ctx["apps"]) if ctx.get("apps") else "学习强国",
        "acct": pick(r, ctx["accounts"]) if ctx.get("accounts") else "青山发布",
        "act": pick(r, lx.ACTIVITIES),
        "n": str(r.choice((3, 5, 10, 15, 20, 30, 50))),
        "subj": pick(r, lx.SUBJECTS_VOTE),
        "unit": ctx.get("unit", "县委办"),
        "topic": ctx.get("topic") or pick(r, ctx.get("topics") or ("重点工作",)),
        "w": pick(r, lx.WEATHER),
        "place": pick(r, ("石门岭", "老鹰嘴", "青龙山", "大坪岗")),
    }
    if "{form}" in t:
        slots["form"] = ctx.get("form") or pick(r, FORMS).format(topic=slots["topic"])
    if "{dl}" in t:
        phrase, due = deadline(r, ctx["now"], short=r.random() < 0.7)
        slots["dl"] = phrase
        ctx["_deadline"] = due
    return t.format(**slots)


def demand(kind: int, r: random.Random, ctx: dict) -> tuple[str, int]:
    """One demand message of primary kind ``kind`` (a label bit), possibly with add-on tails."""
    parts: list[str] = []
    mask = kind
    if kind == RC:
        t = pick(r, RC_STANDALONE)
        if r.random() < 0.5:
            pre = pick(
                r,
                (
                    "明天上午9点召开{m}，",
                    "关于{t}的文件已发到各位邮箱，",
                    "{t}工作方案已印发，",
                    "请各位注意查收{t}相关通知，",
                ),
            )
            parts.append(pre.format(m=pick(r, lx.MEETINGS), t=ctx.get("topic") or pick(r, lx.ACTIVITIES)))
        parts.append(_fill(t, r, ctx))
        if "报送" in parts[-1]:  # 以接龙形式报送…情况: a roll call that is also a report
            mask |= DR
    else:
        table = {CK: CK_T, PF: PF_T, IN: IN_T, DR: DR_T, FL: FL_T, AU: AU_T}[kind]
        parts.append(_fill(pick(r, table), r, ctx))
        if "佐证" in parts[-1]:
            mask |= PF
        if "报到" in parts[-1]:
            mask |= RC
        # add-on tails: what real messages pile onto a request
        if kind != IN and r.random() < ctx.get("p_instant", 0.12):
            parts.append(
                _fill(pick(r, ("请{n}分钟内回复", "请立即落实", "务必今天完成，看到请秒回")), r, ctx)
            )
            mask |= IN
        if kind in (DR, CK, AU) and r.random() < 0.15:
            parts.append(pick(r, ("完成后截图发群里", "请附照片佐证", "截图留痕备查")))
            mask |= PF
        if r.random() < ctx.get("p_rc_tail", 0.35):
            parts.append(pick(r, RC_TAILS))
            mask |= RC
    text = pick(r, LEAD) + "，".join(p.rstrip("，。") for p in parts) + pick(r, ("。", "！", "", "。"))
    if r.random() < 0.25:
        text = pick(r, BRACKETS) + text
    return variant(noisy(text, r), r), mask


def urgent_demand(r: random.Random, ctx: dict) -> tuple[str, int]:
    t = _fill(pick(r, URGENT_T), r, ctx)
    mask = IN
    if "报送" in t:
        mask |= DR
    if "收到请回复" in t:
        mask |= RC
    return noisy(t, r, 0.5), mask


def nag(r: random.Random, names: list[str]) -> tuple[str, int]:
    at = " ".join("@" + n for n in names)
    t = pick(
        r,
        (
            "{at} 请尽快回复收到",
            "还没回复的同志：{at}，请马上回复",
            "{at} 看到请回复，就差你们了",
            "{at} 请{n}分钟内回复",
            "{at} 怎么还没回复？请立即回复",
        ),
    )
    mask = RC | (IN if ("分钟" in t or "马上" in t or "立即" in t) else 0)
    return t.format(at=at, n=r.choice((5, 10, 15))), mask


# ── replies (roll-call storms) ───────────────────────────────────────────────────────────────────
REPLIES = (
    "收到",
    "收到",
    "收到",
    "收到！",
    "收到。",
    "收到👌",
    "收到🙏",
    "1",
    "1",
    "好的",
    "好的！",
    "好的，收到",
    "已收到",
    "收到，马上落实",
    "收到，立即安排",
    "👌",
    "[OK]",
    "[强]",
    "收到收到",
    "嗯嗯，收到",
    "收到，谢谢领导",
    "收到，保证完成任务",
    "已阅",
    "已阅，收到",
    "明白",
    "收到，按要求办",
    "OK",
    "ok",
    "收到～",
    "收到[抱拳]",
    "收到[握手]",
    "好的，马上办",
    "收到！马上安排",
    "1️⃣",
    "收到，请放心",
)
JIELONG_STATUS = ("已完成", "已学习", "平安", "已报送", "参会", "已落实", "到岗", "已签到")


def quote_reply(r: random.Random, who: str, demand: str) -> str:
    """A reply that quotes the demand (WeChat's 引用 shows the quoted message under the reply)."""
    q = demand.replace("\n", " ")
    q = q if len(q) <= 40 else q[:38] + "…"
    return pick(r, ("收到", "收到！", "好的", "1", "已收到")) + f"\n「{who}：{q}」"


def reply(r: random.Random, unit: str, name: str) -> str:
    x = r.random()
    if x < 0.01:
        return pick(r, ("收到", "收到請回復的已回復", "收到，已閱", "１", "ＯＫ", "收到！"))
    if x < 0.08:
        return f"{unit}{pick(r, ('收到', '已收到', '收到，马上落实'))}"
    if x < 0.14:
        return f"{name}收到"
    if x < 0.17:
        return f"收到 {unit} {name}"
    return pick(r, REPLIES)


def jielong_entry(r: random.Random, k: int, unit: str, name: str, status: str) -> str:
    f = r.random()
    if f < 0.5:
        return f"{k}. {name} {status}"
    if f < 0.75:
        return f"{k}、{unit} {name} {status}"
    if f < 0.9:
        return f"{k}.{name}{status}"
    return f"{k} {unit}{name} {status}"


# ── notices (for cascades and as ordinary notices) ──────────────────────────────────────────────
NOTICE_TEMPLATES = (
    (
        "meeting",
        "关于召开{meeting}的通知",
        (
            "定于{date}（星期{wd}）{time}在{place}召开{meeting}。",
            "请{att}准时参加，不得请假。",
            "请提前10分钟到场，会场请将手机调至静音。",
        ),
    ),
    (
        "meeting2",
        "{meeting}会议通知",
        (
            "经研究，定于{date}{time}召开{meeting}，地点：{place}。",
            "参会人员：{att}。",
            "请参会人员带好笔记本，不得迟到早退。",
        ),
    ),
    (
        "training",
        "关于举办{topic}业务培训的通知",
        (
            "为提升{topic}工作水平，定于{date}在{place}举办{topic}业务培训。",
            "培训对象：{att}。",
            "培训期间统一安排午餐，请各单位提前安排好工作。",
        ),
    ),
    (
        "weather",
        "关于做好{w}防范应对工作的通知",
        (
            "据气象部门预报，{date}前后我县将出现{w}天气过程。",
            "请各乡镇加强值班值守，落实巡查责任，做好群众转移避险准备。",
            "遇重大情况按程序向县防汛办报告。",
        ),
    ),
    (
        "inspection",
        "关于开展{topic}专项检查的通知",
        (
            "根据工作安排，{org}将于{date}起对各乡镇{topic}工作开展专项检查。",
            "检查采取听取汇报、查阅资料、实地查看等方式进行。",
            "请各乡镇认真开展自查，做好迎检准备。",
        ),
    ),
    (
        "study",
        "关于开展{topic}集中学习的通知",
        (
            "为深入学习贯彻上级会议精神，定于{date}{time}在{place}组织{topic}集中学习。",
            "请{att}参加，并做好学习记录。",
            "学习材料已上传至共享文件夹。",
        ),
    ),
    (
        "holiday",
        "关于做好{holiday}期间有关工作的通知",
        (
            "{holiday}将至，为确保节日期间全县安全稳定，现就有关事项通知如下：",
            "一、严格执行值班制度，带班领导和值班人员坚守岗位。",
            "二、加强安全隐患排查，重点做好{topic_}工作。",
            "三、严格落实中央八项规定精神，过一个风清气正的节日。",
        ),
    ),
    (
        "policy",
        "关于印发《{org}{topic}工作方案》的通知",
        (
            "《{org}{topic}工作方案》已经研究同意，现印发给你们，请结合实际认真贯彻落实。",
            "执行中遇到的问题请及时与{org}联系。",
        ),
    ),
)
NOTICE_DEMAND_PARTS = (
    ("请各乡镇于{dl}将{form}报{org}。", DR),
    ("请于{dl}报送参会人员名单。", DR),
    ("收到请回复。", RC),
    ("请各乡镇联络员收到后回复。", RC),
)
HOLIDAYS = ("端午节", "中秋节", "国庆节", "中秋国庆“双节”", "“五一”劳动节")


def notice_slots(r: random.Random, now: dt.datetime, org: str, topics) -> dict:
    d = now.date() + dt.timedelta(days=r.randint(1, 9))
    return fix_slots(
        {
            "meeting": pick(r, lx.MEETINGS),
            "date": f"{d.month}月{d.day}日",
            "wd": WEEKDAY_CN[d.weekday()],
            "time": pick(r, ("上午9:00", "上午9点", "下午2:30", "下午3点", "上午8:30", "下午2点")),
            "place": pick(r, lx.PLACES),
            "att": pick(r, lx.ATTENDEES),
            "topic": pick(r, topics),
            "w": pick(r, lx.WEATHER),
            "org": org,
            "holiday": pick(r, HOLIDAYS),
            "topic_": "",
        }
    )


def fix_slots(slots: dict) -> dict:
    slots["topic_"] = slots["topic"].removesuffix("工作")
    return slots


def notice(
    template: int, slots: dict, r: random.Random, ctx: dict, with_demand: float = 0.45
) -> list[tuple[str, int]]:
    """A multi-paragraph notice as a list of (paragraph, mask): title, salutation, body, demand, signature."""
    _key, title, body = NOTICE_TEMPLATES[template]
    salute = (
        ("各村（社区）：", "各村（社区）、镇直各单位：")
        if ctx.get("township")
        else ("各乡镇、县直各单位：", "各乡镇：", "各有关单位：")
    )
    paras: list[tuple[str, int]] = [(title.format(**slots), 0), (pick(r, salute), 0)]
    paras += [(b.format(**slots), 0) for b in body]
    if r.random() < with_demand:
        t, m = pick(r, NOTICE_DEMAND_PARTS)
        if "{dl}" in t:
            phrase, due = deadline(r, ctx["now"], short=r.random() < 0.5)
            ctx["_deadline"] = due
            t = t.format(dl=phrase, form=pick(r, FORMS).format(topic=slots["topic"]), org=slots["org"])
        paras.append((t, m))
    paras.append((f"{slots['org']}\n{ctx['now'].year}年{ctx['now'].month}月{ctx['now'].day}日", 0))
    return paras


def render_notice(paras: list[tuple[str, int]], sep: str = "\n") -> tuple[str, int]:
    mask = 0
    for _p, m in paras:
        mask |= m
    return sep.join(p for p, _m in paras), mask


FORWARD_PREFIX = (
    "转发：",
    "【转发】",
    "转：",
    "请认真落实！\n",
    "请各村认真落实。\n",
    "请各位按要求落实\n",
    "@所有人 请认真学习落实\n",
    "转{org}通知：\n",
    "",
    "",
    "请各村（社区）按通知要求抓好落实。\n",
    "转发{org}的通知，请遵照执行\n",
)
FORWARD_SUFFIX = ("", "", "", "\n——{unit}党政办", "\n（{unit}转发）", "\n{unit}", "\n请各村抓好落实")


def forward_copy(
    paras: list[tuple[str, int]], r: random.Random, org: str, unit: str
) -> tuple[str, int, bool]:
    """A forwarded copy: a prefix, a signature, a cut tail, other line breaks. Returns (text, mask, verbatim)."""
    ps = list(paras)
    verbatim = r.random() < 0.25
    if verbatim:
        text, mask = render_notice(ps)
        return text, mask, True
    if r.random() < 0.35 and len(ps) > 4:
        ps = ps[: len(ps) - r.randint(1, 2)]  # cut tail: signature and maybe the last paragraph
    sep = pick(r, ("\n", "\n", "", "\n\n", " "))
    text, mask = render_notice(ps, sep)
    pre = pick(r, FORWARD_PREFIX).format(org=org, unit=unit)
    suf = pick(r, FORWARD_SUFFIX).format(org=org, unit=unit)
    return pre + text + suf, mask, False


# ── hard negatives and ordinary traffic ─────────────────────────────────────────────────────────
NEGATIVES = (
    "根据上级要求，今后不得要求基层干部在群里打卡",
    "今天不用回复收到",
    "以后通知类消息无需回复“收到”",
    "取消今日打卡",
    "本群禁止要求接龙、回复收到",
    "按照减负要求，不再要求上传工作照片留痕",
    "不要求各村报送照片，实事求是就行",
    "通报：某县要求干部每天打卡被问责，请大家引以为戒",
    "非紧急事项不@所有人，请大家周知",
    "这次统计不用填表，系统里已有数据",
    "学习强国不作积分排名要求，大家自愿学习",
    "按规定，严禁在工作群中要求“收到请回复”",
    "下班时间原则上不发工作信息",
    "各单位不得强制要求干部下载注册App",
    "不得将点赞、转发数量作为考核依据",
    "此条无需回复",
    "看到即可，不用回复",
    "上级明确：不得要求基层填报重复报表",
    "即日起取消各类定位签到",
    "大家不必截图上传，线下开展即可",
    "请勿在群内刷屏回复“收到”",
    "今后会议通知不再要求接龙确认",
    "请问这个通知需要回复收到吗？",
    "昨天说的每天打卡，是哪个部门要求的？",
    "网格通上的签到现在还要做吗？",
    "听说别的乡镇已经取消打卡了，我们这边呢？",
    "有同事反映每天要截图好几次，能不能简化一下",
    "上周县里开会强调，严禁把点赞转发数量作为考核依据",
    "转发：关于规范工作群管理的通知（不得要求回复收到、不得要求打卡留痕）",
)
NEG_CAMPAIGN = (
    "关于整治“指尖上的形式主义”的通知已下发，各单位工作群一律不得要求打卡接龙、即时回复",
    "按照整治要求，本群今后只发工作通知，不要求回复收到",
    "经研究，本群将于近期解散，相关工作转入{g}",
)


def negative(r: random.Random, campaign: bool) -> str:
    if campaign and r.random() < 0.35:
        t = pick(r, NEG_CAMPAIGN).format(g="工作群")
    else:
        t = pick(r, NEGATIVES)
    return noisy(t, r, 0.5) if r.random() < 0.5 else t


WORK_T = (
    "{name}，{file}我已经发你邮箱了",
    "下午的会改到{place}了",
    "{vill}的{topic}情况我明天去核实一下",
    "这个事情我跟{title}汇报过了",
    "明天谁去县里开会？",
    "{topic}的文件在哪个群里发的？",
    "{vill}今天的{act}已经开展了",
    "车辆明早7点在政府门口集合",
    "{topic}方案初稿出来了，大家看看有没有要修改的",
    "{name}在吗？有个事跟你商量一下",
    "今天下午我在{vill}，有事电话联系",
    "{topic}的数据跟上个月对比有点出入，我再核一下",
    "刚才电话里说的那个事，按程序走就行",
    "{vill}的路灯已经修好了",
    "上午跟{title}一起去了{vill}，群众反映的问题已记录",
    "这周{topic}进度正常",
    "会议材料放在二楼办公室了",
    "{name}，你们村的公示牌做好了吗",
    "{topic}的台账我整理好了，放共享盘里",
    "请假条已经批了",
    "打印机没墨了，谁去领一下",
    "{vill}那边有户人家想咨询{topic}政策，谁比较熟",
    "县里的督查组下周可能过来",
    "明天{act}，{vill}负责后勤",
    "{topic}这块明年预算要早点报",
    "{name}辛苦，材料写得很好",
    "{vill}的项目已经开工了",
    "晚点我把照片整理一下存档",
    "这个表上次已经填过了，格式一样吗？",
    "下周一例会时间不变",
    "{topic}政策有新文件，我转到群里了",
)
CHAT_T = (
    "哈哈哈",
    "[呲牙]",
    "👍👍👍",
    "🌹🌹🌹",
    "领导辛苦了！",
    "说得太好了👍",
    "今天食堂有红烧肉",
    "周末有人去钓鱼吗",
    "生日快乐🎂",
    "恭喜恭喜🎉",
    "早上好☀️",
    "晚安",
    "[玫瑰][玫瑰][玫瑰]",
    "[拳头][拳头][拳头]",
    "辛苦了辛苦了",
    "学习了",
    "点赞👍",
    "这个天真热啊",
    "路上注意安全",
    "谁有充电宝",
    "中午吃啥",
    "[偷笑]",
    "领导讲得好，深受启发",
    "向领导学习！",
    "为{name}点赞👍",
    "{name}太厉害了",
    "今天下雨了，大家出门带伞",
    "好久不见",
    "周末愉快",
    "这个视频太搞笑了",
    "[强][强][强]",
    "{vill}的桃子熟了，欢迎大家来尝",
    "祝贺{name}高升🎉",
    "谁家有小孩要辅导作业的",
    "👏👏👏",
)
FILES = (
    "{topic}工作方案.docx",
    "{topic}情况汇报.doc",
    "{topic}统计表.xlsx",
    "{month}月份{topic}台账.xlsx",
    "{topic}实施细则.pdf",
    "会议签到表.xlsx",
    "{topic}工作简报第{n}期.docx",
    "值班表（{month}月）.xlsx",
)
LINKS = (
    "青山发布｜{topic}工作取得新成效",
    "{topic}政策解读来了！",
    "权威发布：{topic}最新通知",
    "一图读懂{topic}",
    "【视频】{vill}：{topic}见实效",
)


def background_pools(r: random.Random, topics, villages, names, titles, n_work=4000, n_chat=1200):
    """Pools of ordinary work texts, chatter, file and link texts (no demand wording, no bare 收到/好的)."""

    def fill(t):
        return t.format(
            name=pick(r, names),
            file=pick(r, ("方案", "汇报材料", "统计表", "台账", "简报")),
            place=pick(r, lx.PLACES),
            vill=pick(r, villages),
            topic=pick(r, topics),
            title=pick(r, titles),
            act=pick(r, lx.ACTIVITIES),
            month=r.randint(5, 10),
            n=r.randint(1, 30),
        )

    # plain lists (not sets): every template keeps its share, however many slot values it has
    work = [noisy(fill(pick(r, WORK_T)), r, 0.6) for _ in range(n_work)]
    chat = [fill(pick(r, CHAT_T)) for _ in range(n_chat)]
    files = ["[文件] " + fill(pick(r, FILES)) for _ in range(600)]
    links = ["[链接] " + fill(pick(r, LINKS)) for _ in range(400)]
    return work, chat, files, links
