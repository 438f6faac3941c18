"""Portability lint for rule patterns.

Rules run on RE2 (DuckDB), Java (Spark) and Python ``re`` (tests, tools). Ibis passes patterns
through untranslated, so a pattern must mean the same in all three (research/engines.md, pitfall 3,
measured): ``\\d`` matches full-width digits in Python only, ``\\b`` next to Han characters is a
boundary in RE2 only, ``\\p{Han}`` fails in Java and Python, ``\\u4e00`` fails in RE2, look-around
and back-references do not exist in RE2, ``\\s``/``\\w`` differ on non-ASCII, Java reads ``&&`` and
nested ``[`` inside a class as set operations, possessive quantifiers are an error in RE2.

The lint is a whitelist: only these escapes are allowed: ``\\\\ \\. \\[ \\] \\( \\) \\{ \\} \\* \\+ \\?
\\| \\^ \\$ \\- \\/ \\n \\t \\r``; the only group modifier allowed is ``(?:``.
"""

from __future__ import annotations

import re

ALLOWED_ESCAPES = set("\\.[](){}*+?|^$-/ntr")

_EXPLAIN = {
    "d": r"\d matches full-width digits in Python but not in RE2/Java; write [0-9]",
    "D": r"\D differs between engines; write [^0-9]",
    "b": r"\b next to Han characters is a word boundary in RE2 only",
    "B": r"\B differs between engines",
    "w": r"\w differs on non-ASCII between engines; list the characters",
    "W": r"\W differs on non-ASCII between engines; list the characters",
    "s": r"\s differs between engines (Python includes U+3000); list the characters",
    "S": r"\S differs between engines; list the characters",
    "p": r"\p{...} is spelled differently in Java and unsupported in Python re",
    "P": r"\P{...} is spelled differently in Java and unsupported in Python re",
    "u": r"\u escapes fail in RE2; write the character itself",
    "x": r"\x escapes are spelled differently (RE2 \x{..}); write the character itself",
    "U": r"\U escapes are not portable; write the character itself",
    "N": r"\N is not portable",
    "z": r"\z is not portable",
    "Z": r"\Z is not portable",
    "A": r"\A is not portable",
    "G": r"\G is not portable",
    "Q": r"\Q..\E quoting is not portable",
    "E": r"\Q..\E quoting is not portable",
    "k": r"named back-references do not exist in RE2",
}


def lint_pattern(pattern: str) -> list[str]:
    """Problems that make ``pattern`` mean different things on RE2, Java and Python (empty = ok)."""
    problems: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = -1
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                problems.append("trailing backslash")
                break
            e = pattern[i + 1]
            if e.isdigit():
                problems.append(f"back-reference or octal escape \\{e} (not in RE2)")
            elif e not in ALLOWED_ESCAPES:
                problems.append(_EXPLAIN.get(e, f"escape \\{e} is not in the portable subset"))
            i += 2
            continue
        if in_class:
            if (
                c == "]"
                and i > class_start + 1
                and not (i == class_start + 2 and pattern[class_start + 1] == "^")
            ):
                in_class = False
            elif c == "[":
                if pattern.startswith("[:", i):
                    problems.append("POSIX classes [[:...:]] are not portable")
                else:
                    problems.append("unescaped [ inside a class (Java reads it as a nested class)")
            elif c == "&" and pattern.startswith("&&", i):
                problems.append("&& inside a class is intersection in Java only")
            i += 1
            continue
        if c == "[":
            in_class = True
            class_start = i
            i += 1
            continue
        if c == "(" and pattern.startswith("(?", i):
            if pattern.startswith("(?=", i) or pattern.startswith("(?!", i):
                problems.append("look-ahead is not supported by RE2")
            elif pattern.startswith("(?<=", i) or pattern.startswith("(?<!", i):
                problems.append("look-behind is not supported by RE2")
            elif pattern.startswith("(?P=", i):
                problems.append("back-references are not supported by RE2")
            elif not pattern.startswith("(?:", i):
                problems.append("only (?: ...) groups are portable (no flags, named groups or atomic groups)")
        if c in "*+?}" and i + 1 < n and pattern[i + 1] == "+":
            problems.append("possessive quantifiers are an error in RE2")
        if c == "{" and pattern.startswith("{,", i):
            problems.append("{,n} means {0,n} in Python only; write {0,n}")
        i += 1
    if in_class:
        problems.append("unterminated character class")
    try:
        re.compile(pattern)
    except re.error as e:
        problems.append(f"not a valid regular expression: {e}")
    # dedupe, keep order
    seen: set[str] = set()
    return [p for p in problems if not (p in seen or seen.add(p))]
