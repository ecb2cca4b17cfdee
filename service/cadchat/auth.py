"""Access control: API tokens, admin routes, the `/metrics` guard, CORS and cross-site writes.

Every route has an access class, from its method and template (`access_class`):

- `open`: health probes and `/openapi.json`, never guarded;
- `read`: the contract's read-only routes (GETs, and the POSTs that only read: query, search,
  preview); open unless `CADCHAT_API_AUTH=all`;
- `write`: saves, updates, deletes, feedback, `/v1` writes, and every new POST/PUT/PATCH/DELETE
  route unless listed as a read; `chat`: the paid LLM route. Both need an API token once tokens
  are configured (`CADCHAT_API_TOKENS` / `CADCHAT_API_TOKENS_FILE`);
- `admin`: `/api/rebuild_embeddings`; an admin token, or a local client;
- `metrics`: `/metrics`; open unless `CADCHAT_METRICS_TOKEN` or `CADCHAT_METRICS_ALLOW` is set.

Tokens travel as `Authorization: Bearer <token>`; only their SHA-256 digests are kept, and a
presented token is compared with every digest in constant time. Admin tokens are accepted
wherever API tokens are.

The client is the peer, or `X-Forwarded-For`'s last hop when the peer is a trusted proxy
(`CADCHAT_CHAT_TRUSTED_PROXIES`, the chat rate limit's rule): Nginx appends the address it saw,
so a request through Nginx is never "local", whatever a client writes into that header; a
request to the service's own port from the host (no proxy) is.

Browsers: a write, chat or admin request carrying an `Origin` that is not in
`CADCHAT_CORS_ORIGINS` is refused (403), and so is a body sent as one of the content types a
cross-site "simple request" may use (`text/plain`, form encodings: 415) — the service reads JSON
only. Allowed origins get CORS headers and preflight answers.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable

from aiohttp import web

from cadchat.chat.guards import client_address
from cadchat.config import ConfigError, Settings
from cadchat.keys import POLICY, SETTINGS
from cadchat.web_json import ApiError

OPEN, READ, WRITE, CHAT, ADMIN, METRICS_ROUTE = "open", "read", "write", "chat", "admin", "metrics"
ALWAYS_OPEN = frozenset({"/health", "/api/health", "/openapi.json"})
ADMIN_ROUTES = frozenset({"/api/rebuild_embeddings"})
CHAT_ROUTES = frozenset({"/api/chat"})
# POST routes that change nothing: guarded like GETs.
READ_POSTS = frozenset({"/api/query", "/api/search", "/api/user_codes/preview", "/api/lisp/check"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = "Authorization, Content-Type, X-Request-ID"
CORS_EXPOSED = "X-Request-ID, Retry-After, Location"


def access_class(method: str, route: str) -> str:
    """The access class of a route template and method (see the module docstring)."""
    if route in ALWAYS_OPEN:
        return OPEN
    if route == "/metrics":
        return METRICS_ROUTE
    if route in ADMIN_ROUTES:
        return ADMIN
    if route in CHAT_ROUTES:
        return CHAT
    if method in READ_METHODS or route in READ_POSTS:
        return READ
    return WRITE


class Tokens:
    """Accepted bearer tokens, held as SHA-256 digests."""

    def __init__(self, digests: Iterable[str]) -> None:
        self._digests = tuple(bytes.fromhex(d) for d in digests)

    def __bool__(self) -> bool:
        return bool(self._digests)

    def accepts(self, token: str | None) -> bool:
        if not token or not self._digests:
            return False
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        accepted = False
        for known in self._digests:  # no early exit: the time taken does not tell which matched
            accepted |= hmac.compare_digest(known, digest)
        return accepted


def bearer_token(request: web.BaseRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class AccessPolicy:
    def __init__(self, settings: Settings) -> None:
        self.api = Tokens(settings.api_tokens + settings.api_tokens_file)
        self.admin = Tokens(settings.admin_tokens)
        self.metrics_token = Tokens(settings.metrics_token)
        self.metrics_allow = tuple(ipaddress.ip_network(n) for n in settings.metrics_allow)
        self.everywhere = settings.api_auth == "all"
        self.origins = frozenset(settings.cors_origins)
        self.trusted = settings.chat_trusted_proxies
        if self.everywhere and not self.api:
            raise ConfigError(
                "CADCHAT_API_AUTH", "all", "needs tokens in CADCHAT_API_TOKENS or CADCHAT_API_TOKENS_FILE"
            )
        # The access class of each (method, route template) seen, and whether it needs a check
        # at all (an open route, or a read route while reads need no token, does not).
        self._kinds: dict[tuple[str, str], str | None] = {}
        self._unchecked = {OPEN, READ} if not self.everywhere else {OPEN}
        if not self.metrics_token and not self.metrics_allow:
            self._unchecked.add(METRICS_ROUTE)

    def admit(self, request: web.BaseRequest, route: str) -> web.StreamResponse | None:
        """The access check of one request to route template `route` (`unmatched` for none),
        before its handler: None to go on, a CORS preflight's answer, or the ApiError (401, 403,
        415) that refuses it."""
        method = request.method
        if method == "OPTIONS":
            headers = request.headers
            if "Origin" in headers and "Access-Control-Request-Method" in headers:
                return self.preflight(request)
        try:
            kind = self._kinds[(method, route)]
        except KeyError:
            kind = self._kind(method, route)
        if kind is not None:
            self.check(request, kind)
        return None

    def _kind(self, method: str, route: str) -> str | None:
        # Unknown routes and methods are the router's 404 / 405: nothing to check.
        kind = None if route == "unmatched" else access_class(method, route)
        if kind in self._unchecked:
            kind = None
        if len(self._kinds) < 4096:  # route templates and methods are few; bounded all the same
            self._kinds[(method, route)] = kind
        return kind

    def client(self, request: web.BaseRequest) -> str:
        return client_address(request.remote, request.headers.get("X-Forwarded-For"), self.trusted)

    def _token_ok(self, request: web.BaseRequest) -> bool:
        token = bearer_token(request)
        return self.api.accepts(token) or self.admin.accepts(token)

    def check(self, request: web.BaseRequest, kind: str) -> None:
        """Raise the ApiError (401, 403, 415) that refuses this request, if any."""
        if kind == OPEN:
            return
        if kind == METRICS_ROUTE:
            self._check_metrics(request)
            return
        if kind in (WRITE, CHAT, ADMIN):
            origin = request.headers.get("Origin")
            if origin is not None and origin not in self.origins:
                raise ApiError(403, f"cross-origin requests from {origin[:100]!r} are not allowed")
            if request.method in BODY_METHODS and request.content_type in SIMPLE_CONTENT_TYPES:
                raise ApiError(415, "request body must be sent as Content-Type: application/json")
        if kind == ADMIN:
            if not (self.admin.accepts(bearer_token(request)) or _is_loopback(self.client(request))):
                raise ApiError(403, "admin route: needs an admin token or a request from the host itself")
            return
        needs_token = kind in (WRITE, CHAT) or self.everywhere
        if needs_token and self.api and not self._token_ok(request):
            raise ApiError(401, "an API token is required: Authorization: Bearer <token>", headers=_CHALLENGE)

    def _check_metrics(self, request: web.BaseRequest) -> None:
        if not self.metrics_token and not self.metrics_allow:
            return
        if self.metrics_token.accepts(bearer_token(request)):
            return
        if self.metrics_allow:
            try:
                address = ipaddress.ip_address(self.client(request).split("%", 1)[0])
            except ValueError:
                address = None
            if address is not None and any(address in network for network in self.metrics_allow):
                return
        if self.metrics_token:
            raise ApiError(401, "/metrics needs its bearer token", headers=_CHALLENGE)
        raise ApiError(403, "/metrics is not open to this address")

    def preflight(self, request: web.BaseRequest) -> web.Response:
        origin = request.headers.get("Origin", "")
        if origin not in self.origins:
            raise ApiError(403, f"cross-origin requests from {origin[:100]!r} are not allowed")
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": CORS_METHODS,
                "Access-Control-Allow-Headers": CORS_HEADERS,
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            },
        )


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cadchat"'}


async def _cors_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    origin = request.headers.get("Origin")
    if origin is not None and origin in request.app[POLICY].origins:
        response.headers.setdefault("Access-Control-Allow-Origin", origin)
        response.headers.setdefault("Access-Control-Expose-Headers", CORS_EXPOSED)
        response.headers.add("Vary", "Origin")


def install(app: web.Application) -> None:
    """The policy from the app's settings (a ConfigError when they contradict each other), and
    CORS headers on every response (streamed ones too) to an allowed origin, when any is."""
    app[POLICY] = AccessPolicy(app[SETTINGS])
    if app[POLICY].origins:  # none by default: no per-response hook then
        app.on_response_prepare.append(_cors_headers)
