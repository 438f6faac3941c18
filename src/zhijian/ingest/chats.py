"""Registry of the chat-export readers: format name -> handler(run, input) -> (records, encoding)."""

from __future__ import annotations

from zhijian.ingest import generic, slack, telegram, wechat, wecom, whatsapp

HANDLERS: dict = {
    "pywxdump_csv": wechat.pywxdump_csv,
    "pywxdump_json": wechat.pywxdump_json,
    "wechatmsg_csv": wechat.wechatmsg_csv,
    "wechatmsg_txt": wechat.wechatmsg_txt,
    "wechatmsg_html": wechat.wechatmsg_html,
    "memotrace_csv": wechat.memotrace_csv,
    "memotrace_xlsx": wechat.memotrace_xlsx,
    "wecom_json": wecom.wecom_json,
    "telegram_json": telegram.telegram_json,
    "whatsapp_txt": whatsapp.whatsapp_txt,
    "slack": slack.slack,
    "generic_csv": generic.generic_csv,
    "generic_jsonl": generic.generic_jsonl,
}
