"""The OpenAPI 3 document of every route, served at `GET /openapi.json`.

Written as data here, next to the router it describes; `tests/test_openapi.py` keeps the two
equal (every route documented, nothing documented that is not routed) and schemathesis checks
the live answers against the schemas. Response schemas list the fields clients read (required)
and allow more: the contract's answers carry supersets. Every error is the JSON error object.
Security follows `cadchat.auth.access_class`: a bearer token where the server may ask for one.
"""

from __future__ import annotations

from typing import Any

from cadchat import __version__
from cadchat.auth import ADMIN, CHAT, METRICS_ROUTE, OPEN, READ, WRITE, access_class

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
NSTR: Schema = {"type": ["string", "null"]}
UNIT: Schema = {"type": "number", "minimum": 0, "maximum": 1}
TAGS: Schema = {"type": "array", "items": STR}

SCHEMAS: dict[str, Schema] = {
    "Error": _obj({"success": {"const": False}, "error": STR, "message": STR}),
    "CodeItem": _obj(
        {"id": INT, "command": STR, "description": STR, "type": STR, "category": STR, "source": STR},
        {"alias": STR, "similarity": UNIT},
    ),
    "CodeDetail": {
        "allOf": [
            _ref("CodeItem"),
            _obj({"final_alias": STR, "is_basic_command": BOOL}, {"file": STR, "date": STR}),
        ]
    },
    "RagItem": _obj(
        {"command": STR, "description": STR, "similarity": UNIT, "source_type": STR}, {"id": INT}
    ),
    "QueryAnswer": _obj(
        {
            "requirement": STR,
            "matched": BOOL,
            "result": _obj(
                {"reason": STR},
                {
                    "code": _ref("CodeDetail"),
                    "confidence": UNIT,
                    "llm_used": BOOL,
                    "is_basic_command": BOOL,
                    "suggestion": STR,
                    "rag_results": {"type": "array", "items": _ref("RagItem")},
                },
            ),
        }
    ),
    "SearchResults": _obj(
        {
            "query": STR,
            "results": {
                "type": "array",
                "items": _obj(
                    {
                        "command": STR,
                        "description": STR,
                        "filename": STR,
                        "timestamp": STR,
                        "command_type": STR,
                        "category": STR,
                        "similarity_score": UNIT,
                    },
                    {"id": INT},
                ),
            },
        }
    ),
    "Codes": _obj({"codes": {"type": "array", "items": _ref("CodeItem")}}, {"total": INT}),
    "Done": _obj({"success": {"const": True}}, {"message": STR}),
    "UserCodeItem": _obj(
        {"id": INT, "command": STR, "description": STR, "filename": STR, "timestamp": STR, "lisp_code": STR},
        {"tags": TAGS, "updated_at": STR, "usage_count": INT, "success_count": INT},
    ),
    "Popular": _obj(
        {
            "codes": {
                "type": "array",
                "items": _obj({"command": STR, "usage_count": INT, "success_rate": NUM}),
            }
        },
        {"success": BOOL},
    ),
    "CodeV1": _obj(
        {
            "id": INT,
            "url": STR,
            "command": STR,
            "description": STR,
            "tags": TAGS,
            "code": STR,
            "filename": STR,
            "created_at": STR,
            "updated_at": STR,
            "usage_count": INT,
            "success_count": INT,
            "success_rate": NUM,
        }
    ),
    "CodeV1Write": {
        "type": "object",
        "properties": {
            "command": {"type": "string", "minLength": 1, "maxLength": 100},
            "description": {"type": "string", "maxLength": 2000},
            "code": {"type": "string", "minLength": 1},
            "tags": TAGS,
        },
    },
    "ChatAnswer": _obj(
        {
            "success": BOOL,
            "request_id": STR,
            "provider": STR,
            "mode": STR,
            "offline": BOOL,
            "degraded": BOOL,
            "cached": BOOL,
            "text": STR,
            "references": {"type": "array", "items": {"type": "object"}},
            "usage": _obj({"input_tokens": INT, "output_tokens": INT, "total_tokens": INT}),
        },
        {
            "model": NSTR,
            "degraded_reason": NSTR,
            "lisp": {"type": ["object", "null"]},
            "error": {"type": ["object", "null"]},
            "finish_reason": NSTR,
            "elapsed_ms": NUM,
            "upstream_ms": NUM,
        },
    ),
    "Health": _obj(
        {"status": STR, "service": STR, "timestamp": STR}, {"version": STR, "uptime_seconds": NUM}
    ),
    "Stats": _obj(
        {
            "total_codes": INT,
            "total_usage": INT,
            "total_commands": INT,
            "rag_enabled": BOOL,
            "rag_provider": STR,
            "embedding_model": NSTR,
            "file_watcher_enabled": BOOL,
            "engine": STR,
            "model": NSTR,
            "llm_available": BOOL,
        }
    ),
    "Models": _obj(
        {"models": {"type": "array", "items": _obj({"id": STR, "provider": STR, "available": BOOL})}}
    ),
}

