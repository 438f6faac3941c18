"""The portability lint of rule patterns (RE2 ∩ Java ∩ Python) and its use when packs load."""

from __future__ import annotations

import pytest

from zhijian.rules.lint import lint_pattern
from zhijian.rules.pack import RulePackError, builtin_pack, load_pack


@pytest.mark.parametrize(
    "pattern",
    [
        r"[0-9]+分钟\d",  # \d matches full-width digits in Python only
        r"\b收到\b",
        r"\p{Han}+",
        r"\u6536\u5230",
        r"\w+收到",
        r"\s*收到",
        r"收到(?=请回复)",
        r"收到(?!了)",
        r"(?<=请)回复",
        r"(?<!不)回复",
        r"(收到)\1",
        r"(?P<x>收到)(?P=x)",
        r"(?i)ok",
        r"[a-z&&[^b]]",
        r"[[:alpha:]]",
        r"回复{,3}",
        r"回复*+",
        r"\x{6536}",
        r"[收到",
    ],
)
def test_lint_rejects_unportable(pattern):
    assert lint_pattern(pattern), pattern


@pytest.mark.parametrize(
    "pattern",
    [
        r"收到(?:请|务必)?回复",
        r"[0-9]{1,3}[.、．)）]",
        r"[^。！？；!?;\n]{0,12}打卡",
        r"\[强\]|\[抱拳\]",
        r"^(?:收到|好的)[,，.。!！]*$",
        r"@[^ \n,，:：]{1,20}",
        r"a\-b\.c\(d\)",
    ],
)
def test_lint_accepts_portable(pattern):
    assert lint_pattern(pattern) == []


def test_builtin_pack_is_portable():
    pack = builtin_pack()
    assert len(pack.rules) >= 30
    for r in pack.rules:
        assert lint_pattern(r.compiled) == [], r.id
        assert r.source.strip(), r.id
        for u in r.compiled_unless:
            assert lint_pattern(u) == [], r.id
    for m in pack.masks:
        assert lint_pattern(m.compiled) == [], m.id


def test_workspace_rule_with_unportable_pattern_is_rejected(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "local.yaml").write_text(
        "rules:\n  - id: local.bad\n    label: checkin_demand\n    pattern: '\\d+点打卡'\n    source: test\n",
        encoding="utf-8",
    )
    with pytest.raises(RulePackError) as e:
        load_pack(tmp_path)
    assert "local.bad" in str(e.value) and "local.yaml" in str(e.value)


@pytest.mark.parametrize(
    "body, expect",
    [
        ("rules:\n  - id: x.y\n    label: nonsense\n    pattern: 'a'\n    source: s\n", "nonsense"),
        ("rules:\n  - id: x.y\n    label: checkin_demand\n    pattern: 'a'\n", "source"),
        (
            "rules:\n  - id: x.y\n    label: checkin_demand\n    pattern: '{nolex}打卡'\n    source: s\n",
            "nolex",
        ),
        ("rules:\n  - id: x.y\n    label: checkin_demand\n    pattern: 'a*'\n    source: s\n", "empty"),
        ("rules: [\n", "YAML"),
        ("masks:\n  - id: m\n    view: demand\n    pattern: 'a'\n    replace: '$1'\n    source: s\n", "$"),
    ],
)
def test_malformed_workspace_rules_name_the_problem(tmp_path, body, expect):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "local.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(RulePackError) as e:
        load_pack(tmp_path)
    assert expect in str(e.value)
