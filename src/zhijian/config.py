"""Workspace configuration: ``zhijian.toml``, validated with pydantic.

Every policy value of PRODUCT.md §4 is a field here with its default and its source; the
commented ``zhijian.toml`` written by ``zhijian init`` is generated from these fields, so the
file and the code cannot drift apart.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zhijian.errors import ConfigError

CONFIG_FILE = "zhijian.toml"
#: Bumped when the layout of a workspace changes incompatibly.
WORKSPACE_FORMAT = 1

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")


def _f(default: Any, zh: str, source: str, **kw: Any) -> Any:
    return Field(default, description=zh, json_schema_extra={"source": source}, **kw)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class WorkingHours(_Section):
    weekdays: list[int] = _f(
        [1, 2, 3, 4, 5], "工作日（1=周一 … 7=周日）", "common government schedule; no national rule"
    )
    periods: list[str] = _f(
        ["08:30-12:00", "14:00-17:30"],
        "工作时段（本地时间 HH:MM-HH:MM）",
        "common government schedule; no national rule",
    )
    chinese_calendar: bool = _f(
        True,
        "按国务院法定节假日和调休上班日调整工作日",
        "chinesecalendar package (国务院办公厅 holiday notices)",
    )

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        bad = [d for d in v if d not in range(1, 8)]
        if bad:
            raise ValueError(f"weekdays must be 1..7, got {bad}")
        return v

    @field_validator("periods")
    @classmethod
    def _periods(cls, v: list[str]) -> list[str]:
        for p in v:
            if not _HHMM.match(p) or p[:5] >= p[6:]:
                raise ValueError(f"period {p!r} must look like 'HH:MM-HH:MM' with start < end")
        return v


class AfterHours(_Section):
    urgent_exempt: bool = _f(
        True,
        "标注紧急/应急/安保的消息不计入非工作时间要求",
        "珠海香洲 2019; 湖北 2019 (不得作为24小时工作媒介)",
    )


class GroupPolicy(_Section):
    inactive_days: int = _f(
        30, "工作群无实质性消息多少天视为不活跃", "Orchestry / ShareGate 90-day default", ge=1
    )
    zombie_days: int = _f(
        90, "工作群无实质性消息多少天视为僵尸群", "Orchestry / ShareGate 90-day default", ge=1
    )
    empty_min_members: int = _f(3, "成员少于该数视为空壳群", "黄石 回头看 2022 (空壳类)", ge=0)
    temp_end_grace_days: int = _f(
        7, "临时群超过预计解散日期多少天形成问题线索", "Entra group expiration; 若干意见 2023", ge=0
    )
    reminder_days: list[int] = _f([30, 15, 1], "临时群到期前提醒（天）", "Entra group expiration policy")
    off_topic_share: float = _f(
        0.6, "闲聊消息占比超过该值视为聊天群", "鹤峰县纪委 2019; 黄冈某县 2019", ge=0, le=1
    )
    merged_max_daily_messages: int = _f(
        150,
        "合并后预计每日消息超过该值时不建议直接合并（转人工研判）",
        "research/policy.md §d: merged groups reach 200–300 messages a day (桂林日报 2026-02-05); kept below that",
        ge=1,
    )


class AccountPolicy(_Section):
    stale_days: int = _f(14, "政务公众账号多少天未更新视为更新不及时", "国办秘函〔2019〕19号", ge=1)
    zombie_days: int = _f(60, "政务公众账号多少天未更新视为僵尸账号", "高台县 2025 clue notice", ge=1)
    cleanup_days: int = _f(90, "政务公众账号多少天未更新应予清理", "贵州 2025 Q2 spot check", ge=1)


class AppPolicy(_Section):
    max_per_unit: int = _f(
        1, "省、市级单位面向基层的政务应用程序上限", "国办函〔2026〕12号; 四川 四个一律", ge=0
    )
    lowest_build_level: Literal["province", "city", "county"] = _f(
        "county", "可建设政务应用程序的最低层级（其下一律不得建设）", "国办函〔2026〕12号"
    )
    forbidden_features: list[str] = _f(
        ["checkin", "points", "online_time", "ranking"],
        "禁止的强制使用功能",
        "若干意见 2023; 国办函〔2026〕12号",
    )
    exempt_tags: list[str] = _f(["安保", "应急"], "豁免打卡等功能的对象标签", "若干意见 2023; 曲靖 2024")
    idle_days: int = _f(
        60, "政务应用程序多少天无人使用视为僵尸应用", "高台县 2025 clue notice (两个月未更新)", ge=1
    )


class PrivacyPolicy(_Section):
    min_group_size: int = _f(5, "单位统计数据最少人数", "Viva Insights minimum group size", ge=1)


class CluePolicy(_Section):
    receipt_digits: int = _f(16, "匿名线索回执位数", "GlobaLeaks receipt", ge=16, le=32)
    retention_days: int = _f(90, "线索办结后保留天数", "GlobaLeaks data retention", ge=1)


class Policy(_Section):
    working_hours: WorkingHours = WorkingHours()
    after_hours: AfterHours = AfterHours()
    groups: GroupPolicy = GroupPolicy()
    accounts: AccountPolicy = AccountPolicy()
    apps: AppPolicy = AppPolicy()
    privacy: PrivacyPolicy = PrivacyPolicy()
    clues: CluePolicy = CluePolicy()


class WorkspaceSection(_Section):
    name: str = _f("我的县", "工作区名称（县/市名称）", "set at zhijian init")
    format: int = _f(WORKSPACE_FORMAT, "工作区格式版本（勿改）", "zhijian", ge=1)
    timezone: str = _f("Asia/Shanghai", "导出记录所用时区", "PRODUCT.md §3", min_length=1)
    engine: Literal["duckdb", "spark"] = _f("duckdb", "分析引擎", "PRODUCT.md §5")
    store_url: str = _f("", "业务库地址；空 = 工作区内 SQLite（ZHIJIAN_STORE_URL 优先）", "PRODUCT.md §5")
    lake: str = _f(
        "lake", "数据湖目录（相对工作区或绝对路径；在集群上用各节点共享的挂载路径）", "PRODUCT.md §3"
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r} (expected an IANA name such as Asia/Shanghai)") from e
        return v


class SparkSection(_Section):
    master: str = _f("local[2]", "Spark master 地址", "Apache Spark docs", min_length=1)
    driver_memory: str = _f("4g", "Spark driver 内存", "Apache Spark docs", min_length=1)
    shuffle_partitions: int = _f(8, "Spark shuffle 分区数", "research/engines.md", ge=1)


class Config(_Section):
    workspace: WorkspaceSection = WorkspaceSection()
    policy: Policy = Policy()
    spark: SparkSection = SparkSection()

    def store_url(self, root: Path) -> str:
        env = os.environ.get("ZHIJIAN_STORE_URL")
        if env:
            return env
        if self.workspace.store_url:
            return self.workspace.store_url
        return f"sqlite:///{(root / 'store.sqlite').resolve()}"


def _explain(err: ValidationError, path: Path) -> ConfigError:
    lines_zh, lines_en = [], []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        val = e.get("input")
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            lines_zh.append(f"未知配置项 [{key}]（值 {val!r}）")
            lines_en.append(f"unknown key {key} (value {val!r})")
        else:
            lines_zh.append(f"配置项 {key} 的值 {val!r} 不合法：{msg}")
            lines_en.append(f"{key} = {val!r} is not allowed: {msg}")
    return ConfigError("；".join(lines_zh), "; ".join(lines_en), path=str(path))


def load_config(path: Path) -> Config:
    """Read and validate a ``zhijian.toml``; every problem becomes a :class:`ConfigError`."""
    if not path.exists():
        raise ConfigError(
            "找不到配置文件 zhijian.toml；请先运行 zhijian init 创建工作区",
            "zhijian.toml not found; run `zhijian init DIR` first",
            path=str(path),
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError("配置文件不是 UTF-8 编码", f"not UTF-8: {e}", path=str(path)) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"配置文件格式错误：{e}", f"malformed TOML: {e}", path=str(path)) from e
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise _explain(e, path) from e
    if cfg.workspace.format > WORKSPACE_FORMAT:
        raise ConfigError(
            f"该工作区由更新版本的 zhijian 创建（格式 {cfg.workspace.format}，本程序支持 {WORKSPACE_FORMAT}），请升级 zhijian",
            f"workspace format {cfg.workspace.format} is newer than this zhijian supports ({WORKSPACE_FORMAT}); upgrade",
            path=str(path),
            where="workspace.format",
        )
    return cfg


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def render_toml(cfg: Config) -> str:
    """A commented ``zhijian.toml`` holding every value of ``cfg``, each with its meaning and source."""
    out = [
        "# zhijian 工作区配置 / workspace configuration",
        "# 每个策略值都注明含义和依据；可按本县实际修改。Every policy value names its source.",
        "",
    ]

    def emit(model: BaseModel, prefix: str) -> None:
        scalars, subs = [], []
        for name, field in type(model).model_fields.items():
            val = getattr(model, name)
            (subs if isinstance(val, BaseModel) else scalars).append((name, field, val))
        if scalars:
            out.append(f"[{prefix}]")
            for name, field, val in scalars:
                src = (field.json_schema_extra or {}).get("source", "")
                out.append(f"# {field.description}（依据 source: {src}）")
                out.append(f"{name} = {_toml_value(val)}")
            out.append("")
        for name, _field, val in subs:
            emit(val, f"{prefix}.{name}" if prefix else name)

    for name in Config.model_fields:
        emit(getattr(cfg, name), name)
    return "\n".join(out)
