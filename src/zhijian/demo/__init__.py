"""The demo county: a realistic synthetic Chinese county written as the files a county office has.

``generate(out_dir, messages=500_000, seed=7)`` writes a fictional county (南川省 临江市 青山县; above
1.5 M messages several counties of the same city) with its unit tree, cadres, work groups, apps,
public accounts and six months of work-group messages (2026-05-01 … 2026-10-31, a 整治 campaign on
2026-08-01), plus the ground truth of every planted problem. Same seed → byte-identical files.
People, groups and planted events scale linearly with ``messages`` (defaults: ≈1,500 cadres, ≈280
groups, 25 apps, 15 accounts per county at 500k). Generation runs month by month (memory bounded);
background traffic is vectorised with numpy / pyarrow.

Files (what the importer reads; header names are fixed)::

    单位.csv                 单位编码,单位名称,上级单位编码,层级(省/市/县/乡镇/村),类别
    花名册.xlsx              人员编号,姓名,单位(单位名称),职务,微信号,企业微信ID,手机号
    工作群摸底表.xlsx        群ID,群名称,平台(微信/企业微信/钉钉),群主(人员编号),所属单位,建群目的,
                             群类型(固定/临时),建群时间,预计解散时间,成员数,是否备案(是/否),标签(逗号分隔),
                             状态(在用/已解散/已合并),实际解散时间
                             — groups found only in the exports are missing here (unregistered)
    政务应用摸底表.xlsx      应用名称,平台,主办单位,功能(、分隔),强制功能(打卡/积分/在线时长/排名, 逗号分隔),
                             上线时间,最近活跃时间,用户数,是否备案,标签(应急/安保),状态(在用/已关停),关停时间
    政务公众号摸底表.xlsx    账号名称,平台,主办单位,开设时间,最近更新时间,粉丝数,是否备案,功能,状态(在用/已注销),
                             注销时间
    群成员.csv               群ID,微信号,角色(群主/管理员/成员),入群时间,退群时间 (local 'YYYY-MM-DD HH:MM:SS';
                             empty = still in);
                             only the groups of the 摸底表 (member lists come with the inventory)
    messages/YYYY-MM.csv     zhijian canonical CSV: message_id,group_id,group_name,sender_id(微信号),sender_name,
                             ts(ISO 8601 +08:00),kind,text,at_all(true/false),mentions(JSON array of 微信号),
                             reply_to(message_id or empty),forwarded(true/false); rows in time order;
                             system messages have an empty sender

What is planted (rates per county per working day before the campaign in ``messages.RATES``; the
campaign multiplies each demand kind's rate by ``messages.EFFECTS``): roll-call demands ("@所有人 收到请回复",
"请大家接龙报平安") with reply storms of 收到/1/好的/👌/接龙 entries ("3. 张三 已完成", WeChat 接龙 lists) within
minutes, and nags naming those who did not reply; check-in, photo/screenshot, instant-response, data
requests with short deadlines, forward/like/vote and app-usage demands, often several in one message;
urgent night-time flood messages (紧急/应急, exempt); after-hours and weekend demands (the Chinese calendar
decides which days are working days); notices forwarded 县 → 乡镇 → 村 through overlapping groups
("转发：", "请认真落实", signatures, cut tails, delays per hop) and template siblings (same template,
another meeting/date/place); 多头填报 (民政局 and 残联 both asking for 残疾人 figures …); hard negatives
(prohibitions, cancellations, questions, reported speech); replies that quote the demand; a few
messages in traditional characters or with full-width digits; typos, emoji, 【】 prefixes, @人, line
breaks. Background traffic (work talk, chatter, pictures, voice, files, links, stickers, recalls) fills
the rest with weekday and hour-of-day curves.

Dates in the spreadsheets are real date cells. A dissolved group: every membership row has a 退群时间
and its last message is the system message "群主已解散该群聊"; a merged group's members join the
surviving group at the same time (system message "…等N人加入了群聊"). The campaign (from 2026-08-01)
dissolves or merges about 30% of the groups, and 30% of the temporary groups are dissolved within
five days of their end date; the 摸底表 still lists them as registered (it has no status column): the
dissolution is in 群成员.csv and in the messages, where the analysis reads it
(``zhijian.analysis.activity.group_state``), so they are neither zombies nor expired and count in 精简率.

Ground truth (``out_dir/.ground_truth/`` by default — dot-prefixed so that ``zhijian import out_dir``
skips it — or ``truth_dir``; never read by analysis; message ids are the ``message_id`` column)::

    summary.json            seed, sizes, counts per planted category
    message_labels.jsonl    one line per planted message (everything not listed is an ordinary
                            message: work talk, chatter, pictures …, label "normal"):
                            {"message_id","group_id","labels":[roll_call_demand|roll_call_reply|checkin_demand|
                             proof_demand|instant_response_demand|data_request|forward_like_demand|
                             app_usage_demand] or ["normal"],"category","urgent","after_hours",
                             "deadline"?: ISO local time the demand sets,"hard_negative"?: true (prohibitions,
                             cancellations, reported speech: label normal),"multi_case"?: case id}
                            category ∈ demand, urgent, reply, jielong, nag, notice_origin, notice_copy, notice,
                            negative, multi_report, stray_reply. urgent = text contains 紧急/应急/安保.
    reply_storms.jsonl      {"demand_id","group_id","reply_ids":[…],"replies"}: the roll_call_reply messages
                            that a roll-call demand (or a forwarded notice ending in 收到请回复, or a nag) caused
    notice_clusters.jsonl   {"message_id","cluster_id","hop"(0 = first copy),"parent_id","template"}: every
                            notice and every forwarded copy ("转发：", "请认真落实", signatures, cut tails);
                            clusters of size 1 are notices that were not forwarded
    template_siblings.json  [{"template","title_pattern","clusters":[…]}]: clusters written from one template
                            with other meetings/dates/places — different notices, must NOT be merged
    multi_reporting.json    [{"case_id","item","requests":[{"message_id","unit","group_id"}]}]: ≥2 units asking
                            for the same item (残疾人, 低保户 …) within 0–5 days (多头填报)
    after_hours.json        {"demands": ids of non-urgent demands outside working hours (Mon–Fri 08:30–12:00,
                            14:00–17:30, chinesecalendar holidays and 调休 workdays), "urgent_exempt": urgent
                            ones, "exempt_group": ones sent in 应急/安保 groups}
    groups.json             as_of, definitions, and lists computed from the generated data: zombie, inactive,
                            expired_temp (with still_active), empty, off_topic (chat share), unregistered
                            (absent from the 摸底表), not_registered (是否备案=否), no_purpose, duplicates
                            (same work, same unit), planted_overlaps, overlaps (every pair alive at the end
                            with containment ≥ 0.9, flagged planted or not), dissolved_by_campaign,
                            temp_dissolved_on_time, exempt, design (planted intent per group)
    apps.json               per app: forbidden_features (exempt 应急/安保 apps get none), exempt, below_county,
                            duplicate_group, zombie (no activity > 90 days), registered; duplicate_sets
    accounts.json           per account: days_since_post, stale (>14), zombie (>60), cleanup (>90); duplicate_sets
    campaign.json           campaign_date, before/after windows (92 days each), planted rate multipliers,
                            planted changes (roll-call −50%, after-hours −60%, groups −30%) and the realised
                            counts before/after with their change
"""

from zhijian.demo.generate import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
