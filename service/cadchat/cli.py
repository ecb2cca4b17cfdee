"""`cadchat serve | check-library | lisp-check | import-legacy | migrate-store | backup | restore |
verify-backup` (and `python -m cadchat`)."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cadchat import __version__
from cadchat.backup import ArchiveRefused, BackupError, TargetNotEmpty
from cadchat.config import ConfigError, load_settings
from cadchat.database import DatabaseError
from cadchat.library.parser import decode, parse_file
from cadchat.usercodes.disk import StoreLocked
from cadchat.usercodes.migrate import MigrationFailed

log = logging.getLogger("cadchat")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cadchat", description="CADChat server")
    parser.add_argument("--version", action="version", version=f"cadchat {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="listen address (env CADCHAT_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (env CADCHAT_PORT, default 5000)")
    serve.add_argument("--data-dir", type=Path, help="data directory (env CADCHAT_DATA_DIR, default ./data)")

    check = commands.add_parser("check-library", help="parse command-library files and report problems")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--quiet", "-q", action="store_true", help="problems only, not every command")

    lisp = commands.add_parser("lisp-check", help="check AutoLISP files without running them")
    lisp.add_argument("files", nargs="+", type=Path)
    lisp.add_argument("--json", action="store_true", help="one JSON document with every file's report")
    lisp.add_argument(
        "--library",
        action="append",
        type=Path,
        default=[],
        help='command-library file whose names (command "X") may call; default: the bundled ones',
    )

    legacy = commands.add_parser("import-legacy", help="import a legacy user_codes.txt store (idempotent)")
    legacy.add_argument("path", type=Path, help="the legacy user_codes.txt, or the folder holding it")
    legacy.add_argument("--data-dir", type=Path, help="data directory (env CADCHAT_DATA_DIR, default ./data)")

    migrate = commands.add_parser(
        "migrate-store",
        help="move the file store (with its legacy imports) into PostgreSQL, verified; idempotent",
    )
    migrate.add_argument("--from", dest="source", choices=["files"], required=True, help="the store to read")
    migrate.add_argument(
        "--to",
        dest="target",
        help="postgresql:// URL without a password (default CADCHAT_DATABASE_URL); the password "
        "comes from CADCHAT_DATABASE_PASSWORD_FILE, PGPASSWORD or ~/.pgpass",
    )
    migrate.add_argument(
        "--data-dir", type=Path, help="data directory (env CADCHAT_DATA_DIR, default ./data)"
    )

    backup = commands.add_parser(
        "backup", help="write a consistent backup archive (tar.gz) of the data directory; safe while serving"
    )
    backup.add_argument("--data-dir", type=Path, help="data directory (env CADCHAT_DATA_DIR, default ./data)")
    backup.add_argument("--output", "-o", required=True, help="archive to write, or - for standard output")

    restore = commands.add_parser(
        "restore", help="verify a backup archive and restore it into an empty data directory"
    )
    restore.add_argument(
        "--data-dir", type=Path, help="data directory (env CADCHAT_DATA_DIR, default ./data)"
    )
    restore.add_argument(
        "--input",
        "-i",
        required=True,
        help="the backup archive, or - for standard input (spooled to a temp file)",
    )

    verify = commands.add_parser("verify-backup", help="check a backup archive without touching anything")
    verify.add_argument("archive", help="the backup archive, or - for standard input")
    return parser


def check_library(files: Sequence[Path], quiet: bool = False, out=None) -> int:
    """Print what each file yields and every problem; exit 1 if any file has errors."""
    out = out or sys.stdout
    failed = False
    for path in files:
        parsed = parse_file(path)
        if not quiet:
            for c in parsed.commands:
                alias = f" ({c.alias})" if c.aliases else ""
                print(f"{path}:{c.line}: {c.name}{alias} [{c.type}] {c.description}", file=out)
        for problem in parsed.problems:
            print(problem, file=out)
        errors = sum(1 for p in parsed.problems if p.severity == "error")
        warnings = len(parsed.problems) - errors
        verdict = "REJECTED" if parsed.rejected else "ok"
        print(
            f"{path}: {verdict}: {len(parsed.commands)} commands, {errors} errors, {warnings} warnings"
            + (f", {parsed.encoding}" if parsed.encoding else ""),
            file=out,
        )
        failed = failed or errors > 0
    return 1 if failed else 0


def read_lisp_file(path: Path) -> tuple[str, str]:
    """Text and encoding of a .lsp file, decoded as the library loader does (UTF-8, else GBK /
    GB 18030), with Windows-1251 for Cyrillic files that are neither. Raises OSError."""
    data = path.read_bytes()
    try:
        return decode(data)
    except UnicodeDecodeError:
        return data.decode("cp1251"), "cp1251"


def _library_commands(files: Sequence[Path]) -> set[str]:
    if not files:
        bundled = Path(__file__).parent / "data"
        files = sorted(bundled.glob("*.txt"))
    names: set[str] = set()
    for path in files:
        for command in parse_file(path).commands:
            names.add(command.key)
            names.update(a.upper() for a in command.aliases)
    return names


def lisp_check(
    files: Sequence[Path], *, as_json: bool = False, library: Sequence[Path] = (), out=None
) -> int:
    """Check each file; print problems (or JSON); 1 if any file has errors, 2 if one is unreadable."""
    from cadchat.autolisp.checker import check

    out = out or sys.stdout
    known = _library_commands(library)
    reports = []
    failed = False
    for path in files:
        try:
            text, encoding = read_lisp_file(path)
        except OSError as exc:
            print(f"cadchat: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        report = check(text, known_commands=known)
        failed = failed or not report.ok
        if as_json:
            reports.append({"file": str(path), "encoding": encoding, **report.to_json()})
            continue
        for problem in report.problems:
            print(f"{path}:{problem}", file=out)
        verdict = "ok" if report.ok else "ERRORS"
        commands = ", ".join(report.commands) or "none"
        print(
            f"{path}: {verdict}: {len(report.errors)} errors, {len(report.warnings)} warnings; "
            f"commands: {commands} ({encoding})",
            file=out,
        )
    if as_json:
        print(json.dumps(reports, ensure_ascii=False, indent=1), file=out)
    return 1 if failed else 0


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from cadchat.app import create_app
    from cadchat.logsetup import configure
    from cadchat.web_json import SERVER_OPTIONS

    overrides = {"host": args.host, "port": args.port, "data_dir": args.data_dir}
    if args.port is not None and not 1 <= args.port <= 65535:
        raise ConfigError("--port", str(args.port), "must be between 1 and 65535")
    settings = load_settings(overrides=overrides)
    configure(settings.log_level, settings.log_format)
    log.info(
        "cadchat %s on http://%s:%d, data in %s, LLM %s",
        __version__,
        settings.host,
        settings.port,
        settings.data_dir.absolute(),
        "configured" if settings.dashscope_api_key else "off (offline answers)",
    )
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=None,  # the app writes its own access lines (cadchat.accesslog)
        shutdown_timeout=settings.shutdown_grace,
        print=None,
        backlog=1024,  # bursts of hundreds of streaming clients must not be dropped at accept
        **SERVER_OPTIONS,
    )
    log.info("cadchat stopped")
    return 0


def import_legacy(args: argparse.Namespace) -> int:
    from cadchat.usercodes.legacy import run_cli
    from cadchat.usercodes.model import limits_from

    settings = load_settings(overrides={"data_dir": args.data_dir})
    return run_cli(settings.user_codes_dir, args.path, limits_from(settings), sys.stdout)


def migrate_store(args: argparse.Namespace) -> int:
    import asyncio
    from urllib.parse import urlsplit

    from cadchat.config import redact_url
    from cadchat.usercodes.migrate import migrate_files

    settings = load_settings(overrides={"data_dir": args.data_dir})
    url = args.target or settings.database_url
    if not url:
        raise ConfigError("--to", "", "give a postgresql:// URL, or set CADCHAT_DATABASE_URL")
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("--to", redact_url(url), "must be a postgresql:// URL")
    if args.target and (urlsplit(url).password is not None or "password=" in url.lower()):
        # A command line is visible to every user of the host (ps, /proc/<pid>/cmdline).
        raise ConfigError(
            "--to",
            redact_url(url),
            "holds a password, which the process list would show: put it in "
            "CADCHAT_DATABASE_PASSWORD_FILE or PGPASSWORD, or pass no --to (CADCHAT_DATABASE_URL is read)",
        )
    report = asyncio.run(migrate_files(settings, settings.user_codes_dir, url))
    print(f"migrated {settings.user_codes_dir} to {redact_url(url)}: {report.line()}")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    from cadchat.backup import backup_to_file, write_backup

    data_dir = load_settings(overrides={"data_dir": args.data_dir}).data_dir
    if args.output == "-":
        summary = write_backup(data_dir, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        summary = backup_to_file(data_dir, Path(args.output))
    # With `--output -` the archive is standard output, so the summary goes to standard error.
    where, out = ("standard output", sys.stderr) if args.output == "-" else (args.output, sys.stdout)
    print(f"backup of {data_dir} written to {where}: {summary.line()}", file=out)
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from cadchat.backup import restore_archive

    data_dir = load_settings(overrides={"data_dir": args.data_dir}).data_dir
    if args.input == "-":
        # Restore reads the archive twice (verify, then write), so a pipe is spooled first.
        with tempfile.NamedTemporaryFile(prefix="cadchat-restore-", suffix=".tar.gz") as spool:
            shutil.copyfileobj(sys.stdin.buffer, spool)
            spool.flush()
            summary = restore_archive(Path(spool.name), data_dir)
    else:
        summary = restore_archive(Path(args.input), data_dir)
    written = f"written {summary.created_at} by cadchat {summary.service_version}"
    print(f"restored {args.input} ({written}) into {data_dir}:")
    print(f"  {summary.codes} user codes, highest id {summary.highest_id}")
    print(f"  store files: {', '.join(summary.store_files) or 'none'}")
    print(f"  command files: {', '.join(summary.command_files) or 'none'}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from cadchat.backup import verify_archive

    summary = verify_archive(sys.stdin.buffer if args.archive == "-" else Path(args.archive))
    written = f"written {summary.created_at} by cadchat {summary.service_version}"
    print(f"{args.archive}: ok: {written}; {summary.line()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "check-library":
            return check_library(args.files, args.quiet)
        if args.command == "lisp-check":
            return lisp_check(args.files, as_json=args.json, library=args.library)
        if args.command == "import-legacy":
            return import_legacy(args)
        if args.command == "migrate-store":
            return migrate_store(args)
        if args.command == "backup":
            return run_backup(args)
        if args.command == "restore":
            return run_restore(args)
        if args.command == "verify-backup":
            return run_verify(args)
    except ArchiveRefused as exc:
        print(f"cadchat: {getattr(args, 'input', None) or args.archive}: refused: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"cadchat: {exc.filename or exc}: no such file", file=sys.stderr)
        return 2
    except MigrationFailed as exc:
        print(f"cadchat: migration not verified: {exc}", file=sys.stderr)
        return 1
    except (ConfigError, StoreLocked, BackupError, TargetNotEmpty, DatabaseError) as exc:
        print(f"cadchat: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if args.command == "serve":
            raise
        print(f"cadchat: {exc}", file=sys.stderr)
        return 2
    return 2
