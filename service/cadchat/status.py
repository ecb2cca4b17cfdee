"""Health, stats and models: what the service reports about itself."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Any

from aiohttp import web

from cadchat import SERVICE_NAME, __version__
from cadchat.keys import CATALOG, LIBRARY, SETTINGS, STARTED_AT, USER_CODES, WATCHER

OFFLINE_ENGINE = "cadchat-offline-ngram"


def llm_state(app: web.Application) -> dict[str, Any]:
    """The chat provider in use (offline until a DashScope key is configured), whether the LLM can
    be used now (breaker not open, budget left) and whether the last upstream call got through."""
    from cadchat.keys import CHAT

    service = app.get(CHAT)
    if service is None:  # before start-up finished
        return {"provider": "offline", "model": None, "available": False, "reachable": None}
    return service.state()


def _dense(app: web.Application) -> Any:
    from cadchat.keys import CHAT

    service = app.get(CHAT)
    return service.retriever if service is not None else None


def health(app: web.Application) -> dict[str, Any]:
    library = app[LIBRARY].current
    rejected = [PurePath(f.path).name for f in library.files if not f.ok]
    return {
        "status": "healthy",
        "service": SERVICE_NAME,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "version": __version__,
        "uptime_seconds": round(time.monotonic() - app[STARTED_AT], 1),
        "library": {
            "state": "ok" if not rejected else "degraded",
            "commands": len(library.commands),
            "version": library.version,
            "loaded_at": datetime.fromtimestamp(library.loaded_at, timezone.utc).isoformat(timespec="seconds")
            if library.loaded_at
            else None,
            "files": [
                {
                    "file": PurePath(f.path).name,
                    "commands": f.commands,
                    "ok": f.ok,
                    "serving_last_good": f.serving_last_good,
                    "errors": f.errors,
                    "warnings": f.warnings,
                }
                for f in library.files
            ],
            "rejected_files": rejected,
            # File names only: /health is public behind Nginx, server paths are not its business.
            "problems": [
                f"{PurePath(p.path).name}:{p.line}: {p.message}"
                for p in library.problems
                if p.severity == "error"
            ][:50],
        },
        "user_programs": len(app[CATALOG].user_programs),
        "llm": llm_state(app),
    }


def stats(app: web.Application) -> dict[str, Any]:
    settings = app[SETTINGS]
    catalog = app[CATALOG]
    llm = llm_state(app)
    return {
        "total_codes": len(catalog),
        "total_usage": app[USER_CODES].total_usage() if USER_CODES in app else 0,
        "total_commands": len(catalog.library.commands),
        "rag_enabled": True,
        "rag_provider": "dashscope+offline" if _dense(app) is not None else "offline",
        "embedding_model": _dense(app).model if _dense(app) is not None else None,
        "file_watcher_enabled": WATCHER in app,
        "engine": OFFLINE_ENGINE,
        "model": llm["model"],
        "llm_available": llm["available"],
        "llm_provider": llm["provider"],
        "user_programs": len(catalog.user_programs),
        "library_version": catalog.library.version,
        "watch_mode": app[WATCHER].mode if WATCHER in app else None,
        "match_threshold": settings.match_threshold,
    }


def models(app: web.Application) -> dict[str, Any]:
    llm = llm_state(app)
    return {
        "models": [
            {
                "id": "offline",
                "provider": "offline",
                "available": True,
                "description": "离线检索答案，无需网络",
            },
            *(
                [
                    {
                        "id": llm["model"],
                        "provider": llm["provider"],
                        "available": llm["available"],
                        "description": "Bailian 应用"
                        if llm["provider"] == "bailian"
                        else "通义千问（DashScope）",
                    }
                ]
                if llm["provider"] != "offline"
                else []
            ),
        ],
        "active": llm,
    }
