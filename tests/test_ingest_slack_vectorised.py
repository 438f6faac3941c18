"""The Slack reader maps an export folder in SQL (``slack._slack_vectorised``: one DuckDB read of
every day file) when every record maps there exactly as the Python loop (``slack._row``) maps it,
with the few records the SQL cannot render exactly (other HTML entities, user groups, a broadcast
only in ``blocks``, many mentions, a ts of another form, an odd ``is_share``) mapped by ``_row``
afterwards, and leaves the whole export to the Python loop otherwise (a record to skip, a field of
another type, a file DuckDB cannot read). Both ways must give the same messages and the same
summary, on generated exports full of what real ones hold."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zhijian.ingest.slack as slack
from import_helpers import import_and_read
from zhijian.errors import ImportFormatError

FIX = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "exports" / "slack"

#: users.json: display names with the characters Slack markup uses (they are rendered before the
#: links and entities are, exactly as Python orders it)
USERS = {
    "U01": "王科长",
    "U02": "",
    "U03": "A&amp;B",
    "U04": "x<y",
    "U05": "a|b>",
    "U06": "李四",
    "U07": "<!here>",
}
TEXTS = [
    "收到", "", " ", "\u3000", "多行\n内容\r\n", "<@U01> 请看", "<@U02|bob> 和 <@U99>", "<@U03><@U04><@U05>",
    "<@U01> <@U01|again> <@U06>", "<@U01><@U02><@U03><@U04><@U05><@U06>", "<!channel> 开会", "<!here|here> x",
    "<!everyone>", "<!channelx>", "看 <#C0001|general> 频道", "<#C0002>", "<!subteam^S01|@防汛组> 注意",
    "<!subteam^S02>", "链接 <https://example.gov.cn/a?b=1&amp;c=2|通知全文>", "<https://example.com/x>",
    "<mailto:a@b.cn|写信>", "<https://a.cn/|>", "<http://x.cn|<@U01>>", "A &amp; B &lt;3 &gt; 2",
    "&amp;lt; 不是 <", "&quot;引号&quot;", "&#39;单引号&#39;", "&copy 2024", "AT&T", "&", "<@U07> 说",
    "<https://a.cn/<@U04>|x>", "<@U01|>", "👍", "x" * 300, "<>", "<@u01>", "@所有人 不算",
]  # fmt: skip
SUBTYPES = [
    None,
    None,
    None,
    "channel_join",
    "bot_message",
    "tombstone",
    "thread_broadcast",
    "pinned_item",
    "",
]
MIMES = ["image/png", "video/mp4", "audio/mpeg", "application/pdf", "", None, 5]


def _message(rnd: random.Random, i: int, base: int, odd: bool) -> dict:
    ts = f"{base + i * 13}.{rnd.randrange(1000000):06d}"
    r = rnd.random()
    if r < 0.05:
        ts = rnd.choice(
            [str(base + i * 13), f"{base + i * 13}.5", f"{base + i * 13}.1234567", f"{base + i * 13}."]
        )
    m: dict = {"type": "message", "ts": ts, "text": rnd.choice(TEXTS)}
    if rnd.random() < 0.05:
        m["text"] = None
    if rnd.random() < 0.2:
        m["subtype"] = rnd.choice(SUBTYPES)
    who = rnd.random()
    if who < 0.7:
        m["user"] = rnd.choice(["U01", "U02", "U03", "U06", "U99", "U98", ""])
    if who > 0.6:
        m["bot_id"] = rnd.choice(["B01", "", None])
    if rnd.random() < 0.3:
        m["username"] = rnd.choice(["机器人", "", None])
    if rnd.random() < 0.5:
        m["user_profile"] = rnd.choice(
            [
                {"display_name": "小王", "real_name": "王五"},
                {"display_name": "", "real_name": "赵六"},
                {},
                None,
            ]
        )
    if rnd.random() < 0.15:
        m["thread_ts"] = rnd.choice([ts, f"{base}.000100", ""])
    if rnd.random() < 0.1:
        m["files"] = rnd.choice(
            [
                [{"mimetype": rnd.choice(MIMES), "name": rnd.choice(["图.png", "", None]), "title": "标题"}],
                [{"mimetype": "image/jpeg"}, {"mimetype": "video/mp4"}],
                [],
                [5],
                None,
            ]
        )
    if rnd.random() < 0.1:
        m["attachments"] = rnd.choice(
            [
                [{"title": "标题", "fallback": "后备", "from_url": "https://a.cn"}],
                [{"title": "", "fallback": "", "from_url": "https://a.cn/x"}],
                [{"fallback": "只有后备", "is_share": True}],
                [{"is_share": False}, {"is_share": True}],
                [{"is_share": 1}],
                [{"is_share": "yes"}],
                ["x"],
                [],
            ]
        )
        if rnd.random() < 0.5:
            m["text"] = rnd.choice(["", " ", "\u2005", "\n\t", "\x1c"])
    if rnd.random() < 0.1:
        m["blocks"] = rnd.choice(
            [
                [{"type": "rich_text", "elements": [{"type": "broadcast", "range": "channel"}]}],
                [{"type": "rich_text", "elements": [{"type": "text", "text": "broadcast"}]}],
                [{"type": "rich_text", "elements": [{"type": "text", "text": "普通"}]}],
            ]
        )
    if odd and rnd.random() < 0.01:
        k = rnd.randrange(4)
        if k == 0:
            return "不是对象"  # type: ignore[return-value]
        if k == 1:
            del m["ts"]
        if k == 2:
            m["ts"] = base + i * 13 + 0.25
        if k == 3:
            m["text"] = 12
    return m


def _export(root: Path, n: int, seed: int, *, odd: bool = False, users: dict[str, str] = USERS) -> Path:
    """An export folder: channels.json, groups.json, users.json and channel folders of day files
    (one folder not listed in channels.json, an empty day file, ts shared by two messages of one
    channel so that which one is kept depends on the file order)."""
    rnd = random.Random(seed)
    root.mkdir(parents=True)
    (root / "channels.json").write_text(
        json.dumps([{"id": "C0001", "name": "general"}, {"id": "C0002", "name": "防汛"}]), encoding="utf-8"
    )
    (root / "groups.json").write_text(json.dumps([{"id": "G0001", "name": "私密群"}]), encoding="utf-8")
    (root / "users.json").write_text(
        json.dumps(
            [
                {"id": k, "name": f"n{k}", "real_name": f"真名{k}", "profile": {"display_name": v}}
                for k, v in users.items()
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    base = 1714957200
    i = 0
    for folder in ("general", "防汛", "私密群", "C0009", "random"):
        for day in range(1, 6):
            msgs = []
            for _ in range(rnd.randrange(0, n // 12 + 2)):
                i += 1
                msgs.append(_message(rnd, i, base, odd))
            if day == 3 and msgs and isinstance(msgs[0], dict):  # a ts given twice in one channel
                msgs.append(dict(msgs[0], text="同一 ts 的另一条"))
            (root / folder).mkdir(exist_ok=True)
            (root / folder / f"2024-05-0{day}.json").write_text(
                json.dumps(msgs, ensure_ascii=False, indent=rnd.choice([None, 4])).replace("/", "\\/"),
                encoding="utf-8",
            )
    (root / "random" / "2024-06-01.json").write_text("[]", encoding="utf-8")
    return root


def _both(tmp_path, monkeypatch, path: Path, *, pieces: bool = False):
    # the day files read directly, or copied into pieces (the tests' files are small: pieces by default)
    monkeypatch.setattr(slack, "PIECES_BELOW_MEAN_FILE_BYTES", 1 << 40 if pieces else 0)
    used: list = []
    real = slack._slack_vectorised

    def spy(*a, **k):
        r = real(*a, **k)
        used.append(r is not None)
        return r

    fast = import_and_read(tmp_path, "fast", path, "slack", monkeypatch, [(slack, "_slack_vectorised", spy)])
    slow = import_and_read(
        tmp_path, "slow", path, "slack", monkeypatch, [(slack, "_slack_vectorised", lambda *a, **k: None)]
    )
    assert fast[0] == slow[0]
    assert fast[1].astype(str).equals(slow[1].astype(str))
    return fast, used


@pytest.mark.parametrize("pieces", [False, True], ids=["files", "pieces"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_mapping_equals_the_python_loop(tmp_path, monkeypatch, seed, pieces):
    path = _export(tmp_path / "export", 3000, seed)
    converted: list[int] = []
    real_convert = slack._convert

    def convert(users):
        c = real_convert(users)

        def spy(o):
            converted.append(1)
            return c(o)

        return spy

    monkeypatch.setattr(slack, "_convert", convert)
    (summary, msgs), used = _both(tmp_path, monkeypatch, path, pieces=pieces)
    assert used == [True]
    assert 0 < len(converted) < summary["messages"] / 2  # the odd records only
    assert summary["messages"] > 2000 and summary["skipped_count"] == 0 and summary["duplicates"] > 0
    assert set(msgs["kind"]) >= {"text", "system", "recall", "image", "video", "voice", "file", "link"}
    assert msgs["at_all"].any() and msgs["forwarded"].any() and msgs["reply_to"].notna().any()
    assert msgs["mentions"].map(len).max() >= 5 and msgs["sender_id"].isna().any()
    texts = set(msgs["text"])
    assert "@x<y" in texts or any("@x<y" in t for t in texts)
    assert any("通知全文 (https://example.gov.cn/a?b=1&c=2)" in t for t in texts)


def test_a_small_export_with_many_users_keeps_the_file_order(tmp_path, monkeypatch):
    """The users table is larger than the messages: DuckDB's optimizer would make the messages the
    build side of the joins (and lose their order) if it were not switched off."""
    users = dict(USERS, **{f"U{k:05d}": f"用户{k}" for k in range(20000)})
    path = _export(tmp_path / "export", 60, 5, users=users)
    (summary, _msgs), used = _both(tmp_path, monkeypatch, path)
    assert used == [True]
    assert summary["duplicates"] > 0


def test_a_record_to_skip_leaves_the_export_to_python(tmp_path, monkeypatch):
    path = _export(tmp_path / "export", 3000, 4, odd=True)
    (summary, _msgs), used = _both(tmp_path, monkeypatch, path)
    assert used == [False]
    assert summary["skipped_count"] > 0 and summary["messages"] > 2000


@pytest.mark.parametrize(
    "bad",
    [
        '[{"ts": "1714957200.000100", "text": "a"}',
        '{"ts": "1714957200.000100"}',
        '[{"ts": "1714957200.000100", "text": "中文"}]'.encode("gb18030"),
    ],
)
def test_a_file_duckdb_cannot_read_goes_to_python(tmp_path, monkeypatch, bad):
    path = _export(tmp_path / "export", 200, 6)
    day = path / "general" / "2024-05-09.json"
    if isinstance(bad, bytes):
        day.write_bytes(bad)
    else:
        day.write_text(bad, encoding="utf-8")
    if isinstance(bad, bytes):  # a GB18030 day file: the Python loop reads it
        (summary, msgs), used = _both(tmp_path, monkeypatch, path)
        assert used == [False] and "中文" in set(msgs["text"])
        return
    for name in ("fast", "slow"):
        patch = [] if name == "fast" else [(slack, "_slack_vectorised", lambda *a, **k: None)]
        with pytest.raises(ImportFormatError):
            import_and_read(tmp_path, name, path, "slack", monkeypatch, patch)


def test_the_fixture_export_maps_in_sql(tmp_path, monkeypatch):
    (summary, _msgs), used = _both(tmp_path, monkeypatch, FIX / "slackdump_source_export.zip")
    assert used == [True]
    assert summary["messages"] == 15


def test_a_folder_name_duckdb_reads_as_a_pattern_goes_to_python(tmp_path, monkeypatch):
    """``[a]`` would be a glob pattern to DuckDB's reader (it names ``a``)."""
    path = _export(tmp_path / "export", 200, 7)
    (path / "random").rename(path / "[general]")
    (summary, _msgs), used = _both(tmp_path, monkeypatch, path)
    assert used == [False]
    assert summary["groups"] == 5 and summary["messages"] > 100


