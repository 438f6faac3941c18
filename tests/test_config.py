import tomllib

import pytest

from zhijian.config import Config, load_config, render_toml
from zhijian.errors import ConfigError
from zhijian.workspace import init_workspace, open_workspace


def test_rendered_toml_holds_every_value_with_its_source(tmp_path):
    text = render_toml(Config())
    data = tomllib.loads(text)
    assert Config.model_validate(data) == Config()
    assert data["policy"]["accounts"]["stale_days"] == 14
    assert data["policy"]["groups"]["zombie_days"] == 90
    assert data["policy"]["privacy"]["min_group_size"] == 5
    # every value line is preceded by a comment naming its source
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert "source:" in lines[i - 1], line


@pytest.mark.parametrize(
    ("snippet", "key", "value"),
    [
        ("[policy.groups]\nzombie_days = -3\n", "policy.groups.zombie_days", "-3"),
        (
            "[policy.working_hours]\nperiods = ['17:30-08:30']\n",
            "policy.working_hours.periods",
            "17:30-08:30",
        ),
        ("[workspace]\ntimezone = 'Mars/Olympus'\n", "workspace.timezone", "Mars/Olympus"),
        ("[workspace]\nengine = 'oracle'\n", "workspace.engine", "oracle"),
        ("[policy.groups]\nzombie_dayz = 3\n", "policy.groups.zombie_dayz", "3"),
    ],
)
def test_wrong_value_names_key_value_and_file(tmp_path, snippet, key, value):
    p = tmp_path / "zhijian.toml"
    p.write_text(snippet, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert key in msg and value in msg and str(p) in msg


def test_malformed_and_missing_toml(tmp_path):
    with pytest.raises(ConfigError, match="zhijian init"):
        load_config(tmp_path / "zhijian.toml")
    p = tmp_path / "zhijian.toml"
    p.write_text("[workspace\nname=", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(p)


def test_newer_workspace_is_refused(tmp_path):
    ws = init_workspace(tmp_path / "w")
    cfg = ws.root / "zhijian.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("format = 1", "format = 99"), encoding="utf-8")
    with pytest.raises(ConfigError, match="99"):
        open_workspace(ws.root)


def test_store_url_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIJIAN_STORE_URL", "postgresql://x@127.0.0.1/y")
    assert Config().store_url(tmp_path) == "postgresql://x@127.0.0.1/y"
    monkeypatch.delenv("ZHIJIAN_STORE_URL")
    assert Config().store_url(tmp_path).startswith("sqlite:///")