ERROR_TEXT = {
    400: "bad input",
    401: "an API token is required (when tokens are configured)",
    403: "not allowed: admin route from elsewhere than the host, or a foreign Origin",
    404: "unknown id",
    413: "body or field too large",
    415: "body not sent as application/json",
    429: "chat rate limit; see Retry-After",
    503: "chat at capacity, or the user-code database unavailable; see Retry-After",
}


def _json(schema: Schema) -> dict[str, Any]:
    return {"content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": ERROR_TEXT[s], **_json(_ref("Error"))} for s in statuses}


def _query(name: str, schema: Schema, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": STR, "description": "a code id"}
LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 100})
OFFSET = _query("offset", {"type": "integer", "minimum": 0})


def _op(
    summary: str,
    ok: Schema | None,
    *,
    body: Schema | None = None,
    status: int = 200,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (400,),
    content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": summary}
    if content is not None:
        response["content"] = content
    elif ok is not None:
        response.update(_json(ok))
    operation: dict[str, Any] = {"summary": summary, "responses": {str(status): response, **_errors(*errors)}}
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    return operation


NEED = _obj({"requirement": {"type": "string", "minLength": 1, "maxLength": 2000}})
CODE_TEXT: Schema = {"type": "string", "minLength": 1}
COMMAND: Schema = {"type": "string", "minLength": 1, "maxLength": 100}
DESCRIPTION: Schema = {"type": "string", "maxLength": 2000}
SAVE = _obj(
    {"code": CODE_TEXT, "command": COMMAND, "description": {**DESCRIPTION, "minLength": 1}},
    {"tags": TAGS},
)
# Each Server-Sent Event: `delta` ({"text"}), `error` ({"kind", "status", "code", "message"}),
# then `final` (the JSON answer); `data` is that JSON, as text.
SSE_EVENT = _obj({"event": {"enum": ["delta", "error", "final"]}, "data": STR})
SSE = {"text/event-stream": {"schema": SSE_EVENT}, JSON: {"schema": _ref("ChatAnswer")}}

# method, path template -> operation (templates as the router spells them)
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/health"): _op("Liveness and library state", _ref("Health"), errors=()),
    ("GET", "/api/health"): _op("Liveness and library state (alias)", _ref("Health"), errors=()),
    ("GET", "/api/stats"): _op("Counts and the engine in use", _ref("Stats"), errors=()),
    ("GET", "/api/models"): _op("Models this server can use", _ref("Models"), errors=()),
    ("GET", "/openapi.json"): _op("This document", {"type": "object"}, errors=()),
    ("GET", "/metrics"): _op(
        "Prometheus metrics (text exposition)",
        None,
        content={"text/plain": {"schema": STR}},
        errors=(401, 403),
    ),
    ("POST", "/api/query"): _op(
        "The best command for a need", _ref("QueryAnswer"), body=NEED, errors=(400, 413)
    ),
    ("POST", "/api/search"): _op(
        "Commands ranked for a need",
        _ref("SearchResults"),
        body={"type": "object", "properties": {"requirement": STR, "query": STR, "limit": INT}},
        errors=(400, 413),
    ),
    ("GET", "/api/search"): _op(
        "Commands ranked for a need, as code items",
        _ref("Codes"),
        params=[_query("q", STR, "the need"), LIMIT],
        errors=(400, 413),
    ),
    ("GET", "/api/codes"): _op(
        "Every library command and user program",
        _ref("Codes"),
        params=[OFFSET, _query("limit", {"type": "integer", "minimum": 1, "maximum": 100000})],
    ),
    ("GET", "/api/codes/{id}"): _op(
        "One command or user program",
        _obj({"code": _ref("CodeDetail")}),
        params=[{**ID_PARAM, "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}],
        errors=(404,),
    ),
    ("POST", "/api/codes"): _op(
        "Store a code (as a user code)",
        _obj({"success": BOOL, "id": INT, "message": STR}, {"type": STR}),
        body=_obj(
            {"code": CODE_TEXT}, {"command": COMMAND, "description": DESCRIPTION, "type": STR, "tags": TAGS}
        ),
        errors=(400, 401, 403, 413, 415),
    ),
    ("POST", "/api/rebuild_embeddings"): _op(
        "Reload the command libraries and the index (admin)",
        _obj({"success": BOOL, "message": STR}, {"commands": INT, "version": INT}),
        errors=(403, 415),
    ),
    ("POST", "/api/user_codes/save"): _op(
        "Save a user code",
        _obj({"success": BOOL, "code_id": INT, "message": STR}),
        body=SAVE,
        errors=(400, 401, 403, 413, 415),
    ),
    ("GET", "/api/user_codes/list"): _op(
        "Every saved user code",
        _obj({"success": BOOL, "codes": {"type": "array", "items": _ref("UserCodeItem")}}),
        errors=(),
    ),
    ("GET", "/api/user_codes/get/{id}"): _op(
        "One user code",
        _obj({"success": BOOL, "code": STR, "command": STR, "description": STR}),
        params=[ID_PARAM],
        errors=(404,),
    ),
    ("DELETE", "/api/user_codes/delete/{id}"): _op(
        "Delete a user code", _ref("Done"), params=[ID_PARAM], errors=(401, 403, 404)
    ),
    ("POST", "/api/user_codes/preview"): _op(
        "Preview a code: its command, size and balance warnings",
        _obj(
            {
                "success": BOOL,
                "command": STR,
                "description": STR,
                "preview": _obj(
                    {"command": STR, "description": STR, "code_preview": STR, "lines": INT, "characters": INT}
                ),
            }
        ),
        body=_obj({"code": CODE_TEXT}, {"command": COMMAND, "description": DESCRIPTION}),
        errors=(400, 413),
    ),
    ("POST", "/api/submit_code"): _op(
        "Submit a code (command from the code's defun when not given)",
        _obj({"success": BOOL, "code_id": INT}, {"command": STR}),
        body=_obj({"lisp_code": CODE_TEXT}, {"command": COMMAND, "description": DESCRIPTION, "tags": TAGS}),
        errors=(400, 401, 403, 413, 415),
    ),
    ("POST", "/api/feedback"): _op(
        "Count a use of a user code or library command",
        _obj({"success": BOOL}, {"usage_count": INT, "success_count": INT, "success_rate": NUM}),
        body=_obj(
            {"code_id": {"type": ["integer", "string"]}},
            {"success": BOOL, "requirement": STR, "feedback": STR},
        ),
        errors=(400, 401, 403, 404, 413, 415),
    ),
    ("GET", "/api/popular_codes"): _op(
        "Most used codes",
        _ref("Popular"),
        params=[LIMIT, _query("keyword", STR)],
        errors=(400, 413),
    ),
    ("GET", "/api/popular"): _op("Most used codes", _ref("Popular"), params=[LIMIT], errors=(400,)),
    ("GET", "/v1/codes"): _op(
        "User codes, paged",
        _obj(
            {
                "codes": {"type": "array", "items": _ref("CodeV1")},
                "total": INT,
                "offset": INT,
                "limit": INT,
            }
        ),
        params=[
            OFFSET,
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            _query("q", STR),
        ],
        errors=(400, 413),
    ),
    ("POST", "/v1/codes"): _op(
        "Create a user code",
        _ref("CodeV1"),
        status=201,
        body=_ref("CodeV1Write"),
        errors=(400, 401, 403, 413, 415),
    ),
    ("GET", "/v1/codes/{id}"): _op("One user code", _ref("CodeV1"), params=[ID_PARAM], errors=(404,)),
    ("PUT", "/v1/codes/{id}"): _op(
        "Replace a user code",
        _ref("CodeV1"),
        params=[ID_PARAM],
        body=_ref("CodeV1Write"),
        errors=(400, 401, 403, 404, 413, 415),
    ),
    ("PATCH", "/v1/codes/{id}"): _op(
        "Change fields of a user code",
        _ref("CodeV1"),
        params=[ID_PARAM],
        body=_ref("CodeV1Write"),
        errors=(400, 401, 403, 404, 413, 415),
    ),
    ("DELETE", "/v1/codes/{id}"): _op(
        "Delete a user code", None, status=204, params=[ID_PARAM], errors=(401, 403, 404)
    ),
    ("POST", "/api/lisp/check"): _op(
        "Check AutoLISP code without running it",
        _obj({"success": BOOL, "ok": BOOL, "problems": {"type": "array"}}, {"commands": {"type": "array"}}),
        body=_obj({"code": CODE_TEXT}),
        errors=(400, 413),
    ),
    ("GET", "/api/lisp/{name}"): _op(
        "The AutoLISP source of a bundled LISP tool",
        _obj({"name": STR, "command": STR, "filename": STR, "code": STR}, {"description": STR}),
        params=[{"name": "name", "in": "path", "required": True, "schema": STR, "description": "a command"}],
        errors=(400, 404),
    ),
    ("POST", "/api/chat"): _op(
        "AutoLISP or an answer from a description; SSE with stream: true",
        None,
        content=SSE,
        body=_obj(
            {"message": {"type": "string", "minLength": 1, "maxLength": 4000}},
            {
                "mode": {"enum": ["lisp", "answer"]},
                "stream": BOOL,
                "cache": BOOL,
                "history": {
                    "type": "array",
                    "items": _obj({"role": {"enum": ["user", "assistant"]}, "content": STR}),
                },
            },
        ),
        errors=(400, 401, 403, 413, 415, 429, 503),
    ),
}

SECURITY = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token (admin token on admin routes)",
    }
}


