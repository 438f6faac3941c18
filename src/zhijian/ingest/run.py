"""One import batch: parse every input, resolve senders and chats, write the lake and the store
atomically.

Parsers push raw message rows into a staging DuckDB database under ``lake/_tmp/<run>/`` (never visible
to readers). :meth:`ImportRun.finish` then resolves chats to store groups and senders to people, hashes
message ids, drops records already in the lake (anti-join on ``message_id``) and streams the result into
a staged lake batch. The store changes (units, people, inventory, new groups, the ``import_batches``
row) ride in one SQLAlchemy transaction. Commit order: lake batches are renamed into place, then the
store commits; if the store commit fails the batches are dropped again, and a batch folder whose id has
no finished ``import_batches`` row (a process killed between the two steps) is removed by the next
import (:func:`reconcile`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import numpy as np
import pyarrow as pa
from sqlalchemy import select

from zhijian.errors import ImportFormatError, ZhijianError
from zhijian.ingest.common import RAW, group_id_for, normalize_phone, sql_str, temp_table
from zhijian.lake.schema import MEMBERSHIPS, MESSAGE_KINDS, MESSAGES
from zhijian.store.models import Group, ImportBatch, Person, Unit

MAX_SKIPPED_LISTED = 200
#: DuckDB buffer pool of the staging database while files are read (raw rows appended in batches).
#: Beyond it DuckDB spills to ``lake/_tmp/import-*/spill``, so reading stays flat in file size
#: (bench/ingest.py measures it at two sizes). Env ZHIJIAN_IMPORT_MEMORY overrides it.
#: 384 MB, as for finishing (so the peak is unchanged): near the limit DuckDB's order-preserving insert
#: falls back to one thread (a 1M-message canonical CSV, 213 MB staged: 256 MB -> one thread and 56 MB
#: spilled, 384 MB -> two threads, nothing spilled).
STAGING_MEMORY = os.environ.get("ZHIJIAN_IMPORT_MEMORY", "384MB")
#: ... and while ids are hashed and the lake batch is written: the window functions and the ordered
#: streaming reader need more room (64 MB fails at 1M messages: "failed to pin block"). 384 MB keeps the
#: peak RSS flat (bench/ingest.py, canonical CSV: 1M messages 583 MB, 4M 740 MB; with 1 GB it was
#: 612 -> 1,210 MB) at no measurable CPU cost at 1M; checked at 2-4M messages on the heavy paths:
#: content-hash ids with ordinals, duplicate ids in the input, re-import over 4M existing ids.
#: Env ZHIJIAN_IMPORT_FINISH_MEMORY overrides it.
FINISH_MEMORY = os.environ.get("ZHIJIAN_IMPORT_FINISH_MEMORY", "384MB")


@dataclass
class ImportSummary:
    batch_id: str
    format: str = ""
    formats: dict[str, int] = field(default_factory=dict)  # format -> files
    files: list[dict[str, Any]] = field(default_factory=list)  # path, format, encoding, records
    parsed: int = 0  # chat records read
    messages: int = 0  # new non-system messages
    system_messages: int = 0  # new system messages
    duplicates: int = 0  # records already in the lake (or repeated in the input)
    groups: int = 0  # chats/groups the messages belong to
    new_groups: int = 0  # chats that matched no inventory group (added unregistered)
    senders: int = 0
    people_matched: int = 0
    people_unmatched: int = 0
    unmatched_senders: list[dict[str, Any]] = field(default_factory=list)
    units: int = 0
    people: int = 0
    inventory_groups: int = 0
    apps: int = 0
    accounts: int = 0
    memberships: int = 0
    skipped_count: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    unknown_headers: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timezone: str = ""
    workspace_timezone: str = ""
    kinds: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_batch_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def reconcile(ws) -> list[str]:
    """Remove lake batch folders left by an import killed between the lake rename and the store
    commit (their id has no finished ``import_batches`` row). Returns the removed batch ids."""
    lake = ws.lake()
    tmp = lake.root / "_tmp"
    if tmp.is_dir():  # staging of imports killed long ago (a running import's folder is fresh)
        import time

        for d in tmp.glob("import-*"):
            try:
                if time.time() - d.stat().st_mtime > 6 * 3600:
                    shutil.rmtree(d, ignore_errors=True)
            except OSError:
                pass
    found: dict[str, list[Path]] = {}
    for name in ("messages", "memberships"):
        d = lake.path(name)
        if d.exists():
            for sub in d.iterdir():
                if sub.is_dir() and sub.name.startswith("batch="):
                    found.setdefault(sub.name[6:], []).append(sub)
    if not found:
        return []
    with ws.store.session() as s:
        done = set(s.scalars(select(ImportBatch.id).where(ImportBatch.status == "done")))
    removed = []
    for bid, dirs in found.items():
        if bid not in done:
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)
            removed.append(bid)
    if removed:
        lake.forget("messages")
        lake.forget("memberships")
    return removed


class Resolver:
    """Sender keys/names -> person ids, chats -> group ids, unit names/codes -> unit ids, from the
    store session (so rows added earlier in the same import are seen)."""

    def __init__(self, session):
        self.s = session
        self._people: tuple[dict[str, str], dict[str, str]] | None = None
        self._units: tuple[dict[str, str], dict[str, list[str]]] | None = None

    def invalidate(self) -> None:
        self._people = None
        self._units = None

    # people
    def people(self) -> tuple[dict[str, str], dict[str, str]]:
        if self._people is None:
            self.s.flush()
            by_alias: dict[str, str] = {}
            names: dict[str, list[str]] = {}
            for pid, name, aliases in self.s.execute(select(Person.id, Person.name, Person.aliases)):
                by_alias[pid] = pid
                for a in aliases or []:
                    if a:
                        by_alias.setdefault(str(a), pid)
                        phone = normalize_phone(str(a))  # 手机号 in the roster, +86… as a WhatsApp sender
                        if phone:
                            by_alias.setdefault(phone, pid)
                names.setdefault(name, []).append(pid)
            unique_names = {n: ids[0] for n, ids in names.items() if len(ids) == 1}
            self._people = (by_alias, unique_names)
        return self._people

    def person(self, key: str | None, name: str | None = None) -> str | None:
        by_alias, by_name = self.people()
        for k in (key, key[4:] if key and key.startswith("raw:") else None):
            if k and k in by_alias:
                return by_alias[k]
        for n in (name, key):
            if n and n in by_name:
                return by_name[n]
        return None

    # units
    def units(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        if self._units is None:
            self.s.flush()
            ids: dict[str, str] = {}
            names: dict[str, list[str]] = {}
            for uid, name in self.s.execute(select(Unit.id, Unit.name)):
                ids[uid] = uid
                names.setdefault(name, []).append(uid)
            self._units = (ids, names)
        return self._units

    def unit(self, ref: str, *, path: str, where: str) -> str:
        ids, names = self.units()
        ref = ref.strip()
        if ref in ids:
            return ref
        cands = names.get(ref, [])
        if len(cands) == 1:
            return cands[0]
        if len(cands) > 1:
            raise _data_error(
                f"单位名称“{ref}”不唯一（{len(cands)} 个单位同名），请改填单位编码",
                f"unit name {ref!r} is ambiguous ({len(cands)} units); use the unit code",
                path,
                where,
            )
        raise _data_error(
            f"找不到单位“{ref}”：请先导入单位表（单位.csv），或核对单位名称/编码",
            f"unknown unit {ref!r}: import the units file first or fix the name/code",
            path,
            where,
        )


def _data_error(zh: str, en: str, path: str, where: str) -> ZhijianError:
    from zhijian.errors import DataError

    return DataError(zh, en, path=path, where=where)


class ImportRun:
    """State of one ``import_paths`` call."""

    def __init__(
        self, ws, *, tz: str | None, date_order: str | None, mapping: dict[str, str] | None, progress
    ):
        self.ws = ws
        self.batch_id = new_batch_id()
        self.ws_tz = ws.config.workspace.timezone
        tzname = tz or self.ws_tz
        try:
            self.export_tz = ZoneInfo(tzname)
        except (ZoneInfoNotFoundError, ValueError):
            raise ImportFormatError(
                f"未知时区 {tzname!r}（应为 IANA 名称，如 Asia/Shanghai）",
                f"unknown time zone {tzname!r}: expected an IANA name such as Asia/Shanghai",
            ) from None
        self.tzname = tzname
        if date_order not in (None, "dmy", "mdy", "ymd"):
            raise ImportFormatError(
                f"--date-order 只能是 dmy、mdy 或 ymd，而不是 {date_order!r}",
                f"--date-order must be dmy, mdy or ymd, not {date_order!r}",
            )
        self.date_order = date_order
        self.mapping = mapping or {}
        self.progress = progress
        self.lake = ws.lake()
        self.work = self.lake.root / "_tmp" / f"import-{self.batch_id}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.summary = ImportSummary(self.batch_id, timezone=tzname, workspace_timezone=self.ws_tz)
        # in-memory staging that spills to lake/_tmp beyond memory_limit: memory stays flat in file size
        self.db = duckdb.connect(":memory:")
        self.db.execute("SET TimeZone='UTC'")
        self.db.execute(f"SET temp_directory='{self.work / 'spill'}'")
        self.db.execute(f"SET memory_limit='{STAGING_MEMORY}'")
        # rows are appended in the order the readers produce them (canonical._number relies on it)
        self.db.execute("SET preserve_insertion_order=true")
        self.db.execute(
            "CREATE TABLE raw (message_id VARCHAR, native_id VARCHAR, source VARCHAR, platform VARCHAR,"
            " chat_key VARCHAR, chat_name VARCHAR, sender_key VARCHAR, sender_name VARCHAR,"
            " ts TIMESTAMPTZ, kind VARCHAR, text VARCHAR, reply_native VARCHAR, reply_to VARCHAR,"
            " mentions VARCHAR[], at_all BOOLEAN, forwarded BOOLEAN, seq BIGINT, bad VARCHAR, file_no INTEGER)"
        )
        self.seq = 0
        #: the input file being read: content-hash ordinals count within one file, so overlapping
        #: exports given in the same call merge like exports imported one after the other
        self.file_no = 0
        self.staged_committed: list[Any] = []
        self.membership_rows: list[dict[str, Any]] = []
        self.session = None
        self.resolver: Resolver | None = None
        self.staged: list[Any] = []
        self.new_groups: dict[str, Group] = {}
        #: values of the file being read whose lone surrogates were replaced (common.RawSink)
        self.repaired = 0

    # ── collecting ────────────────────────────────────────────────────────────────────────────
    def emit(self, table: pa.Table, repaired: int = 0) -> None:
        """Append raw message rows (RAW schema) to the staging table; ``repaired``: how many of their
        values had lone surrogates replaced (reported per file by the pipeline)."""
        self.repaired += repaired
        n = table.num_rows
        if not n:
            return
        table = table.set_column(
            table.schema.get_field_index("seq"),
            "seq",
            pa.array(np.arange(self.seq, self.seq + n, dtype=np.int64)),
        )
        self.seq += n
        self.db.register("_batch", table.cast(RAW))
        self.db.execute(
            f"INSERT INTO raw ({', '.join(RAW.names)}, file_no) SELECT *, {self.file_no} FROM _batch"
        )
        self.db.unregister("_batch")

    def skip(self, path: Any, where: str, reason: str, *, count: int = 1) -> None:
        """A skipped record (``count`` records of one reason: only the first MAX_SKIPPED_LISTED are
        listed with file and line, all are counted)."""
        if count <= 0:
            return
        s = self.summary
        s.skipped_count += count
        s.skipped_reasons[reason] = s.skipped_reasons.get(reason, 0) + count
        if len(s.skipped) < MAX_SKIPPED_LISTED:
            s.skipped.append({"file": str(path), "where": where, "reason": reason})

    def listing_room(self) -> int:
        """How many more skipped records the summary lists one by one."""
        return max(0, MAX_SKIPPED_LISTED - len(self.summary.skipped))

    def warn(self, msg: str) -> None:
        if msg not in self.summary.warnings:
            self.summary.warnings.append(msg)

    # ── finishing ─────────────────────────────────────────────────────────────────────────────
    def _resolve_chats(self) -> dict[str, list]:
        rows = self.db.execute(
            "SELECT platform, chat_key, any_value(chat_name) FILTER (WHERE chat_name IS NOT NULL AND chat_name <> ''),"
            " any_value(source) FROM raw GROUP BY platform, chat_key"
        ).fetchall()
        s = self.session
        by_id = {g.id: g for g in s.scalars(select(Group))}
        by_name: dict[str, list[str]] = {}
        for g in by_id.values():
            by_name.setdefault(g.name, []).append(g.id)
        out_p, out_k, out_g = [], [], []
        for platform, key, name, source in rows:
            gid = None
            if key and key in by_id:
                gid = key
            elif name and len(by_name.get(name, [])) == 1:
                gid = by_name[name][0]
            elif not name and key and len(by_name.get(key, [])) == 1:
                gid = by_name[key][0]
            if gid is None:
                if source in ("canonical_csv", "canonical_jsonl") and key and len(key) <= 64:
                    gid = key
                else:
                    gid = group_id_for(platform or "", key or name or "")
                if gid not in by_id and gid not in self.new_groups:
                    g = Group(
                        id=gid,
                        name=(name or key or gid)[:200],
                        platform=_store_platform(platform),
                        status="active",
                        registered=False,
                        group_type="fixed",
                        tags=[],
                        source=self.batch_id,
                    )
                    s.add(g)
                    self.new_groups[gid] = g
                    by_id[gid] = g
            out_p.append(platform)
            out_k.append(key)
            out_g.append(gid)
        s.flush()
        self.summary.new_groups = len(self.new_groups)
        return {"platform": out_p, "chat_key": out_k, "group_id": out_g}

    def _resolve_senders(self) -> tuple[dict[str, list], dict[str, list]]:
        rows = self.db.execute(
            # most used name of a key first (ties by name): the name listed for an unmatched sender
            # does not depend on the order the staging rows came in
            "SELECT sender_key, sender_name, count(*) AS n FROM raw GROUP BY sender_key, sender_name"
            " ORDER BY n DESC, sender_key NULLS FIRST, sender_name NULLS FIRST"
        ).fetchall()
        r = self.resolver
        keys, names, ids = [], [], []
        matched: set[str] = set()
        unmatched: Counter[str] = Counter()
        unmatched_name: dict[str, str] = {}
        for key, name, n in rows:
            if not key and not name:
                sid = None
            else:
                pid = r.person(key, name)
                if pid is not None:
                    sid = pid
                    matched.add(pid)
                else:
                    k = key or name
                    sid = k if k.startswith("raw:") else "raw:" + k
                    unmatched[sid] += n
                    unmatched_name.setdefault(sid, name or "")
            keys.append(key)
            names.append(name)
            ids.append(sid)
        sm = {"sender_key": keys, "sender_name": names, "sender_id": ids}
        self.summary.people_matched = len(matched)
        self.summary.people_unmatched = len(unmatched)
        self.summary.senders = len(matched) + len(unmatched)
        self.summary.unmatched_senders = [
            {"sender": k, "name": unmatched_name[k], "messages": n}
            # most messages first, ties by id: the same list whatever order the staging rows came in
            for k, n in sorted(unmatched.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
        ]
        # mentions: every alias and unique name of the roster -> person id
        by_alias, by_name = r.people()
        alias = dict(by_name)
        alias.update(by_alias)
        am = {"alias": list(alias), "pid": list(alias.values())}
        return sm, am

    def _existing(self, name: str) -> str | None:
        files = self.lake.files(name)
        if not files:
            return None
        return "[" + ", ".join(sql_str(str(f)) for f in files) + "]"

    def finish_messages(self) -> None:
        db = self.db
        db.execute(f"SET memory_limit='{FINISH_MEMORY}'")
        total, need_hash, carried = db.execute(
            "SELECT count(*), count(*) FILTER (WHERE (message_id IS NULL OR message_id = '') AND native_id IS NULL),"
            " count(*) FILTER (WHERE message_id IS NOT NULL AND message_id <> '') FROM raw"
        ).fetchall()[0]
        self.summary.parsed = total
        if not total:
            return
        # the id of a record that carries one (canonical files) or the hash of its export's own id
        # (nearly every chat export): computed where it is used, in parallel, never stored
        key = _record_id_sql("")
        # no record needs a content hash: the duplicate check of the ids (a parallel DuckDB query, GIL
        # released) runs on its own cursor beside the chat and sender resolution (the store, in Python).
        # When no record carries an id, two ids are equal exactly when their (platform, chat, export id)
        # are: the check compares those and spares the md5 of every record (1M PyWxDump records: 0.2 s
        # of two cores). Records that carry ids are compared by id: a zhijian export carries the very
        # ids the export it came from hashes to.
        # The 64-bit prefilter hashes the three columns, not their concatenation: DuckDB's hash of one
        # long string lets structured keys collide (1M PyWxDump ids, chat + 19-digit id: 13 pairs),
        # and one collision costs the exact count of the strings (0.1-0.15 s at 1M).
        dup_key, dup_hash = (
            (key, None)
            if carried
            else (
                "concat_ws(chr(31), platform, coalesce(chat_key, ''), native_id)",
                "hash(platform, coalesce(chat_key, ''), native_id)",
            )
        )
        content = _content_sql()
        prefiltered = need_hash and not carried
        if prefiltered:
            # Records without ids, none carrying one: when no two records have the same content or
            # the same export id (the 64-bit hashes of both all distinct), no record needs an ordinal,
            # and each id is computed where it is written, as for records with export ids (1M WeChatMsg
            # records: no ids table and no join of it: finish 0.89 -> 0.78 s). Else the ids table below.
            # (Only the hashes are compared, exact=False: a collision sends the records to that table.)
            dup_hash = (
                "CASE WHEN native_id IS NOT NULL THEN hash(0, platform, coalesce(chat_key, ''), native_id)"
                f" ELSE hash(1, {content}) END"
            )
        dup_cur = None if need_hash and carried else db.cursor()  # (carried: the ids table decides)
        try:
            with ThreadPoolExecutor(1) as ex:  # (leaving the block waits for the check, also on errors)
                dup_check = (
                    ex.submit(_dups, dup_cur, "raw", dup_key, dup_hash, exact=not need_hash)
                    if dup_cur is not None
                    else None
                )
                chatmap = self._resolve_chats()
                sendermap, aliasmap = self._resolve_senders()
                temp_table(db, "chatmap", chatmap)
                temp_table(db, "sendermap", sendermap)
                temp_table(db, "aliasmap", aliasmap)
                id_dups = dup_check.result() if dup_check is not None else 0
        finally:
            if dup_cur is not None:
                dup_cur.close()
        self.summary.groups = len(set(chatmap["group_id"]))
        ws_tz = self.ws_tz.replace("'", "")
        existing = self._existing("messages")
        anti = (
            f"ANTI JOIN (SELECT message_id FROM read_parquet({existing})) e ON e.message_id = f.message_id"
            if existing
            else ""
        )
        # content hash of a record without ids; identical records within one file get an ordinal
        h0 = f"md5({content})"
        if prefiltered and id_dups == 0:
            mid, ids_join = f"coalesce({_record_id_sql('r.')}, substr(md5({_content_sql('r.')}), 1, 24))", ""
            dups = 0
        elif need_hash:
            # ids in one pass; the ordinal of identical records within a file (rare) only for the
            # records whose content hash occurs more than once (found by a grouping on a 64-bit hash
            # of it, then exactly by the window function on those few rows)
            db.execute(
                f"""
                CREATE TEMP TABLE ids AS
                SELECT seq, {key} AS mid, NULL::VARCHAR AS h0, file_no FROM raw
                  WHERE (message_id IS NOT NULL AND message_id <> '') OR native_id IS NOT NULL
                UNION ALL
                SELECT seq, NULL, {h0}, file_no FROM raw WHERE (message_id IS NULL OR message_id = '') AND native_id IS NULL
                """
            )
            # identical records within a file share a content hash: they get ordinals (rare; skipped
            # when the ids are already distinct)
            dups = _dups(db, "ids", "coalesce(mid, substr(h0, 1, 24))")
            if dups:
                db.execute(
                    """
                UPDATE ids SET mid = n.mid
                FROM (SELECT seq, substr(md5(h0 || '#' || n), 1, 24) AS mid
                      FROM (SELECT seq, h0, row_number() OVER (PARTITION BY file_no, h0 ORDER BY seq) AS n
                            FROM ids SEMI JOIN (SELECT file_no, hash(h0) AS hh FROM ids WHERE h0 IS NOT NULL
                                                GROUP BY ALL HAVING count(*) > 1) d
                                           ON d.file_no = ids.file_no AND d.hh = hash(ids.h0))
                      WHERE n > 1) n
                WHERE ids.seq = n.seq
                """
                )
                dups = _dups(db, "ids", "coalesce(mid, substr(h0, 1, 24))")
            mid, ids_join = "coalesce(i.mid, substr(i.h0, 1, 24))", "JOIN ids i USING (seq)"
        else:
            mid, ids_join = _record_id_sql("r."), ""
            dups = id_dups
        dedup = "QUALIFY row_number() OVER (PARTITION BY f.message_id ORDER BY f.seq) = 1" if dups else ""
        db.execute(
            """
            CREATE TEMP TABLE ment AS
            SELECT seq, list(coalesce(a.pid, CASE WHEN x LIKE 'raw:%' THEN x ELSE 'raw:' || x END) ORDER BY pos) AS mentions
            FROM (SELECT seq, unnest(mentions) AS x, generate_subscripts(mentions, 1) AS pos FROM raw
                  WHERE len(mentions) > 0) u
            LEFT JOIN aliasmap a ON a.alias = CASE WHEN x LIKE 'raw:%' THEN substr(x, 5) ELSE x END
            GROUP BY seq
            """
        )
        kinds = ", ".join(f"'{k}'" for k in MESSAGE_KINDS)
        q = f"""
            WITH full_rows AS (
              SELECT {mid} AS message_id, r.source, c.group_id, s.sender_id, r.sender_name, r.ts,
                     timezone('{ws_tz}', r.ts) AS local_ts,
                     CASE WHEN r.kind IN ({kinds}) THEN r.kind ELSE 'other' END AS kind, r.text,
                     coalesce(nullif(r.reply_to, ''),
                              CASE WHEN r.reply_native IS NOT NULL AND r.reply_native <> ''
                                   THEN substr(md5(concat_ws(chr(31), r.platform, coalesce(r.chat_key, ''), r.reply_native)), 1, 24)
                              END) AS reply_to,
                     coalesce(m.mentions, []::VARCHAR[]) AS mentions,
                     coalesce(r.at_all, false) AS at_all, coalesce(r.forwarded, false) AS forwarded,
                     '{self.batch_id}' AS batch_id, r.seq
              FROM raw r {ids_join}
              JOIN chatmap c ON c.platform IS NOT DISTINCT FROM r.platform AND c.chat_key IS NOT DISTINCT FROM r.chat_key
              LEFT JOIN sendermap s ON s.sender_key IS NOT DISTINCT FROM r.sender_key
                                   AND s.sender_name IS NOT DISTINCT FROM r.sender_name
              LEFT JOIN ment m ON m.seq = r.seq
            )
            SELECT f.* EXCLUDE (seq) FROM full_rows f {anti}
            {dedup}
        """
        st = self.lake.stage_batch("messages", self.batch_id, MESSAGES)
        self.staged.append(st)
        kinds_count: Counter[str] = Counter()
        reader = db.sql(q).to_arrow_reader(100_000)

        # the Parquet writer (GIL released) overlaps with DuckDB producing the next batch
        with ThreadPoolExecutor(1) as ex:
            fut = None
            for b in reader:
                if fut is not None:
                    fut.result()
                fut = ex.submit(st.write, b)
                vc = b.column(b.schema.get_field_index("kind")).value_counts()
                for item in vc.to_pylist():
                    kinds_count[item["values"]] += item["counts"]
            if fut is not None:
                fut.result()
        added = sum(kinds_count.values())
        self.summary.system_messages = kinds_count.get("system", 0)
        self.summary.messages = added - self.summary.system_messages
        self.summary.duplicates = total - added
        self.summary.kinds = dict(kinds_count)

    def finish_memberships(self) -> None:
        if not self.membership_rows:
            return
        r = self.resolver
        rows = []
        for m in self.membership_rows:
            pid = r.person(m["person_key"], None) or "raw:" + m["person_key"]
            rows.append(
                {
                    "group_id": m["group_id"],
                    "person_id": pid,
                    "role": m["role"],
                    "joined_at": m["joined_at"],
                    "left_at": m["left_at"],
                    "batch_id": self.batch_id,
                }
            )
        t = pa.Table.from_pylist(rows, schema=MEMBERSHIPS)
        self.db.register("mem_new", t)
        existing = self._existing("memberships")
        anti = (
            f"ANTI JOIN read_parquet({existing}) e ON e.group_id = n.group_id AND e.person_id = n.person_id"
            " AND e.role IS NOT DISTINCT FROM n.role AND e.joined_at IS NOT DISTINCT FROM n.joined_at"
            " AND e.left_at IS NOT DISTINCT FROM n.left_at"
            if existing
            else ""
        )
        out = self.db.sql(f"SELECT DISTINCT n.* FROM mem_new n {anti}").to_arrow_table()
        if out.num_rows:
            st = self.lake.stage_batch("memberships", self.batch_id, MEMBERSHIPS)
            self.staged.append(st)
            st.write(out)
        self.summary.memberships = out.num_rows

    def close(self) -> None:
        try:
            self.db.close()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        shutil.rmtree(self.work, ignore_errors=True)


def _record_id_sql(r: str) -> str:
    """SQL of a staged record's message id, over columns prefixed ``r``: its ``message_id`` when it
    carries one (canonical files), else the hash of platform, chat and its export's own id
    (``native_id``); NULL for a record with neither (its id is a content hash, see finish_messages)."""
    return (
        f"CASE WHEN {r}message_id IS NOT NULL AND {r}message_id <> '' THEN {r}message_id"
        f" WHEN {r}native_id IS NOT NULL THEN substr(md5(concat_ws(chr(31), {r}platform,"
        f" coalesce({r}chat_key, ''), {r}native_id)), 1, 24) END"
    )


def _dups(db, table: str, expr: str, hashed: str | None = None, *, exact: bool = True) -> int:
    """Rows minus distinct ids ``expr``: distinct 64-bit hashes of ``hashed`` (SQL of the values the
    id is made of, equal whenever the ids are; default ``hash(expr)``) first, which is cheap; only if
    they collide, exactly (``exact=False``: -1 then, for a caller that only needs to know that every
    id is distinct)."""
    n, distinct = db.execute(
        f"SELECT count(*), count(DISTINCT {hashed or f'hash({expr})'}) FROM {table}"
    ).fetchall()[0]
    if n == distinct:
        return 0
    if not exact:
        return -1
    return db.execute(f"SELECT count(*) - count(DISTINCT {expr}) FROM {table}").fetchall()[0][0]


def _content_sql(r: str = "") -> str:
    """SQL of the text a staged record without ids is hashed from (its content hash), over columns
    prefixed ``r``."""
    return (
        f"concat_ws(chr(31), {r}platform, coalesce({r}chat_key, ''), CAST(epoch_us({r}ts) AS VARCHAR),"
        f" coalesce({r}sender_key, ''), coalesce({r}sender_name, ''), {r}kind, coalesce({r}text, ''))"
    )


_PLATFORMS = {"wechat", "wecom", "dingtalk", "qq", "telegram", "whatsapp", "slack", "feishu"}


def _store_platform(p: str | None) -> str:
    p = (p or "").lower()
    return p if p in _PLATFORMS else "other"
