"""The PostgreSQL connection pool and the schema, when CADCHAT_DATABASE_URL is set.

Several app hosts share one database: the user codes, their feedback counts, the library's
usage counts and the daily chat token budget live there (see usercodes/pgstore.py and
chat/shared_budget.py). The pool is small on purpose: reads are served from each host's memory,
so only writes and a change poll a second reach the database; a 2 GB host runs the service and
maybe the database itself, whose backends cost some MB each.

The schema is versioned: MIGRATIONS is an ordered list of SQL scripts, applied at start-up in one
transaction under an advisory lock (two hosts starting together apply each script once), and
recorded in `schema_version`. A database whose schema is newer than this code is refused: an
older release must not write into tables it does not understand.

The password never travels in logs or the process list: it comes from the URL (kept out of
every message by `redact_url`), from CADCHAT_DATABASE_PASSWORD_FILE, or from libpq's own
PGPASSWORD / PGPASSFILE, which asyncpg reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiohttp import web

from cadchat.config import Settings, redact_url
from cadchat.keys import DATABASE, SETTINGS

log = logging.getLogger(__name__)

# pg_advisory_xact_lock keys: 64-bit constants unique to this application ("CADCHAT" + 0, 1, 2).
MIGRATION_LOCK = 0x43414443_48415400  # schema changes
STORE_MIGRATION_LOCK = MIGRATION_LOCK + 1  # cadchat migrate-store
CREATE_LOCK = MIGRATION_LOCK + 2  # creates near the store's size limit

# Each entry: the schema version it creates, and its SQL. Append only; never edit a released one.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        -- Ids come from a sequence: never max()+1, so an id is never handed out twice, even
        -- after a delete, a rollback or by two hosts at once.
        CREATE SEQUENCE user_code_ids AS integer MINVALUE 1 MAXVALUE 9999999 NO CYCLE;
        -- Every write of a row takes the next change number, so hosts can follow changes.
        CREATE SEQUENCE change_numbers AS bigint;

        CREATE FUNCTION stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.change := nextval('change_numbers');
            NEW.txid := txid_current();
            RETURN NEW;
        END $$;

        CREATE TABLE user_codes (
            id integer PRIMARY KEY CHECK (id BETWEEN 1 AND 9999999),
            command text NOT NULL,
            description text NOT NULL,
            code text NOT NULL,
            code_sha256 text NOT NULL,
            tags text[] NOT NULL DEFAULT '{}',
            created_at text NOT NULL,
            updated_at text NOT NULL,
            usage_count bigint NOT NULL DEFAULT 0 CHECK (usage_count >= 0),
            success_count bigint NOT NULL DEFAULT 0 CHECK (success_count >= 0),
            origin text NOT NULL,
            legacy jsonb,
            -- A deleted code stays as a tombstone (content cleared), so other hosts see it go.
            deleted boolean NOT NULL DEFAULT false,
            change bigint NOT NULL,
            txid bigint NOT NULL
        );
        CREATE INDEX user_codes_txid ON user_codes (txid);
        CREATE TRIGGER user_codes_change BEFORE INSERT OR UPDATE ON user_codes
            FOR EACH ROW EXECUTE FUNCTION stamp_change();

        CREATE INDEX user_codes_live ON user_codes (id) WHERE NOT deleted;

        CREATE TABLE library_usage (
            command text PRIMARY KEY,
            usage_count bigint NOT NULL CHECK (usage_count >= 0),
            success_count bigint NOT NULL CHECK (success_count >= 0),
            updated_at text NOT NULL,
            change bigint NOT NULL,
            txid bigint NOT NULL
        );
        CREATE INDEX library_usage_txid ON library_usage (txid);
        CREATE TRIGGER library_usage_change BEFORE INSERT OR UPDATE ON library_usage
            FOR EACH ROW EXECUTE FUNCTION stamp_change();

        CREATE TABLE chat_token_budget (
            day date PRIMARY KEY,
            spent bigint NOT NULL CHECK (spent >= 0)
        );
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


class DatabaseError(RuntimeError):
    """The database cannot be used: unreachable, refused us, or has a schema we do not know.
    The message is one line and never holds a password."""


class SchemaTooNew(DatabaseError):
    pass


def read_password(settings: Settings) -> str | None:
    """The password from CADCHAT_DATABASE_PASSWORD_FILE (first line), or None: then the URL's
    own, or PGPASSWORD / PGPASSFILE."""
    path: Path | None = settings.database_password_file
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise DatabaseError(f"cannot read CADCHAT_DATABASE_PASSWORD_FILE {path}: {reason}") from None
    lines = text.splitlines()
    password = lines[0].strip() if lines else ""
    if not password:
        raise DatabaseError(f"CADCHAT_DATABASE_PASSWORD_FILE {path} is empty")
    return password


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


async def create_pool(settings: Settings, url: str | None = None, *, max_size: int | None = None) -> Any:
    """An asyncpg pool on `url` (default CADCHAT_DATABASE_URL) with the schema brought up to
    date. Raises DatabaseError (one line, password redacted)."""
    url = url or settings.database_url
    shown = redact_url(url)
    password = read_password(settings)
    secrets = [p for p in (password, urlsplit(url).password if "://" in url else None) if p]

    def reason(exc: BaseException) -> str:
        text = _reason(exc)
        for secret in secrets:  # no driver message may carry it, whatever it quotes
            text = text.replace(secret, "***")
        return text

    statement_ms = int(settings.database_statement_timeout * 1000)
    try:
        pool = await asyncpg.create_pool(
            dsn=url,
            password=password,
            min_size=1,
            max_size=max_size or settings.database_pool_size,
            timeout=settings.database_connect_timeout,
            # The client gives up a little after the server would have cancelled the statement.
            command_timeout=settings.database_statement_timeout + 1.0,
            server_settings={
                "application_name": "cadchat",
                # An acknowledged write is on the database's disk, whatever the server's default.
                "synchronous_commit": "on",
                "statement_timeout": str(statement_ms),
                "idle_in_transaction_session_timeout": str(max(statement_ms * 2, 10_000)),
            },
        )
    except (OSError, asyncio.TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as exc:
        raise DatabaseError(f"database {shown} is unreachable: {reason(exc)}") from None
    except asyncpg.PostgresError as exc:
        raise DatabaseError(f"database {shown} refused the connection: {reason(exc)}") from None
    except ValueError as exc:
        raise DatabaseError(f"database URL {shown} is not valid: {reason(exc)}") from None
    try:
        await migrate(pool)
    except BaseException:
        await pool.close()
        raise
    return pool


async def migrate(pool: Any) -> int:
    """Apply the scripts the database lacks; returns the schema version. Raises SchemaTooNew
    for a schema newer than this code, DatabaseError when the database is not UTF-8."""
    async with pool.acquire() as conn:
        encoding = await conn.fetchval("SHOW server_encoding")
        if encoding != "UTF8":
            raise DatabaseError(
                f"the database's encoding is {encoding}: codes are stored byte for byte in UTF8 only"
            )
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
            if current > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"the database's schema is version {current}, newer than this cadchat's "
                    f"{SCHEMA_VERSION}: upgrade cadchat (never run an older release on a newer schema)"
                )
            for version, sql in MIGRATIONS:
                if version > current:
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
                    log.info("database schema: applied version %d", version)
    return SCHEMA_VERSION


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """The pool, opened (and the schema migrated) before the stores that use it."""
    settings = app[SETTINGS]
    app[DATABASE] = await create_pool(settings)
    log.info(
        "database %s: schema version %d, pool of up to %d connections",
        redact_url(settings.database_url),
        SCHEMA_VERSION,
        settings.database_pool_size,
    )
    yield
    await app[DATABASE].close()
