"""Rule packs: YAML data → a validated, merged :class:`Pack`.

A pack is a folder of YAML files read in name order (the built-in one is ``rules/packs/``); a
workspace may add ``<workspace>/rules/*.yaml`` which are merged over it **by id**: a rule, mask or
fragment with an existing id replaces it in place (``disabled: true`` removes it), a new id is
appended. Every file may hold these top-level keys, all optional::

    lexicons:   {name: {source: ..., terms: [literal, ...]}}     -> {name} in patterns = (?:t1|t2|..)
    fragments:  {name: {source: ..., regex: "..."}}              -> {name} in patterns = (?:regex)
    masks:      [{id, view, pattern, source, replace?}]           text removed from a view before rules
    rules:      [{id, label, pattern, source, view?, unless?, kinds?, at_all?, max_len?, note?}]

``label`` is one of the message labels (taxonomy.yaml) or a marker (``urgent``). A rule fires on a
message when its pattern is found in the rule's view of the text (default view ``demand``), none of
its ``unless`` patterns is found in the same view, and its context conditions hold (``kinds``: the
message kind is one of these; ``at_all``: the @所有人 flag has this value; ``max_len``: the view is at
most this many characters). For each (message, label) the first rule in pack order that fires is kept.

Views: ``base`` is the normalised text (traditional → simplified and full-width letters/digits →
ASCII, lower case, see charmap.yaml); every other view is ``base`` with that view's masks applied
in order (each mask's matches are replaced by ``replace``, default "。" — a clause break).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from zhijian.errors import ZhijianError
from zhijian.rules.lint import lint_pattern

BUILTIN_DIR = Path(__file__).parent / "packs"
CHARMAP_FILE = Path(__file__).parent / "charmap.yaml"

#: Per-message markers computed by the same rules machinery (not message labels).
MARKERS = ("urgent",)
#: Kinds whose text is never a demand (system notices, recalled messages).
DEFAULT_SKIP_KINDS = ("system", "recall")

_MACRO = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


class RulePackError(ZhijianError):
    """A rule pack file is malformed or holds a pattern that is not portable."""


@dataclass(frozen=True)
class Lexicon:
    name: str
    terms: tuple[str, ...]
    source: str
    file: str = ""


@dataclass(frozen=True)
class Fragment:
    name: str
    regex: str
    source: str
    file: str = ""


@dataclass(frozen=True)
class Mask:
    id: str
    view: str
    pattern: str  # as written (with {macros})
    source: str
    replace: str = "。"
    file: str = ""
    compiled: str = ""  # macros expanded


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    pattern: str
    source: str
    view: str = "demand"
    unless: tuple[str, ...] = ()
    kinds: tuple[str, ...] | None = None
    at_all: bool | None = None
    max_len: int | None = None
    note: str = ""
    file: str = ""
    compiled: str = ""
    compiled_unless: tuple[str, ...] = ()


@dataclass
class Pack:
    lexicons: dict[str, Lexicon] = field(default_factory=dict)
    fragments: dict[str, Fragment] = field(default_factory=dict)
    masks: list[Mask] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    skip_kinds: tuple[str, ...] = DEFAULT_SKIP_KINDS
    files: list[str] = field(default_factory=list)
    trad_map: tuple[str, str] = ("", "")  # (from, to) restricted to characters the rules use
    fullwidth_alnum: bool = True

    # -- queries ----------------------------------------------------------------------------------
    def label_rules(self, label: str) -> list[Rule]:
        return [r for r in self.rules if r.label == label]

    @property
    def labels(self) -> list[str]:
        from zhijian.rules.taxonomy import label_ids

        return [x for x in label_ids() if x != "normal"]

    def views(self) -> list[str]:
        seen = ["base"]
        for m in self.masks:
            if m.view not in seen:
                seen.append(m.view)
        return seen

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


# ── reading ──────────────────────────────────────────────────────────────────────────────────────
def _err(file: str, where: str, zh: str, en: str) -> RulePackError:
    return RulePackError(zh, en, path=file, where=where)


def _str(d: dict, key: str, file: str, where: str, required: bool = True) -> str:
    v = d.get(key)
    if v is None:
        if required:
            raise _err(file, where, f"缺少字段 {key}", f"missing key {key!r}")
        return ""
    if not isinstance(v, str | int | float) or isinstance(v, bool):
        raise _err(file, where, f"字段 {key} 应为字符串", f"{key!r} must be a string")
    return str(v)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise RulePackError("规则文件不是 UTF-8 编码", f"not UTF-8: {e}", path=str(path)) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise RulePackError(
            f"规则文件 YAML 格式错误：{e}", f"malformed YAML: {e}", path=str(path), where=where
        ) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RulePackError(
            "规则文件顶层应为映射（lexicons / fragments / masks / rules）",
            "top level must be a mapping",
            path=str(path),
        )
    unknown = set(data) - {"lexicons", "fragments", "masks", "rules", "skip_kinds", "pack"}
    if unknown:
        raise RulePackError(
            f"未知的顶层字段：{', '.join(sorted(unknown))}",
            f"unknown top-level keys: {sorted(unknown)}",
            path=str(path),
        )
    return data


_RULE_KEYS = {
    "id",
    "label",
    "pattern",
    "source",
    "view",
    "unless",
    "kinds",
    "at_all",
    "max_len",
    "note",
    "disabled",
}
_MASK_KEYS = {"id", "view", "pattern", "source", "replace", "disabled", "note"}


def _merge_file(pack: Pack, data: dict[str, Any], file: str) -> None:
    for name, spec in (data.get("lexicons") or {}).items():
        where = f"lexicons.{name}"
        if not isinstance(spec, dict) or not isinstance(spec.get("terms"), list) or not spec["terms"]:
            raise _err(
                file, where, "词表应包含非空的 terms 列表和 source", "lexicon needs a non-empty 'terms' list"
            )
        terms = tuple(str(t) for t in spec["terms"])
        pack.lexicons[name] = Lexicon(name, terms, _str(spec, "source", file, where), file)
    for name, spec in (data.get("fragments") or {}).items():
        where = f"fragments.{name}"
        if not isinstance(spec, dict):
            raise _err(
                file, where, "片段应为映射（regex, source）", "fragment must be a mapping with regex, source"
            )
        pack.fragments[name] = Fragment(
            name, _str(spec, "regex", file, where), _str(spec, "source", file, where), file
        )
    for i, spec in enumerate(data.get("masks") or []):
        where = f"masks[{i}]"
        if not isinstance(spec, dict):
            raise _err(file, where, "遮蔽规则应为映射", "mask must be a mapping")
        extra = set(spec) - _MASK_KEYS
        if extra:
            raise _err(file, where, f"未知字段：{', '.join(sorted(extra))}", f"unknown keys {sorted(extra)}")
        mid = _str(spec, "id", file, where)
        idx = next((k for k, m in enumerate(pack.masks) if m.id == mid), None)
        if spec.get("disabled"):
            if idx is not None:
                del pack.masks[idx]
            continue
        m = Mask(
            id=mid,
            view=_str(spec, "view", file, where),
            pattern=_str(spec, "pattern", file, where),
            source=_str(spec, "source", file, where),
            replace=str(spec.get("replace", "。")),
            file=file,
        )
        if "$" in m.replace or "\\" in m.replace:
            raise _err(
                file,
                where,
                "替换文本不能含 $ 或 \\（Java 与 RE2 含义不同）",
                "replace must not contain $ or \\",
            )
        if m.view == "base":
            raise _err(file, where, "不能遮蔽 base 视图", "masks cannot apply to the base view")
        if idx is None:
            pack.masks.append(m)
        else:
            pack.masks[idx] = m
    for i, spec in enumerate(data.get("rules") or []):
        where = f"rules[{i}]"
        if not isinstance(spec, dict):
            raise _err(file, where, "规则应为映射", "rule must be a mapping")
        extra = set(spec) - _RULE_KEYS
        if extra:
            raise _err(file, where, f"未知字段：{', '.join(sorted(extra))}", f"unknown keys {sorted(extra)}")
        rid = _str(spec, "id", file, where)
        where = f"rules[{i}] id={rid}"
        if not _ID.match(rid):
            raise _err(
                file, where, "规则 id 只能含小写字母、数字、下划线和点", "rule id must match [a-z0-9_.]+"
            )
        idx = next((k for k, r in enumerate(pack.rules) if r.id == rid), None)
        if spec.get("disabled"):
            if idx is not None:
                del pack.rules[idx]
            continue
        unless = spec.get("unless") or []
        if isinstance(unless, str):
            unless = [unless]
        kinds = spec.get("kinds")
        if kinds is not None and (not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds)):
            raise _err(file, where, "kinds 应为消息类型列表", "kinds must be a list of message kinds")
        at_all = spec.get("at_all")
        if at_all is not None and not isinstance(at_all, bool):
            raise _err(file, where, "at_all 应为 true 或 false", "at_all must be a boolean")
        max_len = spec.get("max_len")
        if max_len is not None and (not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 1):
            raise _err(file, where, "max_len 应为正整数", "max_len must be a positive integer")
        r = Rule(
            id=rid,
            label=_str(spec, "label", file, where),
            pattern=_str(spec, "pattern", file, where),
            source=_str(spec, "source", file, where),
            view=str(spec.get("view", "demand")),
            unless=tuple(str(u) for u in unless),
            kinds=tuple(kinds) if kinds is not None else None,
            at_all=at_all,
            max_len=max_len,
            note=str(spec.get("note", "")),
            file=file,
        )
        if idx is None:
            pack.rules.append(r)
        else:
            pack.rules[idx] = r
    if "skip_kinds" in data:
        sk = data["skip_kinds"]
        if not isinstance(sk, list):
            raise _err(file, "skip_kinds", "skip_kinds 应为列表", "skip_kinds must be a list")
        pack.skip_kinds = tuple(str(k) for k in sk)


# ── compiling macros, validating ─────────────────────────────────────────────────────────────────
def _escape_literal(term: str) -> str:
    out = []
    for ch in term:
        if ch in ".^$*+?{}[]()|\\/-":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return "".join(out)


def expand(pattern: str, pack: Pack, file: str = "", where: str = "", _depth: int = 0) -> str:
    """Replace ``{name}`` by the lexicon alternation or the fragment regex (fragments may nest)."""
    if _depth > 8:
        raise _err(file, where, "片段嵌套过深（可能循环引用）", "fragments nest too deep (cycle?)")

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name in pack.lexicons:
            terms = sorted(pack.lexicons[name].terms, key=len, reverse=True)
            return "(?:" + "|".join(_escape_literal(t) for t in terms) + ")"
        if name in pack.fragments:
            return "(?:" + expand(pack.fragments[name].regex, pack, file, where, _depth + 1) + ")"
        raise _err(
            file, where, f"引用了不存在的词表或片段 {{{name}}}", f"unknown lexicon or fragment {{{name}}}"
        )

    return _MACRO.sub(sub, pattern)


def _check(pattern: str, file: str, where: str) -> None:
    problems = lint_pattern(pattern)
    if problems:
        raise _err(
            file,
            where,
            "正则表达式不可移植（须在 DuckDB、Spark、Python 上含义一致）：" + "；".join(problems),
            "pattern is not portable: " + "; ".join(problems),
        )
    if re.compile(pattern).search("") is not None:
        raise _err(file, where, "正则表达式能匹配空字符串", "pattern matches the empty string")


def _finalise(pack: Pack) -> Pack:
    from zhijian.rules.taxonomy import label_ids

    known_labels = set(label_ids()) - {"normal"}
    known_views = set(pack.views())
    masks = []
    for m in pack.masks:
        where = f"mask {m.id}"
        c = expand(m.pattern, pack, m.file, where)
        _check(c, m.file, where)
        masks.append(replace(m, compiled=c))
    pack.masks = masks
    rules, seen = [], set()
    for r in pack.rules:
        where = f"rule {r.id}"
        if r.id in seen:
            raise _err(r.file, where, "规则 id 重复", "duplicate rule id")
        seen.add(r.id)
        if r.label not in known_labels and r.label not in MARKERS:
            raise _err(
                r.file,
                where,
                f"未知标签 {r.label}（可选：{', '.join(sorted(known_labels | set(MARKERS)))}）",
                f"unknown label {r.label!r}",
            )
        if r.view not in known_views:
            raise _err(
                r.file,
                where,
                f"未知视图 {r.view}（可选：{', '.join(sorted(known_views))}）",
                f"unknown view {r.view!r}",
            )
        if not r.source.strip():
            raise _err(r.file, where, "每条规则都须注明依据 source", "every rule needs a source")
        c = expand(r.pattern, pack, r.file, where)
        _check(c, r.file, where)
        cu = tuple(expand(u, pack, r.file, where + " unless") for u in r.unless)
        for u in cu:
            _check(u, r.file, where + " unless")
        rules.append(replace(r, compiled=c, compiled_unless=cu))
    pack.rules = rules
    pack.trad_map = _restricted_trad_map(pack)
    return pack


@lru_cache(maxsize=1)
def _charmap() -> tuple[tuple[str, str], bool]:
    data = yaml.safe_load(CHARMAP_FILE.read_text(encoding="utf-8"))
    pairs = list(data.get("extra") or []) + list(data["traditional"])
    frm = "".join(a for a, _b in pairs)
    to = "".join(b for _a, b in pairs)
    assert len(frm) == len(to)
    return (frm, to), bool(data.get("fullwidth_alnum", True))


def _restricted_trad_map(pack: Pack) -> tuple[str, str]:
    """Only map traditional characters whose simplified form occurs in some compiled pattern."""
    (frm, to), _fw = _charmap()
    used = set()
    for m in pack.masks:
        used.update(m.compiled)
    for r in pack.rules:
        used.update(r.compiled)
        for u in r.compiled_unless:
            used.update(u)
    pairs, seen = [], set()
    for a, b in zip(frm, to, strict=True):
        if b in used and a not in used and a not in seen:
            seen.add(a)
            pairs.append((a, b))
    return "".join(a for a, _ in pairs), "".join(b for _, b in pairs)


def fullwidth_map() -> tuple[str, str]:
    """Full-width letters and digits → ASCII; ideographic space → space; CR → LF; the emoji
    presentation selector and keycap mark (``1️⃣``) → space."""
    src, dst = [], []
    for cp in list(range(0xFF10, 0xFF1A)) + list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B)):
        src.append(chr(cp))
        dst.append(chr(cp - 0xFEE0))
    src.append("\u3000")
    dst.append(" ")
    src.append("\r")
    dst.append("\n")
    src.append("\ufe0f")
    dst.append(" ")
    src.append("\u20e3")
    dst.append(" ")
    return "".join(src), "".join(dst)


# ── public ───────────────────────────────────────────────────────────────────────────────────────
def read_pack(dirs: list[Path]) -> Pack:
    pack = Pack()
    for d in dirs:
        files = sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml"))
        for f in files:
            _merge_file(pack, _read_file(f), str(f))
            pack.files.append(str(f))
    return _finalise(pack)


@lru_cache(maxsize=1)
def _builtin() -> Pack:
    return read_pack([BUILTIN_DIR])


def builtin_pack() -> Pack:
    """The built-in pack (parsed once per process; do not mutate)."""
    return _builtin()


def load_pack(workspace_root: Path | str | None = None) -> Pack:
    """The built-in pack, merged with ``<workspace_root>/rules/*.yaml`` when that folder exists."""
    if workspace_root is None:
        return builtin_pack()
    wdir = Path(workspace_root) / "rules"
    if not wdir.is_dir() or not (list(wdir.glob("*.yaml")) or list(wdir.glob("*.yml"))):
        return builtin_pack()
    return read_pack([BUILTIN_DIR, wdir])