def _security(method: str, path: str) -> list[dict[str, Any]] | None:
    kind = access_class(method, path)
    if kind == OPEN:
        return []
    if kind in (WRITE, CHAT, ADMIN, METRICS_ROUTE):
        return [{"bearer": []}, {}]  # required once the operator configures tokens
    if kind == READ:
        return [{}, {"bearer": []}]  # required only with CADCHAT_API_AUTH=all
    return None


def _links(operation: dict[str, Any], status: str, field: str, targets: dict[str, str]) -> None:
    """OpenAPI links: the id a create answered feeds the `{id}` of the routes named."""
    operation["responses"][status]["links"] = {
        name: {"operationId": target, "parameters": {"id": f"$response.body#/{field}"}}
        for name, target in targets.items()
    }


# Writes to the user-code store: with CADCHAT_DATABASE_URL set, a database that is down or over
# its statement timeout answers 503 (nothing acknowledged).
for _write in (
    ("POST", "/api/user_codes/save"),
    ("DELETE", "/api/user_codes/delete/{id}"),
    ("POST", "/api/submit_code"),
    ("POST", "/api/codes"),
    ("POST", "/api/feedback"),
    ("POST", "/v1/codes"),
    ("PUT", "/v1/codes/{id}"),
    ("PATCH", "/v1/codes/{id}"),
    ("DELETE", "/v1/codes/{id}"),
):
    OPERATIONS[_write]["responses"].update(_errors(503))


_links(
    OPERATIONS[("POST", "/v1/codes")],
    "201",
    "id",
    {
        "GetCode": "get_v1_codes_id",
        "ReplaceCode": "put_v1_codes_id",
        "PatchCode": "patch_v1_codes_id",
        "DeleteCode": "delete_v1_codes_id",
    },
)
_links(
    OPERATIONS[("POST", "/api/user_codes/save")],
    "200",
    "code_id",
    {"GetUserCode": "get_api_user_codes_get_id", "DeleteUserCode": "delete_api_user_codes_delete_id"},
)


def document() -> dict[str, Any]:
    """The whole document, as a JSON-ready dict."""
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), operation in OPERATIONS.items():
        security = _security(method, path)
        name = path.replace("/", "_").replace("{", "").replace("}", "").replace(".", "_")
        entry = {**operation, "operationId": f"{method.lower()}{name}"}
        if security is not None:
            entry["security"] = security
        paths.setdefault(path, {})[method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CADChat server",
            "version": __version__,
            "description": "CAD command retrieval, AutoLISP chat and user code storage.",
        },
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY},
    }
