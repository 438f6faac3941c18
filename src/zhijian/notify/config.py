"""``<workspace>/notify.toml``: where reminders go. Kept out of ``zhijian.toml`` because robot
webhook URLs and SMTP accounts are credentials (the SMTP password is read from an environment
variable, never from a file)::

    [smtp]
    host = "smtp.example.gov.cn"
    port = 25
    sender = "zhijian@example.gov.cn"
    starttls = false           # STARTTLS after connecting
    ssl = false                # SMTP over TLS (port 465)
    username = ""              # login when set; password from $ZHIJIAN_SMTP_PASSWORD

    [[robots]]                 # group robots of the office's notification groups
    name = "减负办企业微信群"
    kind = "wecom"             # wecom | dingtalk
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
    msgtype = "markdown"       # markdown | text

    [[robots]]
    name = "减负办钉钉群"
    kind = "dingtalk"
    url = "https://oapi.dingtalk.com/robot/send?access_token=…"
    secret = "SEC…"            # 加签 secret, when the robot uses it

    [recipients]               # person id -> e-mail address (else an alias containing '@')
    pA0 = "zhang@example.gov.cn"

    [delivery]
    max_attempts = 5
    backoff_minutes = [1, 5, 30, 120]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zhijian.errors import ConfigError

FILE = "notify.toml"


class _S(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Smtp(_S):
    host: str
    port: int = 25
    sender: str
    starttls: bool = False
    ssl: bool = False
    username: str = ""
    password_env: str = "ZHIJIAN_SMTP_PASSWORD"
    timeout: float = 15


class Robot(_S):
    name: str
    kind: Literal["wecom", "dingtalk"]
    url: str
    secret: str = ""
    msgtype: Literal["markdown", "text"] = "markdown"


class Delivery(_S):
    max_attempts: int = Field(5, ge=1, le=50)
    backoff_minutes: list[int] = Field(default_factory=lambda: [1, 5, 30, 120])
    timeout: float = 10


class NotifyConfig(_S):
    smtp: Smtp | None = None
    robots: list[Robot] = Field(default_factory=list)
    recipients: dict[str, str] = Field(default_factory=dict)
    delivery: Delivery = Delivery()

    def robot(self, name: str) -> Robot | None:
        return next((r for r in self.robots if r.name == name), None)


def load(ws_root: Path) -> NotifyConfig:
    path = Path(ws_root) / FILE
    if not path.exists():
        return NotifyConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"notify.toml 格式错误：{e}", f"malformed notify.toml: {e}", path=str(path)) from e
    try:
        return NotifyConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        raise ConfigError(
            f"notify.toml 配置项 {key} 不合法：{err['msg']}",
            f"{key}: {err['msg']}",
            path=str(path),
            where=key,
        ) from e
