"""Every route the service answers, in one place."""

from __future__ import annotations

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from cadchat.handlers import chat, codes_v1, library, lisp, lisp_tools, status, user_codes
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
    app.router.add_get(r"/api/codes/{id:[0-9]{1,18}}", library.get_code)
    app.router.add_post("/api/rebuild_embeddings", library.rebuild)
    app.router.add_get("/api/lisp/{name}", lisp_tools.get_tool)

    # user code storage
    app.router.add_post("/api/user_codes/save", user_codes.save)
    app.router.add_get("/api/user_codes/list", user_codes.list_codes)
    app.router.add_get("/api/user_codes/get/{id}", user_codes.get_code)
    app.router.add_delete("/api/user_codes/delete/{id}", user_codes.delete_code)
    app.router.add_post("/api/user_codes/preview", user_codes.preview)
    app.router.add_post("/api/submit_code", user_codes.submit_code)
    app.router.add_post("/api/codes", user_codes.create_code)
    app.router.add_post("/api/feedback", user_codes.feedback)
    app.router.add_get("/api/popular_codes", user_codes.popular_codes)
    app.router.add_get("/api/popular", user_codes.popular)
    app.router.add_get("/v1/codes", codes_v1.list_codes)
    app.router.add_post("/v1/codes", codes_v1.create)
    app.router.add_get("/v1/codes/{id}", codes_v1.get)
    app.router.add_put("/v1/codes/{id}", codes_v1.replace)
    app.router.add_patch("/v1/codes/{id}", codes_v1.patch)
    app.router.add_delete("/v1/codes/{id}", codes_v1.delete)
    # AutoLISP
    app.router.add_post("/api/lisp/check", lisp.check)
    # chat
    app.router.add_post("/api/chat", chat.chat)

    app.router.add_get("/metrics", make_aiohttp_handler(app[METRICS].registry))