def test_small_day_files_are_read_in_pieces(tmp_path, monkeypatch):
    """Below a mean day-file size of ``PIECES_BELOW_MEAN_FILE_BYTES`` (the default here) the day
    files are copied into a few pieces, read by DuckDB as the files are, with the same result."""
    path = _export(tmp_path / "export", 600, 8)
    sizes = [f.stat().st_size for f in path.glob("*/*.json")]
    assert sum(sizes) < slack.PIECES_BELOW_MEAN_FILE_BYTES * len(sizes)
    made: list = []
    real = slack._pieces
    monkeypatch.setattr(slack, "_pieces", lambda *a, **k: made.append(1) or real(*a, **k))
    (summary, _msgs), used = _both(tmp_path, monkeypatch, path, pieces=True)
    assert used == [True] and made == [1] and summary["messages"] > 400


@pytest.mark.parametrize(
    "text",
    [
        '[{"ts": "1714957200.000100", "text": "a"}], "m": [{"ts": "1714957201.000100"}]',
        '[{"ts": "1714957200.000100", "text": "a"}], "g": 1',
        "",
        "\ufeff[]",
    ],
    ids=["second-m", "extra-key", "empty", "bom"],
)
def test_a_day_file_that_is_not_one_array_is_not_read_in_pieces(tmp_path, monkeypatch, text):
    """A day file's text must not add keys to the object that wraps it in a piece: such a file
    (valid inside the wrapper, invalid alone) leaves the export to the Python loop, which rejects it
    as before; an empty array with a BOM is read in pieces."""
    path = _export(tmp_path / "export", 200, 9)
    (path / "general" / "2024-05-09.json").write_text(text, encoding="utf-8")
    if text.endswith("[]"):
        (summary, _msgs), used = _both(tmp_path, monkeypatch, path, pieces=True)
        assert used == [True]
        return
    monkeypatch.setattr(slack, "PIECES_BELOW_MEAN_FILE_BYTES", 1 << 40)
    for name in ("fast", "slow"):
        patch = [] if name == "fast" else [(slack, "_slack_vectorised", lambda *a, **k: None)]
        with pytest.raises(ImportFormatError):
            import_and_read(tmp_path, name, path, "slack", monkeypatch, patch)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\,: ab中\n', max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), kids, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_JSON, max_size=4), _JSON, st.sampled_from([None, 2, 4]))
def test_one_array_tells_a_lone_array_from_one_with_text_after_it(a, b, indent):
    """The pieces' guard (``slack._one_array``) takes every JSON array as written, and no array
    followed by the text that would add a key to the wrapping object."""
    text = json.dumps(a, ensure_ascii=False, indent=indent).encode()
    assert slack._one_array(text)
    assert not slack._one_array(text + b', "k": ' + json.dumps(b, ensure_ascii=False).encode())


def test_one_array_gives_up_on_deep_nesting():
    """Each level of nesting costs the guard a pass over the brackets: a day file nested deeper than
    slack._MAX_NESTING is left to the Python loop (which reads it, or reports it nested too deeply)
    rather than costing quadratic time."""
    deep = slack._MAX_NESTING + 5
    assert slack._one_array(b"[" * (slack._MAX_NESTING - 5) + b"]" * (slack._MAX_NESTING - 5))
    assert not slack._one_array(b"[" * deep + b"]" * deep)
    assert not slack._one_array(b"[" * 200_000 + b"]" * 200_000)  # at once, not in minutes
