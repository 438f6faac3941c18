"""Finding the inputs (files, folders, .zip archives with bomb limits) and telling their format from
their first bytes / header row. ``--format`` overrides detection."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from zhijian.errors import ImportFormatError
from zhijian.ingest import canonical

#: Zip-bomb limits: an archive member may not expand more than this ratio (members over 1 MB), and an
#: archive may not expand beyond MAX_ZIP_TOTAL bytes in all.
MAX_ZIP_RATIO = 200
MAX_ZIP_TOTAL = 20 << 30

#: Companion files ignored when found inside a folder or archive (media of chat exports, notes).
IGNORED_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".heic",
    ".bmp",
    ".mp4",
    ".mov",
    ".3gp",
    ".opus",
    ".ogg",
    ".mp3",
    ".m4a",
    ".amr",
    ".silk",
    ".aac",
    ".wav",
    ".pdf",
    ".doc",
    ".docx",
    ".vcf",
    ".md",
    ".dat",
    ".webm",
    ".tgs",
    ".ppt",
    ".pptx",
    ".css",
    ".js",
    ".ico",
    ".svg",
    ".ttf",
    ".woff",
    ".woff2",
}

MESSAGE_FORMATS = (
    "canonical_csv",
    "canonical_jsonl",
    "pywxdump_csv",
    "pywxdump_json",
    "wechatmsg_csv",
    "wechatmsg_txt",
    "wechatmsg_html",
    "memotrace_csv",
    "memotrace_xlsx",
    "wecom_json",
    "telegram_json",
    "whatsapp_txt",
    "slack",
    "generic_csv",
    "generic_jsonl",
)
INVENTORY_FORMATS = ("units", "roster", "groups", "apps", "accounts", "memberships")
#: zhijian's own 目录清单 returned with decisions (reader: zhijian.report.roundtrip)
CATALOG_FORMAT = "catalog"
ALL_FORMATS = MESSAGE_FORMATS + INVENTORY_FORMATS + (CATALOG_FORMAT,)
FORMAT_ZH = {
    "canonical_csv": "指尖规范消息 CSV",
    "canonical_jsonl": "指尖规范消息 JSONL",
    "pywxdump_csv": "微信 PyWxDump CSV",
    "pywxdump_json": "微信 PyWxDump JSON",
    "wechatmsg_csv": "微信 留痕/WeChatMsg CSV",
    "wechatmsg_txt": "微信 留痕/WeChatMsg TXT",
    "wechatmsg_html": "微信 留痕/WeChatMsg HTML",
    "memotrace_csv": "微信 MemoTrace CSV",
    "memotrace_xlsx": "微信 MemoTrace XLSX",
    "wecom_json": "企业微信会话存档 JSON",
    "telegram_json": "Telegram JSON",
    "whatsapp_txt": "WhatsApp TXT",
    "slack": "Slack 导出",
    "generic_csv": "通用 CSV（列映射）",
    "generic_jsonl": "通用 JSONL（列映射）",
    "units": "单位表",
    "roster": "花名册",
    "groups": "工作群摸底表",
    "apps": "政务应用摸底表",
    "accounts": "政务公众号摸底表",
    "memberships": "群成员表",
    "catalog": "指尖目录清单（研判结论）",
}


@dataclass
class Input:
    path: Path  # a file, or a folder for Slack exports
    display: str  # what the user named (archive member paths shown as archive.zip/member)
    hint: str = ""  # chat name hint (e.g. from 'WhatsApp Chat - X.zip')
    in_folder: bool = False


def _zip_extract(path: Path, dest: Path, display: str) -> Path:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ImportFormatError(f"zip 文件损坏：{e}", f"corrupt zip archive: {e}", path=display) from None
    with zf:
        total = 0
        infos = zf.infolist()
        for info in infos:
            total += info.file_size
            if (
                info.file_size > 1 << 20
                and info.compress_size
                and info.file_size / info.compress_size > MAX_ZIP_RATIO
            ):
                raise ImportFormatError(
                    f"压缩包成员 {info.filename} 的压缩比异常（{info.file_size // max(info.compress_size, 1)}:1），疑似 zip 炸弹，已拒绝",
                    f"archive member {info.filename} expands {info.file_size // max(info.compress_size, 1)}x: zip bomb refused",
                    path=display,
                    where=info.filename,
                )
        if total > MAX_ZIP_TOTAL:
            raise ImportFormatError(
                f"压缩包解压后共 {total >> 20} MB，超过上限 {MAX_ZIP_TOTAL >> 20} MB",
                f"archive expands to {total >> 20} MB, over the limit of {MAX_ZIP_TOTAL >> 20} MB",
                path=display,
            )
        check_disk(dest.parent, total, display)
        dest.mkdir(parents=True, exist_ok=True)
        written = 0
        for info in infos:
            name = info.filename
            if info.is_dir() or name.startswith("__MACOSX/"):
                continue
            parts = [p for p in Path(name).parts if p not in ("..", "/", "\\") and not p.endswith(":")]
            if not parts:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            limit = info.file_size
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    got = 0
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        got += len(chunk)
                        if got > limit:  # the declared size lied
                            raise ImportFormatError(
                                f"压缩包成员 {name} 的实际大小超过声明大小，疑似 zip 炸弹，已拒绝",
                                f"archive member {name} is larger than declared: zip bomb refused",
                                path=display,
                                where=name,
                            )
                        out.write(chunk)
                    written += got
            except (
                zipfile.BadZipFile,
                zipfile.LargeZipFile,
                OSError,
                EOFError,
                NotImplementedError,
                RuntimeError,
            ) as e:
                raise ImportFormatError(
                    f"zip 成员 {name} 无法解压：{e}", f"cannot extract {name}: {e}", path=display, where=name
                ) from None
    return dest


def check_disk(where: Path, need: int, display: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(where).free
    if need + (64 << 20) > free:
        raise ImportFormatError(
            f"磁盘空间不足：导入约需 {need >> 20} MB，工作区所在磁盘仅剩 {free >> 20} MB",
            f"not enough disk space: the import needs about {need >> 20} MB, {free >> 20} MB free",
            path=display,
        )


def is_slack_dir(d: Path) -> bool:
    return (d / "channels.json").is_file() or (
        (d / "users.json").is_file()
        and any((d / n).is_file() for n in ("groups.json", "mpims.json", "dms.json"))
    )


def expand(paths: list[Path], work: Path) -> list[Input]:
    """Files to import, in the order given; folders walked, archives extracted (with limits)."""
    out: list[Input] = []
    nzip = 0

    def walk(p: Path, display: str, hint: str, in_folder: bool) -> None:
        nonlocal nzip
        if p.is_dir():
            if is_slack_dir(p):
                out.append(Input(p, display, hint, in_folder))
                return
            for child in sorted(p.iterdir()):
                if child.name.startswith((".", "__MACOSX", "~$")):
                    continue
                if child.is_file() and child.suffix.lower() in IGNORED_SUFFIXES:
                    continue
                if child.is_file() and child.name in ("SOURCES.md", "README.txt"):
                    continue
                walk(child, f"{display}/{child.name}", hint, True)
        elif p.suffix.lower() == ".zip":
            nzip += 1
            dest = _zip_extract(p, work / f"zip-{nzip}", display)
            zip_hint = hint or _chat_hint(p.stem)
            walk(dest, display, zip_hint, True)
        elif p.is_file():
            out.append(Input(p, display, hint, in_folder))
        else:
            raise ImportFormatError(f"找不到文件：{p}", f"no such file: {p}", path=display)

    for p in paths:
        p = Path(p)
        if not p.exists():
            raise ImportFormatError(f"找不到文件或目录：{p}", f"no such file or folder: {p}", path=str(p))
        walk(p, str(p), "", False)
    return out


def _chat_hint(stem: str) -> str:
    m = re.match(r"^WhatsApp (?:Chat with|Chat -|聊天 -|聊天记录 -)\s*(.+)$", stem)
    return m.group(1).strip() if m else ""


# ── sniffing ──────────────────────────────────────────────────────────────────────────────────────
_WXTXT_HEAD = re.compile(r"^\ufeff?[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} ")


def _head_text(path: Path, n: int = 65536) -> str:
    with open(path, "rb") as f:
        b = f.read(n)
    for enc in ("utf-8", "gb18030"):
        try:
            return b.decode(enc, errors="strict")
        except UnicodeDecodeError as e:
            if e.start > len(b) - 4:  # cut in the middle of a character
                return b[: e.start].decode(enc, errors="ignore")
    return b.decode("utf-8", errors="replace")


def sniff(inp: Input, mapping: dict[str, str] | None) -> str:
    p = inp.path
    if p.is_dir():
        return "slack"
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from zhijian.report.roundtrip import is_catalog

        if is_catalog(p):
            return CATALOG_FORMAT
    if suffix in (".xlsx", ".xlsm", ".xls", ".csv", ".tsv"):
        from zhijian.ingest import inventory
        from zhijian.ingest.tabular import Sheet

        sh = Sheet(p, quick=True)
        header = sh.raw_header
        hset = {h.strip() for h in header}
        if mapping and all(v.strip() in hset for v in mapping.values() if "." not in v):
            return "generic_csv"
        if canonical.is_canonical(header) and suffix in (".csv", ".tsv"):
            return "canonical_csv"
        if {"MsgSvrID", "type_name"} <= hset and ("msg" in hset or "content" in hset):
            return "pywxdump_csv"
        if {"localId", "Type", "StrContent"} <= hset:
            return "wechatmsg_csv"
        if {"消息ID", "类型", "发送人", "时间", "内容"} <= hset:
            return "memotrace_xlsx" if suffix in (".xlsx", ".xlsm") else "memotrace_csv"
        kind = inventory.classify(sh.header)
        if kind:
            return kind
        if mapping:
            return "generic_csv"
        raise ImportFormatError(
            f"无法识别表格格式（表头：{', '.join(h for h in header[:12] if h)}）。"
            "若是其他来源的聊天记录，请用 --map 指定列，如 --map ts=时间,sender=发送人,text=内容",
            f"unknown spreadsheet format (header: {header[:12]}); use --map for a generic chat file",
            path=inp.display,
            where="第 1 行（表头）",
        )
    head = _head_text(p)
    stripped = head.lstrip("\ufeff \t\r\n")
    first = stripped.split("\n", 1)[0].strip("\r")
    if suffix in (".txt", ""):
        from zhijian.ingest.whatsapp import _INVIS, HEADER

        if _WXTXT_HEAD.match(first) and not HEADER.match(first.translate(_INVIS)):
            return "wechatmsg_txt"
        # a note or a blank line may precede the first message line
        lines = [ln.strip("\r") for ln in stripped.split("\n")[:10] if ln.strip()]
        if any(HEADER.match(ln.translate(_INVIS)) for ln in lines[:5]):
            return "whatsapp_txt"
    if suffix in (".json", ".jsonl", ".ndjson", ".txt", ".js") and stripped[:1] in ("{", "["):
        return _sniff_json(inp, stripped, mapping)
    if suffix in (".html", ".htm"):
        if "chatMessages" in head or "const chatMessages" in _head_text(p, 1 << 20):
            return "wechatmsg_html"
        raise ImportFormatError(
            "无法识别的 HTML 文件（不是留痕/WeChatMsg 导出）",
            "unknown HTML file: not a WeChatMsg export",
            path=inp.display,
        )
    raise ImportFormatError(
        f"无法识别文件格式（扩展名 {suffix or '无'}）。支持：{', '.join(FORMAT_ZH[f] for f in ALL_FORMATS)}；"
        "可用 --format 指定",
        f"unknown file format (suffix {suffix or 'none'}); use --format to force one of {', '.join(ALL_FORMATS)}",
        path=inp.display,
        where="文件开头",
    )


def _sniff_json(inp: Input, head: str, mapping: dict[str, str] | None) -> str:
    first_line = head.split("\n", 1)[0]
    # one object per line?
    try:
        obj = json.loads(first_line)
        jsonl = (
            isinstance(obj, dict)
            and len(head.split("\n", 2)) > 1
            or inp.path.suffix.lower() in (".jsonl", ".ndjson")
        )
    except ValueError:
        obj, jsonl = None, False
    if isinstance(obj, dict) and jsonl:
        keys = set(obj)
        if {"message_id", "group_id", "ts"} <= keys:
            return "canonical_jsonl"
        if "msgid" in keys and ("msgtype" in keys or "action" in keys):
            return "wecom_json"
        if mapping:
            return "generic_jsonl"
    h = head[:65536]
    if '"conversations"' in h and '"role"' in h:
        raise ImportFormatError(
            "这是留痕导出的大模型训练数据 JSON（无时间、消息已合并），无法用于分析；请改用 CSV/TXT/HTML 导出",
            "this is WeChatMsg's LLM-training JSON (no timestamps, merged messages): export CSV/TXT/HTML instead",
            path=inp.display,
        )
    if '"msgid"' in h and ('"msgtype"' in h or '"action"' in h):
        return "wecom_json"
    if ('"chats"' in h and ('"about"' in h or '"personal_information"' in h)) or (
        '"messages"' in h and ('"date_unixtime"' in h or '"date"' in h) and '"type"' in h
    ):
        return "telegram_json"
    if '"MsgSvrID"' in h or '"type_name"' in h:
        return "pywxdump_json"
    if '"ts"' in h and '"type"' in h and ('"message"' in h or '"text"' in h):
        return "slack"
    if mapping:
        return "generic_jsonl"
    raise ImportFormatError(
        "无法识别的 JSON 文件（不是 Telegram、企业微信会话存档、Slack、PyWxDump 或指尖规范格式）；可用 --format 指定",
        "unknown JSON file (not Telegram, WeCom archive, Slack, PyWxDump or canonical); use --format",
        path=inp.display,
        where="文件开头",
    )
