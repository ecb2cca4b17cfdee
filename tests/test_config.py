"""Settings: environment, .env, aliases, flags, and one clear line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cadchat.config import ConfigError, load_settings


def test_defaults_are_the_offline_newcomer_setup(tmp_path: Path) -> None:
    s = load_settings(environ={}, env_file=tmp_path / "none")
    assert (s.host, s.port, s.data_dir, s.llm_provider, s.dashscope_api_key) == (
        "127.0.0.1",
        5000,
        Path("data"),
        "auto",
        "",
    )
    assert s.watch and not s.watch_polling


def test_seed_deployment_aliases(tmp_path: Path) -> None:
    s = load_settings(environ={"FLASK_HOST": "0.0.0.0", "FLASK_PORT": "8080"}, env_file=tmp_path / "none")
    assert (s.host, s.port) == ("0.0.0.0", 8080)
    both = {"FLASK_PORT": "8080", "CADCHAT_PORT": "9000"}
    assert load_settings(environ=both, env_file=tmp_path / "none").port == 9000


def test_env_file_then_environment_then_flags(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nexport CADCHAT_PORT=6000\nCADCHAT_LOG_LEVEL='debug'\nCADCHAT_DATA_DIR=\"/srv/x\"\n",
        encoding="utf-8",
    )
    s = load_settings(environ={}, env_file=env_file)
    assert (s.port, s.log_level, s.data_dir) == (6000, "DEBUG", Path("/srv/x"))
    s = load_settings(environ={"CADCHAT_PORT": "7000"}, env_file=env_file)
    assert s.port == 7000
    s = load_settings(
        environ={"CADCHAT_PORT": "7000"}, overrides={"port": 7100, "host": None}, env_file=env_file
    )
    assert (s.port, s.host) == (7100, "127.0.0.1")


def test_env_file_path_from_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("CADCHAT_SEARCH_LIMIT=7\n", encoding="utf-8")
    assert load_settings(environ={"CADCHAT_ENV_FILE": str(env_file)}).search_limit == 7


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("CADCHAT_PORT", "abc", "must be an integer"),
        ("FLASK_PORT", "70000", "between 1 and 65535"),
        ("CADCHAT_WATCH", "maybe", "true or false"),
        ("CADCHAT_LLM_PROVIDER", "openai", "must be one of auto, offline, dashscope, bailian"),
        ("CADCHAT_MATCH_THRESHOLD", "2", "between 0.0 and 1.0"),
        ("CADCHAT_DASHSCOPE_BASE_URL", "ftp://x", "http:// or https://"),
        ("CADCHAT_LOG_FORMAT", "xml", "must be one of text, json"),
        ("CADCHAT_MAX_BODY_BYTES", "10", "between 1024"),
    ],
)
def test_invalid_values_name_the_variable(tmp_path: Path, variable: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={variable: value}, env_file=tmp_path / "none")
    assert info.value.variable == variable
    assert str(info.value).startswith(f"invalid {variable}=")
    assert reason in str(info.value)


def test_env_file_inline_comments_quotes_and_export(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "\ufeff# dev settings\r\n"
        "CADCHAT_PORT=5000 # dev\r\n"
        "export CADCHAT_HOST='127.0.0.2'  # quoted, then a comment\r\n"
        'CADCHAT_DASHSCOPE_BASE_URL="http://127.0.0.1:9/x#y"\r\n'
        "\r\n",
        encoding="utf-8",
    )
    s = load_settings(environ={}, env_file=env_file)
    assert (s.port, s.host) == (5000, "127.0.0.2")
    assert s.dashscope_base_url == "http://127.0.0.1:9/x#y"


def test_malformed_env_file_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("CADCHAT_PORT=1\nthis is not an assignment\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2 is not KEY=VALUE"):
        load_settings(environ={}, env_file=env_file)


def test_api_key_never_in_repr_or_errors(tmp_path: Path) -> None:
    s = load_settings(environ={"DASHSCOPE_API_KEY": "sk-secret-123"}, env_file=tmp_path / "none")
    assert s.dashscope_api_key == "sk-secret-123"
    assert "sk-secret-123" not in repr(s)


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("CADCHAT_", "FLASK_", "DASHSCOPE_"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "cadchat", *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_bad_value_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("serve", env={"CADCHAT_PORT": "http"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "cadchat: invalid CADCHAT_PORT='http': must be an integer"
    assert "Traceback" not in result.stderr


def test_cli_bad_flag_port(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "0", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid --port='0'" in result.stderr
