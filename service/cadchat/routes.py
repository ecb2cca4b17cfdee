"""Every route the service answers, in one place."""

from __future__ import annotations

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from cadchat.handlers import library, status
from cadchat.keys import METRICS


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/health", status.health)
    app.router.add_get("/api/health", status.health)
    app.router.add_get("/api/stats", status.stats)
    app.router.add_get("/api/models", status.models)

    app.router.add_post("/api/query", library.query)
    app.router.add_post("/api/search", library.search_post)
    app.router.add_get("/api/search", library.search_get)
    app.router.add_get("/api/codes", library.list_codes)
    app.router.add_get(r"/api/codes/{id:\d{1,18}}", library.get_code)
    app.router.add_post("/api/rebuild_embeddings", library.rebuild)

    app.router.add_get("/metrics", make_aiohttp_handler(app[METRICS].registry))
