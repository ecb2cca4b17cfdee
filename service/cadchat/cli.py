"""`cadchat serve | check-library` (and `python -m cadchat`)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from cadchat import __version__
from cadchat.config import ConfigError, load_settings
from cadchat.library.parser import parse_file
from cadchat.usercodes.disk import StoreLocked

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

    legacy = commands.add_parser("import-legacy", help="import a legacy user_codes.txt store (idempotent)")
    legacy.add_argument("path", type=Path, help="the legacy user_codes.txt, or the folder holding it")
    legacy.add_argument("--data-dir", type=Path, help="data directory (env CADCHAT_DATA_DIR, default ./data)")
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
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        print=None,
        backlog=1024,  # bursts of hundreds of streaming clients must not be dropped at accept
        **SERVER_OPTIONS,
    )
    return 0


def import_legacy(args: argparse.Namespace) -> int:
    from cadchat.usercodes.legacy import run_cli
    from cadchat.usercodes.model import limits_from

    settings = load_settings(overrides={"data_dir": args.data_dir})
    return run_cli(settings.user_codes_dir, args.path, limits_from(settings), sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "check-library":
            return check_library(args.files, args.quiet)
        if args.command == "import-legacy":
            return import_legacy(args)
    except (ConfigError, StoreLocked) as exc:
        print(f"cadchat: {exc}", file=sys.stderr)
        return 2
    return 2
