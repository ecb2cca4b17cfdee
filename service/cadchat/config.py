"""Settings from the environment, an optional `.env` file and command-line flags.

Precedence: flags, then the process environment, then `.env` (path in CADCHAT_ENV_FILE,
default `./.env`), then defaults. Every value is checked here, once: a bad one stops start-up
with a single line naming the variable.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

BUNDLED_LIBRARY_NAMES = ("autocad_basic_commands.txt", "lisp_commands.txt")
LEGACY_LIBRARY_NAMES = BUNDLED_LIBRARY_NAMES  # the seed deployment's file names, in its data dir
N = TypeVar("N", int, float)
PROVIDERS = ("auto", "offline", "dashscope", "bailian")


class ConfigError(ValueError):
    def __init__(self, variable: str, value: str, reason: str) -> None:
        shown = value if len(value) <= 60 else value[:57] + "..."
        super().__init__(f"invalid {variable}={shown!r}: {reason}")
        self.variable = variable


def bundled_library_dir() -> Path:
    return Path(str(resources.files("cadchat") / "data"))


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    data_dir: Path = Path("data")
    # Explicit library files/folders; empty means the defaults (see library_sources()).
    library_paths: tuple[Path, ...] = ()
    bundled_libraries: bool = True
    watch: bool = True
    watch_polling: bool = False
    watch_debounce: float = 0.3
    watch_poll_interval: float = 1.0
    max_body_bytes: int = 1024 * 1024
    match_threshold: float = 0.2
    search_limit: int = 10
    query_cache_size: int = 4096
    llm_provider: str = "auto"
    llm_model: str = "qwen-plus"
    dashscope_api_key: str = field(default="", repr=False)
    dashscope_base_url: str = ""
    bailian_app_id: str = ""
    log_level: str = "INFO"
    log_format: str = "text"
    access_log: bool = True
    access_log_interval: float = 0.25
    # user code storage
    user_codes_max_code_bytes: int = 256 * 1024
    user_codes_max_command_chars: int = 100
    user_codes_max_description_chars: int = 2000
    user_codes_max_tags: int = 20
    user_codes_max_count: int = 100_000
    user_codes_import_legacy: bool = True
    # PostgreSQL (empty URL: the file store in the data dir)
    database_url: str = field(default="", repr=False)
    database_password_file: Path | None = None
    database_pool_size: int = 5
    database_statement_timeout: float = 5.0
    database_connect_timeout: float = 5.0
    database_poll_interval: float = 1.0
    # chat
    chat_connect_timeout: float = 5.0
    chat_first_token_timeout: float = 20.0
    chat_total_timeout: float = 120.0
    chat_retries: int = 2
    chat_retry_backoff: float = 0.5
    chat_max_concurrency: int = 32
    chat_rate_limit: float = 20.0
    chat_rate_burst: int = 10
    chat_trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    chat_cache_size: int = 256
    chat_cache_ttl: float = 600.0
    chat_daily_token_budget: int = 1_000_000
    chat_breaker_failures: int = 5
    chat_breaker_cooldown: float = 30.0
    chat_context_commands: int = 6
    chat_lisp_repair: bool = True
    chat_lisp_repair_timeout: float = 60.0
    chat_max_output_tokens: int = 1500
    chat_dense_retrieval: bool = False
    chat_embedding_model: str = "text-embedding-v4"
    chat_embedding_dimension: int = 512
    # operations and access control
    request_metrics: bool = True
    shutdown_grace: float = 10.0
    # SHA-256 hex digests of the accepted tokens (the tokens themselves are never kept)
    api_tokens: tuple[str, ...] = field(default=(), repr=False)
    api_tokens_file: tuple[str, ...] = field(default=(), repr=False)
    api_auth: str = "writes"
    admin_tokens: tuple[str, ...] = field(default=(), repr=False)
    cors_origins: tuple[str, ...] = ()
    metrics_token: tuple[str, ...] = field(default=(), repr=False)
    metrics_allow: tuple[str, ...] = ()

    @property
    def user_codes_dir(self) -> Path:
        return self.data_dir / "user_codes"

    @property
    def command_files_dir(self) -> Path:
        return self.data_dir / "command_files"


# --- value parsers: each returns the typed value or raises ValueError(reason) ---------------


def _in_range(kind: Callable[[str], N], what: str, low: N, high: N) -> Callable[[str], N]:
    def parse(raw: str) -> N:
        try:
            value = kind(raw.strip())
        except ValueError:
            raise ValueError(f"must be {what}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _int_range(low: int, high: int) -> Callable[[str], int]:
    return _in_range(int, "an integer", low, high)


def _float_range(low: float, high: float) -> Callable[[str], float]:
    return _in_range(float, "a number", low, high)


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


def _choice(*allowed: str, upper: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def _text(raw: str) -> str:
    return raw.strip()


def _host(raw: str) -> str:
    value = raw.strip()
    if not value or any(c.isspace() for c in value):
        raise ValueError("must be a host name or IP address")
    return value


def _path(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("must not be empty")
    return Path(raw.strip()).expanduser()


def _paths(raw: str) -> tuple[Path, ...]:
    parts = [p.strip() for chunk in raw.split(os.pathsep) for p in chunk.split(",")]
    return tuple(Path(p).expanduser() for p in parts if p)


def _database_url(raw: str) -> str:
    value = raw.strip()
    if value and not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be a postgresql:// URL (or empty for the file store)")
    return value


def _optional_path(raw: str) -> Path | None:
    return Path(raw.strip()).expanduser() if raw.strip() else None


def redact_url(url: str) -> str:
    """A database URL fit for logs and messages: any password (in the user part or a
    `password=` parameter) replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        userinfo, _, hostpart = authority.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}{':***' if colon else ''}@{hostpart}"
    tail = re.sub(r"(?i)(^|[?&])(password=)[^&]*", r"\1\2***", tail)
    return f"{scheme}{sep}{authority}{slash}{tail}"


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _token_digests(raw: str, *, source: str = "") -> tuple[str, ...]:
    """Tokens, comma- or line-separated, as SHA-256 hex digests. An entry `sha256:<64 hex>` is a
    digest already (so a file need not hold the token itself); others must be 16+ characters."""
    digests = []
    for number, line in enumerate(raw.replace(",", "\n").splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        where = f"{source} line {number}: " if source else ""
        if entry.startswith("sha256:"):
            digest = entry[len("sha256:") :].lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(f"{where}sha256: must be followed by 64 hex digits")
            digests.append(digest)
        elif len(entry) < 16 or any(c.isspace() or not c.isprintable() for c in entry):
            raise ValueError(f"{where}a token must be 16 or more printable characters without spaces")
        else:
            digests.append(hashlib.sha256(entry.encode()).hexdigest())
    return tuple(digests)


def _token_file(raw: str) -> tuple[str, ...]:
    path = _path(raw)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    digests = _token_digests(text, source=path.name)
    if not digests:
        raise ValueError("holds no token")
    return digests


def _origins(raw: str) -> tuple[str, ...]:
    origins = []
    for part in raw.split(","):
        origin = part.strip().rstrip("/")
        if not origin:
            continue
        scheme, sep, rest = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest or "*" in rest:
            raise ValueError("must be origins like https://cad.example.com (scheme and host, no path)")
        origins.append(origin)
    return tuple(origins)


def _networks(raw: str) -> tuple[str, ...]:
    networks = []
    for part in raw.split(","):
        if part.strip():
            try:
                networks.append(str(ipaddress.ip_network(part.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not an IP address or CIDR network") from None
    return tuple(networks)


# field name -> (environment variables, first wins; parser)
ENVIRONMENT: dict[str, tuple[tuple[str, ...], Callable[[str], Any]]] = {
    "host": (("CADCHAT_HOST", "FLASK_HOST"), _host),
    "port": (("CADCHAT_PORT", "FLASK_PORT"), _int_range(1, 65535)),
    "data_dir": (("CADCHAT_DATA_DIR",), _path),
    "library_paths": (("CADCHAT_LIBRARY_PATHS",), _paths),
    "bundled_libraries": (("CADCHAT_BUNDLED_LIBRARIES",), _bool),
    "watch": (("CADCHAT_WATCH",), _bool),
    "watch_polling": (("CADCHAT_WATCH_POLLING",), _bool),
    "watch_debounce": (("CADCHAT_WATCH_DEBOUNCE",), _float_range(0.0, 60.0)),
    "watch_poll_interval": (("CADCHAT_WATCH_POLL_INTERVAL",), _float_range(0.1, 300.0)),
    "max_body_bytes": (("CADCHAT_MAX_BODY_BYTES",), _int_range(1024, 1024**3)),
    "match_threshold": (("CADCHAT_MATCH_THRESHOLD",), _float_range(0.0, 1.0)),
    "search_limit": (("CADCHAT_SEARCH_LIMIT",), _int_range(1, 100)),
    "query_cache_size": (("CADCHAT_QUERY_CACHE_SIZE",), _int_range(0, 1_000_000)),
    "llm_provider": (("CADCHAT_LLM_PROVIDER",), _choice(*PROVIDERS)),
    "llm_model": (("CADCHAT_LLM_MODEL",), _text),
    "dashscope_api_key": (("DASHSCOPE_API_KEY",), _text),
    "dashscope_base_url": (("CADCHAT_DASHSCOPE_BASE_URL", "DASHSCOPE_HTTP_BASE_URL"), _url),
    "bailian_app_id": (("BAILIAN_APP_ID",), _text),
    "log_level": (("CADCHAT_LOG_LEVEL",), _choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True)),
    "log_format": (("CADCHAT_LOG_FORMAT",), _choice("text", "json")),
    "access_log": (("CADCHAT_ACCESS_LOG",), _bool),
    "access_log_interval": (("CADCHAT_ACCESS_LOG_INTERVAL",), _float_range(0.01, 60.0)),
    # user code storage
    "user_codes_max_code_bytes": (("CADCHAT_USER_CODE_MAX_BYTES",), _int_range(16, 64 * 1024 * 1024)),
    "user_codes_max_command_chars": (("CADCHAT_USER_CODE_MAX_COMMAND_CHARS",), _int_range(1, 1000)),
    "user_codes_max_description_chars": (
        ("CADCHAT_USER_CODE_MAX_DESCRIPTION_CHARS",),
        _int_range(1, 100_000),
    ),
    "user_codes_max_tags": (("CADCHAT_USER_CODE_MAX_TAGS",), _int_range(0, 1000)),
    "user_codes_max_count": (("CADCHAT_USER_CODE_MAX_COUNT",), _int_range(1, 9_999_999)),
    "user_codes_import_legacy": (("CADCHAT_USER_CODE_IMPORT_LEGACY",), _bool),
    "database_url": (("CADCHAT_DATABASE_URL",), _database_url),
    "database_password_file": (("CADCHAT_DATABASE_PASSWORD_FILE",), _optional_path),
    "database_pool_size": (("CADCHAT_DATABASE_POOL_SIZE",), _int_range(1, 100)),
    "database_statement_timeout": (("CADCHAT_DATABASE_STATEMENT_TIMEOUT",), _float_range(0.1, 3600.0)),
    "database_connect_timeout": (("CADCHAT_DATABASE_CONNECT_TIMEOUT",), _float_range(0.1, 300.0)),
    "database_poll_interval": (("CADCHAT_DATABASE_POLL_INTERVAL",), _float_range(0.05, 60.0)),
    # chat
    "chat_connect_timeout": (("CADCHAT_CHAT_CONNECT_TIMEOUT",), _float_range(0.1, 120.0)),
    "chat_first_token_timeout": (("CADCHAT_CHAT_FIRST_TOKEN_TIMEOUT",), _float_range(0.1, 600.0)),
    "chat_total_timeout": (("CADCHAT_CHAT_TOTAL_TIMEOUT",), _float_range(0.1, 3600.0)),
    "chat_retries": (("CADCHAT_CHAT_RETRIES",), _int_range(0, 10)),
    "chat_retry_backoff": (("CADCHAT_CHAT_RETRY_BACKOFF",), _float_range(0.0, 60.0)),
    "chat_max_concurrency": (("CADCHAT_CHAT_MAX_CONCURRENCY",), _int_range(1, 100_000)),
    "chat_rate_limit": (("CADCHAT_CHAT_RATE_LIMIT",), _float_range(0.0, 1_000_000.0)),
    "chat_rate_burst": (("CADCHAT_CHAT_RATE_BURST",), _int_range(1, 1_000_000)),
    "chat_trusted_proxies": (
        ("CADCHAT_CHAT_TRUSTED_PROXIES",),
        lambda raw: tuple(p.strip() for p in raw.split(",") if p.strip()),
    ),
    "chat_cache_size": (("CADCHAT_CHAT_CACHE_SIZE",), _int_range(0, 1_000_000)),
    "chat_cache_ttl": (("CADCHAT_CHAT_CACHE_TTL",), _float_range(0.0, 86400.0 * 7)),
    "chat_daily_token_budget": (("CADCHAT_CHAT_DAILY_TOKEN_BUDGET",), _int_range(0, 10**12)),
    "chat_lisp_repair": (("CADCHAT_CHAT_LISP_REPAIR",), _bool),
    "chat_lisp_repair_timeout": (("CADCHAT_CHAT_LISP_REPAIR_TIMEOUT",), _float_range(0.1, 600.0)),
    "chat_breaker_failures": (("CADCHAT_CHAT_BREAKER_FAILURES",), _int_range(1, 10_000)),
    "chat_breaker_cooldown": (("CADCHAT_CHAT_BREAKER_COOLDOWN",), _float_range(0.1, 86400.0)),
    "chat_context_commands": (("CADCHAT_CHAT_CONTEXT_COMMANDS",), _int_range(1, 50)),
    "chat_max_output_tokens": (("CADCHAT_CHAT_MAX_OUTPUT_TOKENS",), _int_range(16, 32_000)),
    "chat_dense_retrieval": (("CADCHAT_CHAT_DENSE_RETRIEVAL",), _bool),
    "chat_embedding_model": (("CADCHAT_CHAT_EMBEDDING_MODEL",), _text),
    "chat_embedding_dimension": (
        ("CADCHAT_CHAT_EMBEDDING_DIMENSION",),
        lambda raw: int(_choice("64", "128", "256", "512", "768", "1024", "1536", "2048")(raw)),
    ),
    # operations and access control
    "request_metrics": (("CADCHAT_REQUEST_METRICS",), _bool),
    "shutdown_grace": (("CADCHAT_SHUTDOWN_GRACE",), _float_range(0.0, 3600.0)),
    "api_tokens": (("CADCHAT_API_TOKENS",), _token_digests),
    "api_tokens_file": (("CADCHAT_API_TOKENS_FILE",), _token_file),
    "api_auth": (("CADCHAT_API_AUTH",), _choice("writes", "all")),
    "admin_tokens": (("CADCHAT_ADMIN_TOKENS",), _token_digests),
    "cors_origins": (("CADCHAT_CORS_ORIGINS",), _origins),
    "metrics_token": (("CADCHAT_METRICS_TOKEN",), _token_digests),
    "metrics_allow": (("CADCHAT_METRICS_ALLOW",), _networks),
}


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as python-dotenv reads them: `export ` prefixes, comments (whole-line and
    inline after unquoted values, `CADCHAT_PORT=5000 # dev`), quotes and escapes; no `${}`
    expansion. A line that is not KEY=VALUE is a ConfigError naming its number."""
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError("CADCHAT_ENV_FILE", str(path), f"cannot read: {exc.strerror}") from None
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            number = binding.original.line
            raise ConfigError("CADCHAT_ENV_FILE", str(path), f"line {number} is not KEY=VALUE")
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    env_file: Path | None = None,
) -> Settings:
    """Build Settings from `.env`, the environment (which wins) and flag overrides (which win)."""
    environ = dict(os.environ if environ is None else environ)
    if env_file is None:
        env_file = Path(environ.get("CADCHAT_ENV_FILE", ".env"))
    merged = {**read_env_file(env_file), **environ}
    values: dict[str, Any] = {}
    for name, (variables, parse) in ENVIRONMENT.items():
        for variable in variables:
            if variable in merged:
                raw = merged[variable]
                try:
                    values[name] = parse(raw)
                except ValueError as exc:
                    shown = "***" if "KEY" in variable or "TOKEN" in variable else raw
                    if variable == "CADCHAT_DATABASE_URL":
                        shown = redact_url(raw)
                    raise ConfigError(variable, shown, str(exc)) from None
                break
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    return Settings(**values)
