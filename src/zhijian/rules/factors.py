"""Required literal factors of a regular expression, for cheap engine-side prefilters.

``required_factors(p)`` returns a set of strings such that every string matched by ``p`` contains
at least one of them (or None when no such set is known). An alternation of plain literals is
searched by RE2 and Java at memory speed, whereas a union of the full rule patterns makes RE2's
DFA run out of memory and fall back to the slow NFA (measured: 1,600 msg/s vs 27,000 msg/s).
This is the classic trigram/required-substring idea of code search engines, on Python's regex
parser (the portable subset means the same on RE2 and Java, see lint.py).
"""

from __future__ import annotations

import itertools
import re._constants as C  # noqa: N812
import re._parser as P  # noqa: N812

_MAX = 64  # largest exact set kept while expanding alternations
_CLASS_MAX = 32  # largest character class expanded to single characters


def _better(a: set[str], b: set[str] | None) -> bool:
    """Is factor set ``a`` a better prefilter than ``b``? (longer shortest string, then fewer strings)"""
    if b is None:
        return True
    ka = (min(map(len, a)), -len(a))
    kb = (min(map(len, b)), -len(b))
    return ka > kb


def _class_chars(items) -> set[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            chars.add(chr(av))
        elif op is C.RANGE:
            lo, hi = av
            if hi - lo + 1 > _CLASS_MAX:
                return None
            chars.update(chr(c) for c in range(lo, hi + 1))
        else:  # NEGATE, CATEGORY
            return None
        if len(chars) > _CLASS_MAX:
            return None
    return chars


def _node(op, av) -> tuple[set[str] | None, set[str] | None]:
    """(exact, required) of one parsed node."""
    if op is C.LITERAL:
        s = {chr(av)}
        return s, s
    if op is C.IN:
        chars = _class_chars(av)
        return chars, chars
    if op is C.AT:
        return {""}, None
    if op is C.SUBPATTERN:
        return _seq(av[-1])
    if op is C.BRANCH:
        exacts, reqs = [], []
        for alt in av[1]:
            e, r = _seq(alt)
            exacts.append(e)
            reqs.append(r if r is not None else (e if e and "" not in e else None))
        exact = None
        if all(e is not None for e in exacts):
            u = set().union(*exacts)
            exact = u if len(u) <= _MAX else None
        req = None if any(r is None for r in reqs) else set().union(*reqs)
        return exact, req
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        lo, hi, sub = av
        e, r = _seq(sub)
        if lo == 0:
            if hi == 1 and e is not None:
                return e | {""}, None
            return None, None
        if lo == hi == 1:
            return e, r
        return None, (r if r is not None else (e if e and "" not in e else None))
    return None, None


def _seq(items) -> tuple[set[str] | None, set[str] | None]:
    best: set[str] | None = None
    run: set[str] | None = {""}
    all_exact: set[str] | None = {""}

    def offer(s: set[str] | None) -> None:
        nonlocal best
        if s and "" not in s and _better(s, best):
            best = s

    for op, av in items:
        e, r = _node(op, av)
        offer(r)
        if e is None:
            offer(run)
            run = {""}
            all_exact = None
            continue
        if run is not None and len(run) * len(e) <= _MAX:
            run = {a + b for a, b in itertools.product(run, e)}
        else:
            offer(run)
            run = set(e)
        if all_exact is not None:
            all_exact = (
                {a + b for a, b in itertools.product(all_exact, e)}
                if len(all_exact) * len(e) <= _MAX
                else None
            )
    offer(run)
    return all_exact, best


def required_factors(pattern: str) -> set[str] | None:
    """Strings one of which occurs in every match of ``pattern`` (None if unknown)."""
    exact, req = _seq(P.parse(pattern))
    if req is None and exact and "" not in exact:
        req = exact
    return req


def literal_alternation(strings: set[str]) -> str:
    """A regex matching any of ``strings`` literally (longest first), in the portable subset."""
    out = []
    for s in sorted(strings, key=lambda x: (-len(x), x)):
        out.append(
            "".join("\\" + ch if ch in ".^$*+?{}[]()|\\/-" else ("\\n" if ch == "\n" else ch) for ch in s)
        )
    return "|".join(out)


def minimal(strings: set[str]) -> set[str]:
    """Drop strings that contain a shorter member (a match of the shorter one is enough)."""
    out: set[str] = set()
    for x in sorted(strings, key=len):
        if not any(y in x for y in out):
            out.add(x)
    return out


def gate_regex(patterns: list[str]) -> str | None:
    """A literal alternation that every match of any of ``patterns`` contains, or None."""
    allf: set[str] = set()
    for p in patterns:
        f = required_factors(p)
        if f is None:
            return None
        allf |= f
    return literal_alternation(minimal(allf)) if allf else None
