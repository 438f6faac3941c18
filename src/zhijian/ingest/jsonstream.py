"""Reading large JSON exports without loading them: a pull reader that walks the outer structure of a
document (objects, arrays, keys) and decodes only the values the caller asks for, one at a time, with
the standard library's C decoder (``json.JSONDecoder.raw_decode``).

Memory holds one value (one message) plus a read buffer, whatever the file size — the whole-account
Telegram export, PyWxDump JSON and WeCom arrays reach gigabytes (research/formats.md §7.11). ijson would
do the same through a per-token event stream; decoding whole messages in C is faster and needs no extra
dependency.

Usage::

    r = JsonReader(f, path)
    if r.peek() == "{":
        for key in r.members():      # positioned at the value of ``key``: consume it
            if key == "messages":
                for n in r.items():  # positioned at element n: consume it
                    msg = r.value()
            else:
                r.skip()
    r.end()

Every structural problem (truncation, a syntax error, a value larger than ``max_value`` characters) is an
:class:`~zhijian.errors.ImportFormatError` naming the file and the record being read (``where``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from zhijian.errors import ImportFormatError

_WS = re.compile(r"[ \t\r\n]*")
#: characters read at a time (tests shrink it to cross buffer boundaries everywhere)
CHUNK = 1 << 20
#: a decode error this close to the end of the buffer may just be a value cut by the buffer boundary
_MARGIN = 64


class JsonReader:
    def __init__(self, f: TextIO, path: Any, *, chunk: int | None = None, max_value: int = 256 << 20):
        self.f = f
        self.path = str(path)
        self.chunk = chunk or CHUNK
        self.max_value = max_value
        self.buf = ""
        self.i = 0
        self.eof = False
        #: what is being read, for error messages ("第 12 条消息"); callers keep it current
        self.where = ""
        self._line0 = 1  # line number of buf[0]
        self._dec = json.JSONDecoder()
        self._first = True

    # ── buffer ────────────────────────────────────────────────────────────────────────────────────
    def _fill(self) -> bool:
        """Read more text (at least as much as is buffered, so refills stay linear); False at EOF."""
        if self.eof:
            return False
        keep = len(self.buf) - self.i
        if keep > self.max_value:
            raise self._error(
                f"单个 JSON 值过大（超过 {self.max_value >> 20} MB）",
                f"a single JSON value exceeds {self.max_value >> 20} MB",
            )
        more = self.f.read(max(self.chunk, keep))
        if not more:
            self.eof = True
            return False
        if self._first:
            self._first = False
            more = more.removeprefix("\ufeff")
            if not more:
                return self._fill()
        self._line0 += self.buf.count("\n", 0, self.i)
        self.buf = self.buf[self.i :] + more
        self.i = 0
        return True

    def _error(self, zh: str, en: str, pos: int | None = None) -> ImportFormatError:
        """An error at ``pos`` (default: the cursor), named by line and by the record being read."""
        line = self._line0 + self.buf.count("\n", 0, self.i if pos is None else min(pos, len(self.buf)))
        where = f"第 {line} 行" + (f"，{self.where}" if self.where else "")
        return ImportFormatError(zh, en, path=self.path, where=where)

    def _truncated(self) -> ImportFormatError:
        return self._error(
            "JSON 不完整：文件在此处结束（文件被截断？）", "truncated JSON: the file ends here"
        )

    # ── tokens ────────────────────────────────────────────────────────────────────────────────────
    def peek(self) -> str:
        """The next non-blank character without consuming it; '' at the end of the file."""
        while True:
            self.i = _WS.match(self.buf, self.i).end()
            if self.i < len(self.buf):
                return self.buf[self.i]
            if not self._fill():
                return ""

    def expect(self, ch: str) -> None:
        c = self.peek()
        if c != ch:
            if not c:
                raise self._truncated()
            raise self._error(
                f"JSON 语法错误：此处应为 {ch!r}，实为 {c!r}", f"invalid JSON: expected {ch!r}, found {c!r}"
            )
        self.i += 1

    def value(self) -> Any:
        """Decode the next value (refilling the buffer until it is complete)."""
        if not self.peek():
            raise self._truncated()
        while True:
            try:
                obj, end = self._dec.raw_decode(self.buf, self.i)
            except json.JSONDecodeError as e:
                near_end = e.pos >= len(self.buf) - _MARGIN or e.msg.startswith("Unterminated string")
                if near_end and self._fill():
                    continue
                if near_end:
                    raise self._error(
                        f"JSON 不完整（{e.msg}；文件被截断？）", f"truncated JSON ({e.msg})", e.pos
                    ) from None
                raise self._error(f"JSON 语法错误（{e.msg}）", f"invalid JSON ({e.msg})", e.pos) from None
            if not isinstance(obj, dict | list | str) and len(self.buf) - end < _MARGIN and self._fill():
                continue  # a number near the buffer's end ("2." + "5") may go on in the next read
            self.i = end
            return obj

    def skip(self) -> None:
        """Consume the next value without keeping it (containers element by element)."""
        c = self.peek()
        if c == "{":
            for _ in self.members():
                self.skip()
        elif c == "[":
            for _ in self.items():
                self.skip()
        else:
            self.value()

    def members(self) -> Iterator[str]:
        """Keys of the object at the cursor; after each key the caller consumes its value."""
        self.expect("{")
        if self.peek() == "}":
            self.i += 1
            return
        while True:
            if self.peek() != '"':
                self.expect('"')
            key = self.value()
            self.expect(":")
            yield key
            c = self.peek()
            self.i += 1
            if c == ",":
                continue
            if c == "}":
                return
            self.i -= 1
            self.expect("}")

    def items(self) -> Iterator[int]:
        """Indexes (from 0) of the array at the cursor; the caller consumes each element."""
        self.expect("[")
        if self.peek() == "]":
            self.i += 1
            return
        n = 0
        while True:
            yield n
            n += 1
            c = self.peek()
            self.i += 1
            if c == ",":
                continue
            if c == "]":
                return
            self.i -= 1
            self.expect("]")

    def values(self, label: str = "") -> Iterator[Any]:
        """The decoded elements of the array at the cursor (the fast path of ``items`` + ``value``:
        one C decode per element while the buffer holds it whole). Errors name ``label第 n 条``."""
        ws, dec = _WS.match, self._dec.raw_decode
        self.where = f"{label}第 1 条"
        self.expect("[")
        if self.peek() == "]":
            self.i += 1
            return
        n = 0
        while True:
            buf, i = self.buf, self.i
            try:
                obj, end = dec(buf, i)
                ok = isinstance(obj, dict | list | str) or len(buf) - end >= _MARGIN or self.eof
            except json.JSONDecodeError:
                ok = False
            n += 1
            if ok:
                self.i = end
            else:  # cut by the buffer, or an error: the careful path refills or names the record
                self.where = f"{label}第 {n} 条"
                obj = self.value()
            yield obj
            buf = self.buf
            i = ws(buf, self.i).end()
            if i < len(buf) and buf[i] == ",":
                self.i = ws(buf, i + 1).end()
                if self.i >= len(buf):
                    self.where = f"{label}第 {n + 1} 条"
                    self.peek()
                continue
            self.i = i
            self.where = f"{label}第 {n + 1} 条"
            c = self.peek()
            self.i += 1
            if c == ",":
                self.peek()
                continue
            if c == "]":
                return
            self.i -= 1
            self.expect("]")

    def end(self) -> None:
        """Nothing but blanks may follow the document."""
        c = self.peek()
        if c:
            raise self._error("JSON 在文档结束后还有多余内容", "unexpected content after the JSON document")
