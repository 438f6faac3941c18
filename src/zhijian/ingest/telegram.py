"""Telegram Desktop "Export chat history" → Machine-readable JSON (research/formats.md §4): a single
chat (``{name, type, id, messages}``) or a whole account (``chats.list`` and ``left_chats.list``:
every chat is imported). ``date_unixtime`` is UTC; ``date`` alone is the exporting PC's local time.

Both shapes are streamed (:class:`~zhijian.ingest.jsonstream.JsonReader`): one message is decoded at a
time, so memory stays flat for multi-gigabyte account exports."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from zhijian.errors import ImportFormatError
from zhijian.ingest.common import RawSink, detect_encoding, open_text, parse_local
from zhijian.ingest.jsonstream import JsonReader

MEDIA_KIND = {
    "sticker": "other",
    "video_message": "video",
    "video_file": "video",
    "animation": "video",
    "voice_message": "voice",
    "audio_file": "voice",
}
_HEAD_KEYS = ("name", "type", "id")


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "".join(
            x if isinstance(x, str) else str(x.get("text", "")) if isinstance(x, dict) else "" for x in v
        )
    return ""


class _Reader:
    """State of one file: the sink, the chats seen, the message being read (for error messages)."""

    def __init__(self, run, path, sink: RawSink):
        self.run, self.path, self.sink = run, path, sink
        self.chats: list[str] = []
        self.tz = run.export_tz

    def _ts(self, m: dict) -> int | None:
        """Microseconds since the epoch: ``date_unixtime`` (UTC), else ``date`` read in the export zone."""
        u = m.get("date_unixtime")
        if u is not None:
            try:
                v = float(u)
            except (TypeError, ValueError):
                v = 0
            if 0 < v < 7_000_000_000:
                return int(v * 1_000_000)
        if m.get("date"):
            d = parse_local(str(m["date"]))
            if d is not None:
                return round(d.replace(tzinfo=self.tz).astimezone(UTC).timestamp() * 1_000_000)
        return None

    def message(self, m: Any, cid: str, cname: str, mi: int) -> None:
        if not isinstance(m, dict):
            self.run.skip(self.path, f"会话“{cname}”第 {mi} 条", "不是 JSON 对象")
            return
        ts = self._ts(m)
        if ts is None:
            self.run.skip(self.path, f"会话“{cname}”第 {mi} 条", "缺少 date / date_unixtime")
            return
        get = m.get
        mtype = get("type")
        t = get("text")
        text = t if isinstance(t, str) else _text(t)
        ments: list[str] = []
        ents = get("text_entities")
        if ents and isinstance(ents, list):
            for e in ents:
                if isinstance(e, dict):
                    et = e.get("type")
                    if et == "mention":
                        ments.append(str(e.get("text", "")).lstrip("@"))
                    elif et == "mention_name":
                        ments.append(str(e.get("user_id") and f"user{e['user_id']}" or e.get("text", "")))
        if mtype == "message":
            kind = "text"
            if get("photo"):
                kind = "image"
            elif get("media_type"):
                kind = MEDIA_KIND.get(str(m["media_type"]), "file")
            elif get("file"):
                kind = "file"
            elif get("poll"):
                p = m["poll"] if isinstance(m["poll"], dict) else {}
                text = text or str(p.get("question", ""))
            elif get("location_information") or get("contact_information"):
                kind = "other"
            if kind == "text" and not text.strip():
                kind = "other"
            sender_key, sender_name = get("from_id"), get("from")
        elif mtype == "service":
            kind = "system"
            action = str(get("action") or "")
            actor = str(get("actor") or "")
            text = text or " ".join(x for x in (actor, action) if x)
            sender_key, sender_name = get("actor_id"), get("actor")
        else:
            self.run.skip(self.path, f"会话“{cname}”第 {mi} 条", f"不支持的消息类型 {mtype!r}")
            return
        mid = get("id")
        reply = get("reply_to_message_id")
        self.sink.row(
            None,
            None if mid is None else str(mid),
            cid,
            cname,
            str(sender_key) if sender_key else None,
            str(sender_name) if sender_name else None,
            ts,
            kind,
            text,
            None if reply is None else str(reply),
            None,
            ments,
            False,
            bool(get("forwarded_from")),
        )

    def chat(self, r: JsonReader, head: dict[str, Any], ci: int) -> None:
        """The members of a chat object from the cursor on (``head`` holds keys already read).
        Messages are read as they come; if ``name``/``id`` follow them, the rows are re-keyed."""
        provisional = f"{self.path.stem}#{ci}"
        used: tuple[str, str] | None = None
        saw_messages = False
        for key in r.members():
            if key in _HEAD_KEYS:
                head[key] = r.value()
            elif key == "messages" and r.peek() == "[":
                saw_messages = True
                used = self._key(head, ci) if "id" in head or "name" in head else (provisional, provisional)
                cid, cname = used
                for mi, m in enumerate(r.values(f"会话“{cname}”"), 1):
                    self.message(m, cid, cname, mi)
            else:
                r.skip()
        self.finish_chat(head, ci, used, saw_messages)

    def _key(self, head: dict[str, Any], ci: int) -> tuple[str, str]:
        cid = str(head.get("id", "") if head.get("id") is not None else "") or f"{self.path.stem}#{ci}"
        name = head.get("name")
        cname = str(name or "") or ("Saved Messages" if head.get("type") == "saved_messages" else cid)
        return cid, cname

    def finish_chat(self, head: dict[str, Any], ci: int, used: tuple[str, str] | None, saw: bool) -> None:
        final = self._key(head, ci)
        self.chats.append(final[1])
        if not saw:
            self.run.skip(self.path, f"第 {ci} 个会话", "会话中没有 messages 数组")
            return
        if used is not None and used != final:  # name/id came after the messages
            self.sink.flush()
            self.run.db.execute(
                "UPDATE raw SET chat_key = ?, chat_name = ? WHERE file_no = ? AND chat_key = ? AND source = 'telegram_json'",
                [final[0], final[1], self.run.file_no, used[0]],
            )


def telegram_json(run, inp) -> tuple[int, str]:
    path = inp.path
    enc = detect_encoding(path)
    sink = RawSink(run.emit, "telegram_json", "telegram")
    rd = _Reader(run, path, sink)
    with open_text(path, enc) as f:
        r = JsonReader(f, path)
        if r.peek() != "{":
            raise ImportFormatError(
                "Telegram 导出应为 JSON 对象",
                "Telegram export must be a JSON object",
                path=str(path),
                where="第 1 行",
            )
        head: dict[str, Any] = {}
        has_chats = False
        ci = 0
        single_used: tuple[str, str] | None = None
        for key in r.members():
            if key == "messages" and r.peek() == "[":
                # a single-chat export: the top object is the chat (name, type, id come first)
                ci += 1
                single_used = rd._key(head, ci) if head else (f"{path.stem}#{ci}", f"{path.stem}#{ci}")
                cid, cname = single_used
                for mi, m in enumerate(r.values(f"会话“{cname}”"), 1):
                    rd.message(m, cid, cname, mi)
            elif key in _HEAD_KEYS:
                head[key] = r.value()
            elif key in ("chats", "left_chats"):
                has_chats = True
                if r.peek() != "{":
                    r.skip()
                    continue
                for k2 in r.members():
                    if k2 != "list" or r.peek() != "[":
                        r.skip()
                        continue
                    for _ in r.items():
                        if r.peek() != "{":
                            r.skip()
                            continue
                        ci += 1
                        r.where = f"第 {ci} 个会话"
                        rd.chat(r, {}, ci)
            else:
                r.skip()
        r.end()
    if single_used is not None:
        rd.finish_chat(head, 1, single_used, True)
    elif not has_chats:
        raise ImportFormatError(
            "Telegram 导出中没有 messages 或 chats",
            "no messages or chats in the Telegram export",
            path=str(path),
        )
    sink.flush()
    if len(rd.chats) > 1:
        run.warn(f"{inp.display}：整个账号的导出，导入了全部 {len(rd.chats)} 个会话")
    return sink.count, enc
