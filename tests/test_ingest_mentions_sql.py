"""The vectorised readers' @-mention SQL (common.mentions_sql, run by DuckDB) equals the Python
readers' mentions_in on every text: the hand-picked edge cases and random texts over the characters
that decide a mention (the @, the name's end characters, line breaks, separators, @all tokens)."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from zhijian.ingest.common import mentions_in, mentions_sql

CASES = [
    "@张三\u2005请回复",
    "@张三 @李四\u2005@张三\u2006收到",
    "第一行@王五\n第二行@赵六",
    "@所有人\u2005开会 @all @All @全体成员 @张三",
    "@" + "名" * 32 + " 长名",
    "@" + "名" * 33 + " 太长",
    "邮箱 a@b.com 不是",
    "@张三,@李四：@王五",
    "@@张三 ",
    "@张三\u200b@李四 ",
    "@张三\r\n@李四\t@王五\u3000",
    "末尾@张三",
    "末尾@张三\n",
    "",
    "@",
    "@ ",
]

ALPHABET = st.sampled_from(
    list("@张三李a1 \u2005\u2006\u200b\n\r\t,，:：\u3000\xa0") + ["所有人", "all", "全体成员"]
)


def _sql(texts: list[str]) -> list[list[str]]:
    db = duckdb.connect()
    db.execute("CREATE TABLE t (i INTEGER, x VARCHAR)")
    db.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(texts)))
    return [r[0] for r in db.execute(f"SELECT {mentions_sql('x')} FROM t ORDER BY i").fetchall()]


def test_mentions_sql_edge_cases():
    assert _sql(CASES) == [mentions_in(t)[0] for t in CASES]
    assert _sql(["@张三 @李四\u2005@张三\u2006收到"]) == [["张三", "李四"]]  # the test can tell


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(ALPHABET, max_size=40).map("".join), min_size=1, max_size=20))
def test_mentions_sql_equals_python(texts):
    assert _sql(texts) == [mentions_in(t)[0] for t in texts]
