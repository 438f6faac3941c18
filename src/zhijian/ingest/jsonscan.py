"""Walking the outer structure of a large JSON file by bytes, without decoding what lies inside: the
byte range of a nested array is found by a vectorised scan (numpy, a few megabytes at a time) that
tells structural brackets from brackets inside strings, so a reader can hand that range to DuckDB's
parallel JSON reader instead of decoding every element in Python.

:class:`ByteDoc` reads UTF-8 bytes (an ``mmap``); it understands exactly the JSON grammar of the outer
levels it walks (objects, keys, scalars) and, for a container it skips, balanced brackets outside
strings. What it does not check (the inside of a skipped container) the consumer's JSON reader checks.
Anything unexpected raises :class:`NotWalkable`: the caller then reads the file with the streaming
reader (:mod:`zhijian.ingest.jsonstream`), which names the record at fault."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

#: bytes scanned at a time: small enough that numpy's temporaries stay in cache and memory stays flat
CHUNK = 4 << 20
_WS = b" \t\r\n"
_SCALAR = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null")
_QUOTE, _BACKSLASH = 0x22, 0x5C


class NotWalkable(Exception):
    """The bytes are not the JSON shape the walker expected (or not JSON at all)."""


class ByteDoc:
    def __init__(self, buf: Any, *, chunk: int = CHUNK):
        self.buf = buf
        self.n = len(buf)
        self.chunk = chunk
        self._dec = json.JSONDecoder()

    # ── tokens ────────────────────────────────────────────────────────────────────────────────────
    def ws(self, p: int) -> int:
        """The first position at or after ``p`` that is not JSON whitespace."""
        buf, n = self.buf, self.n
        while p < n and buf[p] in _WS:
            p += 1
        return p

    def byte(self, p: int) -> int:
        if p >= self.n:
            raise NotWalkable(f"unexpected end of file at byte {p}")
        return self.buf[p]

    def string(self, p: int) -> tuple[str, int]:
        """The string starting at ``p`` (a quote) and the position after it."""
        if self.byte(p) != _QUOTE:
            raise NotWalkable(f"expected a string at byte {p}")
        buf = self.buf
        q = p + 1
        while True:
            q = buf.find(b'"', q)
            if q < 0:
                raise NotWalkable(f"unterminated string at byte {p}")
            k = q - 1
            while buf[k] == _BACKSLASH:
                k -= 1
            if (q - 1 - k) % 2 == 0:  # an even run of backslashes: the quote is not escaped
                break
            q += 1
        try:
            return json.loads(bytes(buf[p : q + 1]).decode("utf-8")), q + 1
        except (ValueError, UnicodeDecodeError) as e:
            raise NotWalkable(f"bad string at byte {p}: {e}") from None

    def value(self, p: int) -> tuple[Any, int]:
        """The value starting at ``p``, decoded, and the position after it (containers are decoded
        whole: for the small values around the large ones)."""
        c = self.byte(p)
        if c == _QUOTE:
            return self.string(p)
        if c in b"[{":
            end = self.close(p)
            try:
                return json.loads(bytes(self.buf[p:end]).decode("utf-8")), end
            except (ValueError, UnicodeDecodeError, RecursionError) as e:
                raise NotWalkable(f"bad value at byte {p}: {e}") from None
        m = _SCALAR.match(self.buf, p)
        if not m:
            raise NotWalkable(f"expected a JSON value at byte {p}")
        return json.loads(m.group()), m.end()

    def skip(self, p: int) -> int:
        """The position after the value starting at ``p``, decoding only scalars."""
        if self.byte(p) in b"[{":
            return self.close(p)
        return self.value(p)[1]

    # ── containers ────────────────────────────────────────────────────────────────────────────────
    def close(self, p: int) -> int:
        """``p`` is at ``[`` or ``{``: the position after its matching bracket. Brackets inside strings
        are told apart by the parity of the unescaped quotes before them."""
        if self.byte(p) not in b"[{":
            raise NotWalkable(f"expected [ or {{ at byte {p}")
        buf, n = self.buf, self.n
        pos, depth, in_str = p, 0, False
        while pos < n:
            end = min(pos + self.chunk, n)
            while end < n and buf[end - 1] == _BACKSLASH:  # never cut a run of backslashes
                end += 1
            c = np.frombuffer(buf, np.uint8, end - pos, pos)
            q = np.flatnonzero(c == _QUOTE)
            if len(q):
                q = self._unescaped(c, q, pos)
            # [ ] { } are 0x5B 0x5D 0x7B 0x7D: clearing bit 0x20 folds braces onto brackets; an
            # opener has bit 0x02 set, a closer not
            folded = c & 0xDF
            t = np.flatnonzero((folded == 0x5B) | (folded == 0x5D))
            if len(t):
                inside = (np.searchsorted(q, t) + in_str) & 1
                t = t[inside == 0]
            if len(t):
                delta = np.where(c[t] & 2, 1, -1)
                d = depth + np.cumsum(delta)
                hit = np.flatnonzero(d == 0)
                if len(hit):
                    return pos + int(t[hit[0]]) + 1
                depth = int(d[-1])
            in_str ^= bool(len(q) & 1)
            pos = end
        raise NotWalkable(f"the container opened at byte {p} is not closed")

    def pretty_close(self, p: int) -> int | None:
        """``p`` is at ``[`` or ``{`` that ends its line: in a consistently indented (pretty-printed)
        file the matching bracket is the first that starts a line indented as the opening line is,
        found among the closing brackets of its kind (numpy, a chunk at a time) instead of by a scan
        of every bracket and quote. None when the container is not laid out so.

        A guess the consumer must check by parsing the range: were the layout inconsistent, the
        range would end at a bracket that is not the matching one, leaving containers open or
        closing one never opened, and a JSON parser rejects it (a raw newline, which the search
        relies on, cannot occur inside a JSON string)."""
        buf, n = self.buf, self.n
        c = self.byte(p)
        q = p + 1
        while q < n and buf[q] in b" \t\r":
            q += 1
        if q >= n or buf[q] != 0x0A:
            return None
        ls = buf.rfind(b"\n", 0, p) + 1
        k = ls
        while k < p and buf[k] in b" \t":
            k += 1
        indent = bytes(buf[ls:k])
        closer = 0x5D if c == 0x5B else 0x7D
        # the first closer preceded by a newline and the indentation: the closers of a chunk, then
        # their preceding bytes checked at once (2x a substring search for newline + indentation +
        # closer, a needle of common bytes that lets the search skip little)
        arr = np.frombuffer(buf, np.uint8, n)
        lead = len(indent) + 1
        pos, step = q, min(self.chunk, 1 << 20)  # (chunks of 1 MB stay in the cache: 1.3x of 4 MB)
        while pos < n:
            end = min(pos + step, n)
            cand = np.flatnonzero(arr[pos:end] == closer) + pos
            cand = cand[cand - lead >= q]
            ok = arr[cand - lead] == 0x0A
            for j, b in enumerate(indent):
                ok &= arr[cand - lead + 1 + j] == b
            hit = np.flatnonzero(ok)
            if len(hit):
                return int(cand[hit[0]]) + 1
            pos = end
        return None

    def _unescaped(self, c: np.ndarray, q: np.ndarray, pos: int) -> np.ndarray:
        """The quotes of ``q`` (indexes into chunk ``c`` at ``pos``) not escaped by an odd run of
        backslashes (runs may begin before the chunk)."""
        prev = np.empty(len(q), bool)
        prev[q > 0] = c[q[q > 0] - 1] == _BACKSLASH
        if q[0] == 0:
            prev[0] = pos > 0 and self.buf[pos - 1] == _BACKSLASH
        cand = np.flatnonzero(prev)
        if not len(cand):
            return q
        buf = self.buf
        keep = np.ones(len(q), bool)
        for i in cand.tolist():
            k = pos + int(q[i]) - 1
            run = 0
            while k >= 0 and buf[k] == _BACKSLASH:
                run += 1
                k -= 1
            keep[i] = run % 2 == 0
        return q[keep]

    def members(self, p: int) -> Members:
        """Iterate the members of the object at ``p``: see :class:`Members`."""
        return Members(self, p)

    def items(self, p: int) -> Items:
        """Iterate the elements of the array at ``p``: see :class:`Items`."""
        return Items(self, p)


class Members:
    """``for key, vpos in it:`` — before the next step the caller sets ``it.end`` to the position
    after the value at ``vpos`` (from :meth:`ByteDoc.skip`, :meth:`ByteDoc.value`, …). After the loop
    ``it.end`` is the position after the closing brace."""

    def __init__(self, doc: ByteDoc, p: int):
        if doc.byte(p) != ord("{"):
            raise NotWalkable(f"expected an object at byte {p}")
        self.doc, self.p, self.end = doc, p, -1

    def __iter__(self) -> Iterator[tuple[str, int]]:
        doc = self.doc
        p = doc.ws(self.p + 1)
        if doc.byte(p) == ord("}"):
            self.end = p + 1
            return
        while True:
            key, p = doc.string(p)
            p = doc.ws(p)
            if doc.byte(p) != ord(":"):
                raise NotWalkable(f"expected ':' at byte {p}")
            vpos = doc.ws(p + 1)
            self.end = -1
            yield key, vpos
            if self.end < 0:
                raise NotWalkable("the caller did not consume a value")  # a programming error
            p = doc.ws(self.end)
            c = doc.byte(p)
            if c == ord("}"):
                self.end = p + 1
                return
            if c != ord(","):
                raise NotWalkable(f"expected ',' or '}}' at byte {p}")
            p = doc.ws(p + 1)


class Items:
    """``for vpos in it:`` — as :class:`Members`, for the elements of an array."""

    def __init__(self, doc: ByteDoc, p: int):
        if doc.byte(p) != ord("["):
            raise NotWalkable(f"expected an array at byte {p}")
        self.doc, self.p, self.end = doc, p, -1

    def __iter__(self) -> Iterator[int]:
        doc = self.doc
        p = doc.ws(self.p + 1)
        if doc.byte(p) == ord("]"):
            self.end = p + 1
            return
        while True:
            self.end = -1
            yield p
            if self.end < 0:
                raise NotWalkable("the caller did not consume a value")
            p = doc.ws(self.end)
            c = doc.byte(p)
            if c == ord("]"):
                self.end = p + 1
                return
            if c != ord(","):
                raise NotWalkable(f"expected ',' or ']' at byte {p}")
            p = doc.ws(p + 1)


# -- cutting a pretty-printed array into pieces DuckDB reads in parallel --------------------------
#: a large JSON array is read from pieces of at least this many bytes, one per DuckDB thread: DuckDB
#: reads one JSON array file in one thread, and the SQL that maps the records runs in that thread too
PIECE_MIN_BYTES = 16 << 20


def split_points(buf, start: int, end: int, pieces: int) -> list[tuple[int, int]]:
    """Up to ``pieces`` byte ranges covering the elements of the array ``buf[start:end]`` (brackets
    included), each to be read as an array of its own (``"["`` and ``"]"`` added where cut).

    A cut is made after a newline near each target offset where two elements of a pretty-printed
    array meet: ``…},⏎{…`` or ``…}⏎,{…`` with the ``{`` (or ``,``) indented as the first element
    is. A raw newline cannot occur inside a JSON string, so a cut is never inside one, and with
    consistent indentation never inside a nested container (Telegram writes the entities of a
    message as an indented array of objects). Were it inside one all the same, the first piece would
    end with containers left open and DuckDB would reject it: the streaming reader then runs.
    Minified arrays (no newline before the first element) stay whole."""
    lo = start + 1  # the first element's bytes start after "["
    first = lo
    while first < end and buf[first] in _WS:
        first += 1
    nl = buf.rfind(b"\n", lo, first)
    if nl < 0:
        return [(lo, end - 1)]
    indent = first - nl - 1
    out: list[tuple[int, int]] = []
    size = end - start
    for k in range(1, pieces):
        q = max(lo, start + size * k // pieces) - 1
        stop = min(end - 1, q + (4 << 20))
        while True:
            q = buf.find(b"\n", q + 1, stop)
            if q < 0:
                break
            b = q + 1  # the first non-blank byte after the newline
            while b < end and buf[b] in b" \t":
                b += 1
            if b - q - 1 != indent:
                continue
            a = q  # the last non-blank byte before it
            while a > lo and buf[a - 1] in _WS:
                a -= 1
            if buf[a - 1] == ord(",") and buf[b] == ord("{") and a - 2 > lo:
                out.append((lo, a - 1))
                lo = b
                break
            if buf[a - 1] == ord("}") and buf[b] == ord(","):
                c = b + 1
                while c < end and buf[c] in _WS:
                    c += 1
                if buf[c] == ord("{"):
                    out.append((lo, a))
                    lo = c
                    break
        if q < 0:
            break
    out.append((lo, end - 1))  # up to the final "]"
    return out


def split_for_threads(buf, start: int, end: int, threads: int) -> list[tuple[int, int]]:
    """:func:`split_points` of the array ``buf[start:end]`` into one piece per thread, each of at
    least :data:`PIECE_MIN_BYTES`."""
    return split_points(buf, start, end, max(1, min(threads, (end - start) // PIECE_MIN_BYTES)))


def copy_range(src: Path, start: int, end: int, dest: Path, head: bytes = b"", tail: bytes = b"") -> None:
    """``head``, bytes ``start:end`` of ``src`` and ``tail`` into a new file ``dest`` (the bytes in
    the kernel where it can)."""
    with open(src, "rb") as fi, open(dest, "wb") as fo:
        fo.write(head)
        fo.flush()
        left, off = end - start, start
        try:
            while left > 0:
                n = os.copy_file_range(fi.fileno(), fo.fileno(), left, off)
                if n <= 0:
                    break
                off, left = off + n, left - n
        except OSError:  # another file system, or no copy_file_range: copy through user space
            pass
        fo.seek(0, os.SEEK_END)
        fi.seek(off)
        while left > 0:
            b = fi.read(min(left, 1 << 22))
            if not b:
                raise OSError(f"{src} shrank while it was read")
            fo.write(b)
            left -= len(b)
        fo.seek(0, os.SEEK_END)
        fo.write(tail)
