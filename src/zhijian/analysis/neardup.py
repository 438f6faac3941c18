"""Near-duplicate texts in the engine: normalisation, MinHash/LSH candidates, exact verification,
connected components. Shared by the dedup step (notices) and the multireport step (data requests).

Everything per text runs in the engine through Ibis and is portable between DuckDB and PySpark
(research/engines.md): the shingle integer packs three code points (``ascii_str`` of the characters
of ``split(norm, '')``; both engines return the Unicode code point), the base hash of a shingle is
``(a*x + b) mod P`` with P = 2^31 − 1 and the K MinHash values are ``(h * m_i) mod 2^31`` (a bitwise
and), so every product stays below 2^63; no ``hash()``, no ``approx_*``.

Pipeline (output is clusters, never an all-pairs list):

1. normalise each distinct raw text once (rules as data, ``dedup_policy.yaml``, compiled into gated
   steps by :func:`normalise_steps`) and collapse exact duplicates of the normalised text into one *doc*;
2. MinHash signatures over character shingles (the code-point array indexed per position, one base
   hash per shingle, then one GROUP BY doc with K ``min`` aggregates of cheap permutations), LSH bands, plus two extra buckets on the first and last
   characters (truncated copies);
3. per bucket, *star* edges (each doc to the bucket's first doc) and *chain* edges (each doc to the
   previous one, ordered by its slot sequence, then its length, so that every doc but the longest of
   its slot sequence has a partner at least as long; the head bucket is chained in text order as well, so a
   copy cut short meets a text it is the beginning of): at most 2 × docs × buckets edges, linear in docs;
4. exact verification of each edge (``verify="substring"``): the shorter text, with at most
   ``trim_chars`` characters trimmed at each end, must occur in the longer one, and its slot sequence
   (digits, dates, times, counts) must occur in the longer one's — this is what keeps template siblings
   (another date, place or subject) apart, where a plain MinHash threshold merges them. Each text
   keeps only its edge to its best verified partner (the one holding most of it, then the longest;
   ``contained_ratio``): the edges form a forest, so a truncated copy cannot bridge two siblings; a
   text contained in two partners that are not one notice keeps none (it cannot be told whose copy
   it is), and so does a text that begins two texts that are not one notice, found in text order
   whatever partners its candidates gave it (:func:`_prefix_ambiguous`: otherwise cut copies of
   siblings hang under one another and chain siblings into one cluster). ``verify="signature"``
   instead accepts an edge when the share of equal MinHash values reaches ``min_agreement``;
5. connected components of the accepted edges (numpy union-find, on the bounded edge list).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from zhijian.errors import ConfigError
from zhijian.lake.stages import Stages

P = 2147483647  # 2^31 - 1
_MASK31 = (1 << 31) - 1
_SEED = 20261129


@cache
def dedup_policy() -> dict[str, Any]:
    text = resources.files("zhijian.analysis").joinpath("dedup_policy.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for i, r in enumerate(data.get("normalise", [])):
        if "source" not in r or "id" not in r:
            raise ConfigError(
                f"dedup_policy.yaml 第 {i + 1} 条归一化规则缺少 id 或 source",
                f"normalise rule {i + 1} lacks id or source",
                path="dedup_policy.yaml",
            )
    return data


def _val(section: dict[str, Any], key: str) -> Any:
    v = section[key]
    return v["value"] if isinstance(v, dict) else v


@dataclass(frozen=True)
class Params:
    min_chars: int = 40
    min_fragment_chars: int = 20
    shingle: int = 3
    num_perm: int = 32
    bands: int = 8
    max_shingles: int = 256
    edge_key_chars: int = 12
    trim_chars: int = 4
    min_core_chars: int = 12
    min_cover: float = 0.3
    contained_ratio: float = 1.01
    verify: str = "substring"  # substring | signature
    min_agreement: float = 0.6

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    @classmethod
    def from_policy(cls, **overrides: Any) -> Params:
        d = dedup_policy()
        mh, ver = d["minhash"], d["verify"]
        kw = {
            "min_chars": _val(d["notice"], "min_chars"),
            "min_fragment_chars": _val(d["notice"], "min_fragment_chars"),
            "shingle": _val(mh, "shingle"),
            "num_perm": _val(mh, "num_perm"),
            "bands": _val(mh, "bands"),
            "max_shingles": _val(mh, "max_shingles"),
            "edge_key_chars": _val(mh, "edge_key_chars"),
            "trim_chars": _val(ver, "trim_chars"),
            "min_core_chars": _val(ver, "min_core_chars"),
            "min_cover": _val(ver, "min_cover"),
            "contained_ratio": _val(ver, "contained_ratio"),
        }
        kw.update(overrides)
        p = cls(**kw)
        if p.num_perm % p.bands or p.shingle != 3:
            raise ConfigError(
                "dedup_policy.yaml：num_perm 必须是 bands 的整数倍，shingle 目前只支持 3",
                "num_perm must be a multiple of bands; shingle must be 3",
                path="dedup_policy.yaml",
            )
        return p


def seeds(k: int) -> list[tuple[int, int]]:
    rnd = random.Random(_SEED)
    return [(rnd.randrange(1, P), rnd.randrange(0, P)) for _ in range(k)]


# -- normalisation ---------------------------------------------------------------------------------
_ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MAX_NEEDLES = 7  # a gate of more needles costs about as much as the regex it would skip
#                   (bench/detect.py --notices: 8 needles of common characters cost 2x the regex)


def _required_literals(pattern: str) -> frozenset[str] | None:
    """Literals of which every match of ``pattern`` contains at least one, or None when unknown.

    Derived from Python's parse tree (the patterns are in the subset RE2, Java and Python read the
    same way): a literal run, a small class of literal characters, a repeat with a minimum ≥ 1, a group,
    or a branch whose every alternative requires one. A text that contains none of them cannot match,
    so skipping the regex there gives the same result."""
    try:
        from re import _parser as sre  # Python ≥ 3.11
    except ImportError:  # pragma: no cover
        import sre_parse as sre  # type: ignore[no-redef]
    try:
        tree = sre.parse(pattern)
    except Exception:
        return None
    if tree.state.flags & (sre.SRE_FLAG_IGNORECASE | sre.SRE_FLAG_VERBOSE):
        return None
    C = sre  # opcodes live in the parser module's namespace

    def seq(items) -> frozenset[str] | None:
        cands: list[frozenset[str]] = []
        run = ""
        for op, av in items:
            if op is C.LITERAL:
                run += chr(av)
                continue
            if run:
                cands.append(frozenset([run]))
                run = ""
            r = node(op, av)
            if r:
                cands.append(r)
        if run:
            cands.append(frozenset([run]))
        if not cands:
            return None
        # fewest alternatives first, then the longest shortest needle (the most selective)
        return min(cands, key=lambda c: (len(c), -min(len(x) for x in c)))

    def node(op, av) -> frozenset[str] | None:
        if op is C.LITERAL:
            return frozenset([chr(av)])
        if op is C.IN:
            if all(o is C.LITERAL for o, _ in av) and len(av) <= _MAX_NEEDLES:
                return frozenset(chr(a) for _, a in av)
            return None
        if op is C.SUBPATTERN:
            group, add_flags, del_flags, sub = av
            return None if add_flags or del_flags else seq(sub)
        if op is C.BRANCH:
            alts = [seq(b) for b in av[1]]
            if any(a is None for a in alts):
                return None
            u = frozenset().union(*alts)
            # a needle that contains another needle adds nothing
            return frozenset(x for x in u if not any(y != x and y in x for y in u))
        if op in (C.MAX_REPEAT, C.MIN_REPEAT) or op is getattr(C, "POSSESSIVE_REPEAT", None):
            lo, _hi, sub = av
            return seq(sub) if lo >= 1 else None
        return None

    req = seq(list(tree))
    if req is None or "" in req or len(req) > _MAX_NEEDLES:
        return None
    return req


def _class_run(pattern: str) -> bool:
    """True when ``pattern`` is one character class repeated (``[...]+``, ``[^...]*``)."""
    from re import _parser as sre

    try:
        tree = list(sre.parse(pattern))
    except Exception:
        return False
    if len(tree) != 1 or tree[0][0] not in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        return False
    sub = list(tree[0][1][2])
    return len(sub) == 1 and sub[0][0] in (sre.IN, sre.NOT_LITERAL, sre.LITERAL)


def _change_literals(pattern: str, replacement: str) -> frozenset[str] | None:
    """For a run of one class of literal characters replaced by one of them (``[ \\t\\n]+`` → ``' '``):
    literals of which a text that the replacement changes contains at least one, or None.

    Such a text has a run that is not that single character: another character of the class or
    the character twice. A text with neither has only runs of exactly the replacement, which the
    replacement leaves as they are, so the step is the identity there (a sharper gate than the
    required literals, which are the whole class: most texts have a single space)."""
    from re import _parser as sre

    try:
        tree = list(sre.parse(pattern))
    except Exception:
        return None
    if len(tree) != 1 or tree[0][0] is not sre.MAX_REPEAT or len(replacement) != 1:
        return None
    lo, _hi, sub = tree[0][1]
    sub = list(sub)
    if lo != 1 or len(sub) != 1 or sub[0][0] is not sre.IN:
        return None
    if not all(op is sre.LITERAL for op, _ in sub[0][1]):
        return None
    chars = {chr(av) for _, av in sub[0][1]}
    if replacement not in chars:
        return None
    out = frozenset(chars - {replacement}) | {replacement * 2}
    return out if len(out) <= _MAX_NEEDLES else None


def _class_of(chars: str) -> str:
    """A regex character class matching exactly these characters (escaped for RE2, Java and Python)."""
    return "[" + "".join("\\" + c if c in "\\]^-[" else c for c in dict.fromkeys(chars)) + "]"


@cache
def normalise_steps() -> tuple[tuple[Any, ...], ...]:
    """The YAML rules compiled into engine steps, same result as applying them one by one:

    - ``lower`` is ASCII lower case (the rule's documented meaning; Unicode lower case differs between
      DuckDB, Java and Python, e.g. 'İ' becomes one character or two), i.e. a translation A-Z → a-z;
    - consecutive translations are fused into one (a character's image is the composition);
    - each step is *gated*: a translation runs only on texts containing one of its characters, a
      replacement only on texts containing one of the literals that every match contains
      (:func:`_required_literals`), or, for a class run replaced by one of its characters (white
      space → ' '), one of the literals without which it changes nothing (:func:`_change_literals`);
      on other texts the step is the identity.

    - a replacement whose pattern is not a run of one character class also runs only where the
      pattern matches (a match-only search, which RE2 answers with its DFA, is several times cheaper
      than a replacement, which also finds where each match starts and rebuilds the text; a class
      run such as whitespace or keep_text matches almost every text, so there the search is waste).

    Steps: ("translate", from, to, gate_class) and ("replace", pattern, replacement, needles | None,
    self_gate)."""
    out: list[tuple[Any, ...]] = []
    for r in dedup_policy()["normalise"]:
        kind = r["kind"]
        if kind in ("translate", "lower"):
            src, dst = (r["from"], r["to"]) if kind == "translate" else (_ASCII_UPPER, _ASCII_UPPER.lower())
            if len(src) != len(dst):
                raise ConfigError(
                    f"dedup_policy.yaml：规则 {r['id']} 的 from 与 to 长度不同",
                    f"rule {r['id']}: from and to differ in length",
                    path="dedup_policy.yaml",
                )
            if out and out[-1][0] == "translate":  # fuse with the previous translation: f2(f1(c))
                _, psrc, pdst, _ = out.pop()
                first, second = dict(zip(psrc, pdst, strict=True)), dict(zip(src, dst, strict=True))
                comp = {c: second.get(d, d) for c, d in first.items()}
                for c, d in second.items():
                    comp.setdefault(c, d)
                comp = {c: d for c, d in comp.items() if c != d}
                src, dst = "".join(comp), "".join(comp.values())
            out.append(("translate", src, dst, _class_of(src)))
        elif kind == "replace":
            pat, repl = r["pattern"], r.get("replacement", "")
            needles = _change_literals(pat, repl) or _required_literals(pat)
            out.append(("replace", pat, repl, needles, not _class_run(pat)))
        else:
            raise ConfigError(
                f"dedup_policy.yaml：未知的归一化类型 {kind!r}（规则 {r['id']}）",
                f"unknown normalise kind {kind!r} in rule {r['id']}",
                path="dedup_policy.yaml",
            )
    return tuple(out)


def normalise(text):
    """Ibis string expression: the normalised text (rules from ``dedup_policy.yaml``, compiled by
    :func:`normalise_steps`, without the gates: an expression cannot name an intermediate result, and
    a gate refers to its input three times, so gated steps would nest exponentially). Same result as
    :func:`normalised`, which is faster on a table."""
    t = text
    for step in normalise_steps():
        t = t.translate(step[1], step[2]) if step[0] == "translate" else t.re_replace(step[1], step[2])
    return t


def normalised(table, text: str = "text", out: str = "norm"):
    """``table`` with column ``out`` = the normalised ``text``, each gated step in its own projection
    (the engine evaluates each step once and the gate skips the regex where it cannot match)."""
    import ibis

    t = table.mutate(**{out: table[text]})
    for step in normalise_steps():
        x = t[out]
        if step[0] == "translate":
            _, src, dst, gate = step
            t = t.mutate(**{out: ibis.ifelse(x.re_search(gate), x.translate(src, dst), x)})
            continue
        _, pattern, repl, needles, self_gate = step
        found = None
        for lit in sorted(needles or ()):
            found = x.contains(lit) if found is None else found | x.contains(lit)
        if self_gate:
            found = x.re_search(pattern) if found is None else found & x.re_search(pattern)
        done = x.re_replace(pattern, repl)
        if found is not None:
            done = ibis.ifelse(found, done, x)
        t = t.mutate(**{out: done})
    return t


def _never_lengthens() -> bool:
    """True when no normalisation rule can make a text longer (then a raw-length prefilter is exact):
    replacements of at most one character (a match is at least one), 1:1 translations, ASCII lower."""
    for r in dedup_policy()["normalise"]:
        if r["kind"] == "replace" and len(r.get("replacement", "")) > 1:
            return False
        if r["kind"] == "translate" and len(r["from"]) != len(r["to"]):
            return False
    return True


def slot_sequence(norm):
    """'|' + the runs of slot characters (digits, dates, counts) of a normalised text, '|'-separated.

    The runs are extracted (``regexp_extract_all``, the same builtin with the same arguments on
    DuckDB and Spark ≥ 3.1; group 0 = the whole match, Spark's default is group 1) rather than the
    text between them replaced: a notice has few slot runs and many characters between them, and
    the extraction took 0.13 s where three replacements took 0.23 s (92k notices, bench/detect.py
    --notices 200000)."""
    import ibis

    chars = dedup_policy()["slots"]["chars"]
    runs = _regexp_extract_all(norm, f"[{chars}]+", ibis.literal(0, "int32"))
    # Ibis joins an empty array to '' on DuckDB and to NULL on Spark (dialect difference): coalesce
    return "|" + ibis.coalesce(ibis.literal("|").join(runs), "")


def _regexp_extract_all(s, pattern, group):
    """Ibis has no extract-all; both engines have this builtin (DuckDB: regexp_extract_all(string,
    regex, group); Spark: regexp_extract_all(str, regexp, idx))."""
    return _extract_all_udf()(s, pattern, group)


@cache
def _extract_all_udf():
    import ibis
    import ibis.expr.datatypes as dt

    sig = ((dt.string, dt.string, dt.int32), dt.Array(dt.string))

    @ibis.udf.scalar.builtin(name="regexp_extract_all", signature=sig)
    def regexp_extract_all(s, pattern, group): ...

    return regexp_extract_all


def normalise_python(text: str) -> str:
    """The same normalisation in Python (for the evaluation tools and tests on single strings)."""
    import re

    t = text
    for r in dedup_policy()["normalise"]:
        if r["kind"] == "translate":
            t = t.translate(str.maketrans(r["from"], r["to"]))
        elif r["kind"] == "lower":  # ASCII lower case (see normalise_steps)
            t = t.translate(_ASCII_LOWER)
        else:
            t = re.sub(r["pattern"], r.get("replacement", ""), t)
    return t


_ASCII_LOWER = str.maketrans(_ASCII_UPPER, _ASCII_UPPER.lower())


# -- the engine pipeline ------------------------------------------------------------------------------
def code_points(norm):
    """Ibis array expression: the code points of a string (one ``split('')`` and one ``ascii`` per
    character). DuckDB ``str_split(s, '')`` and Spark ``split(s, '')`` both give the characters
    (Spark's may end with an empty string, never read here; Spark splits UTF-16 code units, and every
    character kept by the normalisation is in the BMP), and both engines' ``ascii()`` return the code
    point. Indexing this array replaces one ``substr(norm, pos, 1)`` per shingle character, which both
    engines compute by scanning the UTF-8 string from its start (quadratic in the text length)."""
    return norm.split("").map(lambda c: c.ascii_str().cast("int64"))


def shingles(docs, p: Params, a: int = 1, b: int = 0):
    """docs(doc, norm, n) -> (doc, x): the code-point 3-gram integers of the first ``max_shingles``
    positions, ``x = (a * (cp1*2^42 + cp2*2^21 + cp3) + b) mod P`` (not de-duplicated: a minimum does
    not need it). ``a = 1, b = 0`` gives the 3-gram itself; other values give the hashed 3-gram in the
    same single ``mod`` (``a * 2^42 mod P`` etc. are constants: every product stays below 2^52)."""
    import ibis

    k = p.shingle
    t = docs.select(docs.doc, docs.n, cp=code_points(docs.norm))
    # int32 positions: Spark's element_at takes an INT index (BIGINT is an analysis error)
    last = ibis.least(t.n - (k - 1), ibis.literal(p.max_shingles, "int64")).cast("int32")
    sh = t.select(t.doc, t.cp, pos=ibis.range(ibis.literal(0, "int32"), last).unnest())
    c1, c2, c3 = (a * (1 << 42)) % P, (a * (1 << 21)) % P, a % P
    x = (
        sh.cp[sh.pos] * ibis.literal(c1, "int64")
        + sh.cp[sh.pos + 1] * ibis.literal(c2, "int64")
        + sh.cp[sh.pos + 2] * ibis.literal(c3, "int64")
        + ibis.literal(b, "int64")
    ) % P
    return sh.select(sh.doc, x=x)


def signatures(docs, p: Params, shards: int = 1):
    """docs(doc int64, norm, n) -> (doc, h0..h{K-1}) MinHash signatures over code-point 3-grams.

    One base hash per shingle, ``h = (a0 * x + b0) mod P`` (computed by :func:`shingles` in one
    ``mod``), then K cheap permutations ``h_i = (h * m_i) mod 2^31`` with odd multipliers ``m_i``
    (multiplication modulo a power of two is a bijection; its high bits mix all the bits of ``h``):
    a multiply and a bitwise and per value instead of a multiply, an add and a ``mod`` — the ``mod``
    was most of the cost. Products stay below 2^63 (h < 2^31, m_i < 2^32) on both engines.

    ``shards > 1`` reads the docs as the union of their ``doc mod shards`` parts (the same rows):
    DuckDB scans a table with one thread per row group, and the docs table usually fits in one, so
    the union's parts are what lets the shingle pipeline use more than one thread."""
    if shards > 1:
        parts = [docs.filter(docs.doc % shards == s) for s in range(shards)]
        docs = parts[0]
        for x in parts[1:]:
            docs = docs.union(x, distinct=False)
    (a0, b0), *mult = seeds(p.num_perm + 1)
    sh = shingles(docs, p, a0, b0)
    aggs = {f"h{i}": ((sh.x * ((a << 1) | 1)) & _MASK31).min() for i, (a, _b) in enumerate(mult)}
    return sh.group_by("doc").aggregate(**aggs)


def _bucket_edges(t, keys: list[str], by: tuple[str, ...] = ("srank", "n")):
    """Star and chain edges within each bucket of ``t`` (doc, *by, *keys), the chain in the order of
    ``by`` then ``doc``. One window (partition and order) for both functions: the engine sorts each
    bucket once (``srank`` orders like the slot sequence, on integers, without comparing strings).

    The default order is the slot sequence, then the length: within a bucket, the docs that share a
    slot sequence follow each other from the shortest to the longest, so each of them but the
    longest has a chain edge to a doc at least as long. The verification keeps, for each text, its
    edge to one partner at least as long (a forest), so a text without such a candidate is a root
    and its copies a cluster of their own; ordered by slots and doc only, which texts had one
    depended on where the hash functions put the docs, and the pairwise recall against the demo's
    ground truth (1M messages) moved between 0.93 and 0.97 with the MinHash parameters (one notice
    of 105 messages, its copies signed with a village's name after the date, split 80 + 18 + 4 + 3).
    With the length in the order it stays at 0.976–0.985 for 12 × 6, 28 × 7, 32 × 8 and 40 × 10."""
    import ibis

    part, order = [t[c] for c in keys], [*(t[c] for c in by), t.doc]
    w_all = ibis.window(group_by=part, order_by=order, rows=(None, None))
    w_ord = ibis.window(group_by=part, order_by=order)
    # (a bucket of one doc gives no edge without a count: its star is itself and it has no previous)
    e = t.mutate(star=t.doc.min().over(w_all), prev=t.doc.lag().over(w_ord))
    star = e.filter(e.star != e.doc).select(a=e.star, b=e.doc)
    chain = e.filter(e.prev.notnull() & (e.prev != e.star)).select(a=e.prev, b=e.doc)
    return star.union(chain, distinct=False)


def candidate_edges(docs, sig, p: Params):
    """Bounded candidate edges (a < b) from LSH bands and head/tail buckets."""
    import ibis

    r = p.rows
    ds = docs.select("doc", "srank", "n")
    bands = []
    for j in range(p.bands):
        cols = [f"h{j * r + i}" for i in range(r)]
        keys = {}
        for m in range(0, r, 2):
            if m + 1 < r:
                keys[f"k{m // 2}"] = sig[cols[m]] * ibis.literal(1 << 31, "int64") + sig[cols[m + 1]]
            else:
                keys[f"k{m // 2}"] = sig[cols[m]]
        bands.append(sig.select(sig.doc, band=ibis.literal(j, "int64"), **keys))
    b = bands[0]
    for x in bands[1:]:
        b = b.union(x, distinct=False)
    b = b.join(ds, "doc")
    key_cols = ["band"] + [c for c in b.columns if c.startswith("k")]
    edges = [_bucket_edges(b, key_cols)]
    e = p.edge_key_chars
    long_docs = docs.filter(docs.n >= e + p.min_core_chars)
    head = long_docs.select("doc", "srank", "n", key=long_docs.norm.substr(0, e))
    tail = long_docs.select("doc", "srank", "n", key=long_docs.norm.right(e))
    edges.append(_bucket_edges(head, ["key"]))
    # and in text order (``doc`` numbers the texts in that order: an integer sort, not a string
    # one): a copy cut short sorts right before the texts it is the beginning of, so its chain
    # edge reaches one of them however many siblings share the bucket
    head_t = long_docs.select(long_docs.doc, key=long_docs.norm.substr(0, e))
    edges.append(_bucket_edges(head_t, ["key"], by=("doc",)))
    edges.append(_bucket_edges(tail, ["key"]))
    u = edges[0]
    for x in edges[1:]:
        u = u.union(x, distinct=False)
    return u.select(a=ibis.least(u.a, u.b), b=ibis.greatest(u.a, u.b)).distinct()


def _prefix_ambiguous(docs, p: Params):
    """Docs whose text is the beginning of two texts that are not one notice (a copy cut before the
    slot that tells template siblings apart), found in text order, where the texts that begin with a
    text f are the ones right after it: f is such a beginning when the text after it begins with f
    and so does the text after the first break at or after f (a break: two neighbours of which the
    shorter, trimmed as in the verification, does not occur in the longer). The candidate edges
    need not reach those siblings; the order does. Head buckets (the first ``edge_key_chars``
    characters) keep the windows small: a text and the texts it begins share that key."""
    import ibis

    e = p.edge_key_chars
    t = docs.filter(docs.n >= e).select("doc", "norm", "n", key=docs.norm.substr(0, e))
    # text order is doc order (docs are numbered in the order of their text): sort integers
    w = ibis.window(group_by=t.key, order_by=t.doc)
    t = t.mutate(nx=t.norm.lead().over(w), nn=t.n.lead().over(w))
    first = t.n <= t.nn
    ns = ibis.least(t.n, t.nn)
    h = ibis.least(ibis.literal(p.trim_chars, "int64"), ns // 8)
    short, long_ = ibis.ifelse(first, t.norm, t.nx), ibis.ifelse(first, t.nx, t.norm)
    brk = t.nx.notnull() & ~long_.contains(short.substr(h, ns - 2 * h))
    # the text after each break; texts in order only grow, so the first one at or after a row is
    # the least (min ignores NULL on every engine; first_value's null handling differs). The rows
    # at or after a row are the rows up to it in reverse order: a running minimum, which DuckDB
    # computes in one pass, where a frame that ends at the partition's end builds a segment tree
    t = t.mutate(after=ibis.ifelse(brk, t.nx, ibis.null("string")))
    wf = ibis.window(group_by=t.key, order_by=t.doc.desc(), rows=(None, 0))
    t = t.mutate(after=t.after.min().over(wf))
    return t.filter(t.nx.startswith(t.norm) & t.after.startswith(t.norm)).select("doc")


def verified_edges(docs, edges, p: Params, sig=None):
    """Keep the edges that pass the exact verification (see module docstring)."""
    import ibis

    d1 = docs.select(a=docs.doc, na=docs.n, ta=docs.norm, sa=docs.slots)
    d2 = docs.select(b=docs.doc, nb=docs.n, tb=docs.norm, sb=docs.slots)
    j = edges.join(d1, "a").join(d2, "b")
    if p.verify == "signature":
        if sig is None:
            raise ValueError("signature verification needs the signatures")
        s1 = sig.rename({f"ha{i}": f"h{i}" for i in range(p.num_perm)}).rename(a="doc")
        s2 = sig.rename({f"hb{i}": f"h{i}" for i in range(p.num_perm)}).rename(b="doc")
        j = j.join(s1, "a").join(s2, "b")
        agree = sum((j[f"ha{i}"] == j[f"hb{i}"]).cast("int64") for i in range(p.num_perm))
        ok = agree * 1000 >= int(round(p.min_agreement * 1000)) * p.num_perm
        return j.filter(ok).select("a", "b")
    a_short = (j.na < j.nb) | ((j.na == j.nb) & (j.a < j.b))
    s_doc = ibis.ifelse(a_short, j.a, j.b)
    l_doc = ibis.ifelse(a_short, j.b, j.a)
    ns = ibis.ifelse(a_short, j.na, j.nb)
    nl = ibis.ifelse(a_short, j.nb, j.na)
    ts = ibis.ifelse(a_short, j.ta, j.tb)
    tl = ibis.ifelse(a_short, j.tb, j.ta)
    ss = ibis.ifelse(a_short, j.sa, j.sb)
    sl = ibis.ifelse(a_short, j.sb, j.sa)
    v = j.select(s=s_doc, l=l_doc, ns=ns, nl=nl, ts=ts, tl=tl, ss=ss, sl=sl)
    h = ibis.least(ibis.literal(p.trim_chars, "int64"), v.ns // 8)
    core_len = v.ns - 2 * h
    core = v.ts.substr(h, core_len)
    cover_ok = core_len * 1000 >= v.nl * int(round(p.min_cover * 1000))
    ok = (core_len >= p.min_core_chars) & cover_ok & v.tl.contains(core) & v.sl.contains(v.ss)
    acc = v.filter(ok).mutate(contained=v.ns * 1000 < v.nl * int(round(p.contained_ratio * 1000)))
    mutual = acc.filter(~acc.contained).select(a=acc.s, b=acc.l)
    cont = acc.filter(acc.contained)
    # how much of the shorter text a partner holds: all of it (2), all but one trimmed end (1), or
    # the core only (0). A partner that holds more is a better one, and only partners that hold as
    # much as the best one make a text ambiguous: a copy cut a few characters into the words that
    # tell siblings apart (within the trimmed end) belongs to the sibling that has those words
    hc = ibis.least(ibis.literal(p.trim_chars, "int64"), cont.ns // 8)
    whole = cont.tl.contains(cont.ts)
    one_end = cont.tl.contains(cont.ts.substr(hc)) | cont.tl.contains(cont.ts.substr(0, cont.ns - hc))
    cont = cont.mutate(fit=ibis.ifelse(whole, 2, ibis.ifelse(one_end, 1, 0)))
    w = ibis.window(group_by=cont.s, order_by=[cont.fit.desc(), cont.nl.desc(), cont.l])
    cont = cont.mutate(rk=ibis.row_number().over(w))
    best = cont.filter(cont.rk == 0).select(s=cont.s, l=cont.l, t1=cont.tl, fit1=cont.fit)
    # a text contained in two partners that are not one notice (the best does not contain the
    # other) is the shared beginning of siblings, e.g. a copy cut before the slot that tells them
    # apart: it cannot be told whose copy it is, so it joins neither
    other = cont.filter(cont.rk > 0)
    h2 = ibis.least(ibis.literal(p.trim_chars, "int64"), other.nl // 8)
    other = other.select(s=other.s, fit=other.fit, core2=other.tl.substr(h2, other.nl - 2 * h2))
    pair = other.join(best, "s")
    ambiguous = pair.filter((pair.fit == pair.fit1) & ~pair.t1.contains(pair.core2)).select("s").distinct()
    # and a text that begins two texts that are not one notice, whichever partners the candidates gave it
    ambiguous = ambiguous.union(_prefix_ambiguous(docs, p).select(s="doc"), distinct=True)
    one = best.anti_join(ambiguous, "s").select(a=best.s, b=best.l)
    return mutual.union(one, distinct=False)


def components(edges: pa.Table) -> pa.Table:
    """Connected components of an edge list (a, b int64) -> (doc, comp) with comp = smallest doc.

    Union-find in numpy (hook each edge's larger root under its smaller one, then jump pointers
    until every node points at its root; repeat until no edge joins two roots): the smallest node
    of a component can never point anywhere smaller, so it ends as the root."""
    a = edges.column("a").to_numpy(zero_copy_only=False).astype(np.int64)
    b = edges.column("b").to_numpy(zero_copy_only=False).astype(np.int64)
    if len(a) == 0:
        return pa.table({"doc": pa.array([], pa.int64()), "comp": pa.array([], pa.int64())})
    nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    ia, ib = inv[: len(a)], inv[len(a) :]
    parent = np.arange(len(nodes))
    while True:
        ra, rb = parent[ia], parent[ib]
        split = ra != rb
        if not split.any():
            break
        lo, hi = np.minimum(ra[split], rb[split]), np.maximum(ra[split], rb[split])
        np.minimum.at(parent, hi, lo)
        while True:  # pointer jumping: every node to its root
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    # nodes are sorted, so the root (the smallest index of its component) is its smallest doc
    return pa.table({"doc": pa.array(nodes, pa.int64()), "comp": pa.array(nodes[parent], pa.int64())})


def _engine_threads(lake) -> int:
    """DuckDB's worker threads (1 on other engines: Spark partitions the work itself)."""
    if lake.engine != "duckdb":
        return 1
    try:
        return max(1, int(lake.con.raw_sql("SELECT current_setting('threads')").fetchall()[0][0]))
    except Exception:  # pragma: no cover - an older DuckDB without the setting
        return 1


@dataclass
class ClusterRun:
    items: Any  # Ibis table: key, doc, comp — every item whose normalised text is long enough
    docs: Any  # Ibis table: doc, norm, n, slots, srank
    metrics: dict[str, Any]


def cluster_texts(
    lake, items, p: Params | None = None, key: str = "key", text: str = "text", normalise: bool = True
) -> ClusterRun:
    """Cluster the texts of Ibis table ``items`` (``key``, ``text``).

    Returns, per item long enough to compare (``min_chars``, or ``min_fragment_chars`` for a fragment
    linked to a full-length text), its doc (exact duplicate of the normalised text) and its
    component (``comp`` = the smallest doc of its near-duplicate cluster; a lone doc has ``comp = doc``).

    ``normalise=False``: the texts are already normalised (each text is its own normalised form), as
    when the clustering alone is measured on the input another tool is given (bench/detect.py)."""
    import time

    import ibis

    p = p or Params.from_policy()
    # Normalising never lengthens a text in kept characters (translate is 1:1, lower keeps one kept
    # character per character, every replacement is shorter than its match, and keep_text drops the rest),
    # so texts shorter than min_fragment_chars can be dropped before the regex passes: same result.
    if _never_lengthens():
        items = items.filter(items[text].length() >= p.min_fragment_chars)
    shards = _engine_threads(lake)
    # Each stage is built and compiled while the engine computes the one before (Stages: about 10%
    # of the wall time at 200k notices is Ibis building and compiling); the stage times are the engine's.
    with Stages(lake) as st:
        # Normalise each distinct raw text once (in the demo county 147k candidate messages carry 20k
        # distinct texts). The table is materialised without a filter on ``norm``: DuckDB pushes such
        # a filter below the projection and evaluates the whole normalisation twice.
        raw = items.select(text=items[text]).distinct()
        if normalise:
            texts = st.add(normalised(raw, "text", "norm"), "nd_texts", "normalise_s")
        else:
            texts = raw.mutate(norm=raw.text)
        d = texts.filter(texts.norm.length() >= p.min_fragment_chars).select("norm").distinct()
        # docs are numbered in the order of their text: the windows that need text order sort ``doc``
        d = d.mutate(doc=ibis.row_number().over(ibis.window(order_by=d.norm)).cast("int64"))
        d = d.mutate(n=d.norm.length().cast("int64"), slots=slot_sequence(d.norm))
        d = d.mutate(srank=ibis.dense_rank().over(ibis.window(order_by=d.slots)).cast("int64"))
        docs = st.add(d, "nd_docs", "normalise_s")
        sig = st.add(signatures(docs, p, shards=shards), "nd_sig", "signatures_s")
        cand = st.add(candidate_edges(docs, sig, p), "nd_cand", "candidates_s")
        edges = st.fetch(verified_edges(docs, cand, p, sig=sig), "verify_s")
        texts, docs = (st.bound(texts) if normalise else texts), st.bound(docs)
        n_cand = st.row_count(cand)
    tm = dict(st.timings)
    t0 = time.perf_counter()
    comp = components(edges)
    tm["components_s"] = time.perf_counter() - t0
    if comp.num_rows:
        cm = lake.register(f"_neardup_comp_{id(comp):x}", comp)
    else:  # nothing linked (an empty registered table does not read back on Spark: no Parquet row group)
        cm = docs.filter(docs.doc < 0).select("doc", comp=docs.doc)
    tmap = texts.join(docs.select("doc", "norm", "n"), "norm").select("text", "doc", "n")
    it = items.select(key=items[key], text=items[text])
    j = it.join(tmap, "text").left_join(cm, "doc")
    j = j.select(key=j.key, doc=j.doc, n=j.n, comp=j.comp.fill_null(j.doc))
    # a fragment (shorter than min_chars, e.g. a cut copy) counts only in a cluster with a full-length text
    j = j.mutate(longest=j.n.max().over(ibis.window(group_by=j.comp)))
    out = j.filter(j.longest >= p.min_chars).select("key", "doc", "comp")
    out = out.rename({key: "key"}) if key != "key" else out
    metrics = {
        "candidate_edges": n_cand,
        "verified_edges": edges.num_rows,
        "linked_docs": comp.num_rows,
        **{k: round(v, 2) for k, v in tm.items()},
    }
    return ClusterRun(items=out, docs=docs, metrics=metrics)
