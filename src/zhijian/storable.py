"""Text that every store accepts: neither SQLite, PostgreSQL, Parquet (pyarrow) nor a DOCX can hold a
lone UTF-16 surrogate (what a JSON escape such as ``\\ud83d`` without its partner decodes to: an emoji
cut in half), and PostgreSQL refuses NUL. One repair for all of them, so that a text typed into the
web application and the same text imported from an export are stored alike."""

from __future__ import annotations


def without_lone_surrogates(v: str) -> str:
    """``v`` with each lone surrogate replaced by U+FFFD (a surrogate pair written as two code points
    becomes the character it encodes)."""
    return v.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def repaired(v: str) -> str | None:
    """``v`` with its lone surrogates replaced by U+FFFD, or None when it has none (the common case,
    found by one UTF-8 encode: only a surrogate makes it fail)."""
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return without_lone_surrogates(v)
    return None


def storable_text(v: str | None) -> str:
    """``v`` (None as '') without NUL characters and with lone surrogates replaced by U+FFFD."""
    v = (v or "").replace("\x00", "")
    r = repaired(v)
    return v if r is None else r
