"""A fake DashScope gateway on 127.0.0.1 speaking the native wire protocol (DASHSCOPE.md §2-§5, §8).

Endpoints: text generation, Bailian app completion and text embedding, each plain JSON or SSE
(chosen by the `X-DashScope-SSE: enable` header, like the real gateway). Faults are queued and
consumed one request at a time, so a test says "the next call gets a 429, the one after succeeds":

    fake.fail(429)                       # next request: 429 Throttling.RateQuota
    fake.fail(500, times=3)              # the next three: 500 InternalError
    fake.fault("midstream_error")        # stream a few tokens, then an event:error frame
    fake.fault("malformed_sse")          # stream a few tokens, then a data: line that is not JSON
    fake.fault("hang_before_first")      # accept, then send nothing (first-token timeout; a
                                         # plain JSON call: no answer at all)
    fake.fault("hang_mid_stream")        # a few tokens, then nothing (total/idle timeout)

`say(*replies)` queues the next answers (one per generation/app request, then `reply` again);
`MISTAKES` holds replies with the AutoLISP mistakes models typically make, and `FIXED` the same
program written correctly, e.g. `fake.say(MISTAKES["let"], FIXED)` for a repair round.
`token_delay` spaces streamed tokens; `tokens` sets how many the reply is cut into. Every request
is recorded in `requests` (path, headers, JSON body); `streams_started/completed/aborted` count
streams, `aborted` being those whose client went away before the last token; `calls_hanging` and
`calls_aborted` count plain JSON calls held by `hang_before_first` and those whose client left.

Importable by benchmarks: `python tests/chat/fake_dashscope.py --port 0` runs it standalone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-test-fake-0123456789"
ERRORS = {
    400: ("InvalidParameter", "Input validation failed."),
    401: ("InvalidApiKey", "Invalid API-key provided."),
    429: ("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
    500: ("InternalError", "An internal error has occured, please try again later."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "The service is unavailable."),
}

DEFAULT_REPLY = (
    "可以用下面的 AutoLISP 程序按圆心和半径画圆：先用 getpoint 取圆心，再用 getdist 取半径，"
    "最后调用 CIRCLE 命令。\n\n"
    "```lisp\n"
    "(defun c:QCIRCLE (/ pt r)\n"
    '  (setq pt (getpoint "\\n圆心: "))\n'
    '  (setq r (getdist pt "\\n半径: "))\n'
    '  (command "_.CIRCLE" pt r)\n'
    "  (princ)\n"
    ")\n"
    "```\n"
    "加载后在命令行输入 QCIRCLE 运行。"
)


def _answer(code: str, intro: str = "下面的程序按圆心和半径画圆并标注半径：") -> str:
    return f"{intro}\n\n```lisp\n{code}\n```\n加载后在命令行输入 QCIRCLE 运行。"


FIXED_CODE = """(defun c:QCIRCLE (/ pt r)
  (setq pt (getpoint "\\n圆心: "))
  (setq r (getdist pt "\\n半径: "))
  (command "_.CIRCLE" pt r)
  (princ (strcat "\\n半径 " (rtos r 2 2)))
  (princ)
)"""
FIXED = _answer(FIXED_CODE, "修正后的程序：")

# Replies with the mistakes models make in AutoLISP (each one the checker reports as an error).
MISTAKES = {
    # Common Lisp `let` instead of locals after / in the defun
    "let": _answer(
        FIXED_CODE.replace("(/ pt r)", "()").replace(
            '(setq pt (getpoint "\\n圆心: "))', '(let ((pt (getpoint "\\n圆心: ")))'
        )
    ),
    # one ')' short
    "unbalanced": _answer(FIXED_CODE[:-2]),
    # a misspelled built-in
    "typo": _answer(FIXED_CODE.replace("getpoint", "getpiont")),
    # ActiveX without (vl-load-com)
    "activex": _answer(
        FIXED_CODE.replace(
            '(command "_.CIRCLE" pt r)',
            "(vla-AddCircle (vla-get-ModelSpace (vla-get-ActiveDocument (vlax-get-acad-object)))"
            " (vlax-3d-point pt) r)",
        )
    ),
    # an old version left in a block comment and the command written in upper case
    "block_comment_upper": (
        '保留了旧版本供参考：\n\n```lisp\n;| 旧版本\n(defun c:OLDCIRCLE (/ pt\n  (command "_.CIRCLE"\n|;\n'
        + FIXED_CODE.replace("defun", "DEFUN").replace("setq", "SETQ")
        + "\n```\n"
    ),
}


@dataclass
class Fault:
    kind: str  # "status" | "midstream_error" | "malformed_sse" | "hang_before_first" | "hang_mid_stream"
    status: int = 0
    retry_after: str | None = None


@dataclass
class FakeDashScope:
    api_key: str = API_KEY
    reply: str = DEFAULT_REPLY
    tokens: int = 12  # streamed chunks the reply is cut into
    token_delay: float = 0.0  # seconds between streamed chunks
    latency: float = 0.0  # seconds before any answer (plain and stream)
    dimension_default: int = 1024
    faults: deque[Fault] = field(default_factory=deque)
    replies: deque[str] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    record: bool = True
    streams_started: int = 0
    streams_completed: int = 0
    streams_aborted: int = 0
    calls_hanging: int = 0
    calls_aborted: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None

    # --- scripting -----------------------------------------------------------------------------

    def fail(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        for _ in range(times):
            self.faults.append(Fault("status", status, retry_after))

    def say(self, *replies: str) -> None:
        """The next requests' answers, in order (then `reply` again)."""
        self.replies.extend(replies)

    def fault(self, kind: str, *, times: int = 1) -> None:
        for _ in range(times):
            self.faults.append(Fault(kind))

    def hits(self, kind: str = "") -> int:
        return sum(1 for r in self.requests if kind in r["path"])

    # --- lifecycle -----------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v1/services/aigc/text-generation/generation", self._generation)
        app.router.add_post("/api/v1/apps/{app_id}/completion", self._app_completion)
        app.router.add_post("/api/v1/services/embeddings/text-embedding/text-embedding", self._embedding)
        app.router.add_post("/_control", self._control)
        return app

    async def _control(self, request: web.Request) -> web.Response:
        """Benchmarks change the reply shape of a running fake: {"tokens", "token_delay", "latency"}."""
        changes = await request.json()
        for name in ("tokens", "token_delay", "latency"):
            if name in changes:
                setattr(self, name, type(getattr(self, name))(changes[name]))
        stats = {k: getattr(self, k) for k in ("streams_started", "streams_completed", "streams_aborted")}
        return web.json_response({"tokens": self.tokens, "token_delay": self.token_delay, **stats})

    async def start(self, port: int = 0) -> str:
        # handler_cancellation: a client that goes away cancels its handler, so a hanging
        # stream notices the disconnect (and counts it in streams_aborted) at once.
        self._runner = web.AppRunner(
            self.make_app(),
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=4096)  # 1,000-stream benchmarks
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/api/v1"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- protocol ------------------------------------------------------------------------------

    async def _preamble(
        self, request: web.Request, kind: str
    ) -> tuple[dict[str, Any], web.Response | None, Fault | None]:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if self.record:
            self.requests.append(
                {"path": request.path, "kind": kind, "headers": dict(request.headers), "body": body}
            )
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return {}, self._error(401), None
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return {}, self._error(400, "input is required"), None
        fault = self.faults.popleft() if self.faults else None
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None and fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
            return body, self._error(fault.status, headers=headers), None
        return body, None, fault

    @staticmethod
    def _error(status: int, message: str = "", headers: dict[str, str] | None = None) -> web.Response:
        code, default = ERRORS.get(status, ("Unknown", "error"))
        rid = str(uuid.uuid4())
        payload = {"code": code, "message": message or default, "request_id": rid}
        response = web.json_response(payload, status=status, headers={"x-request-id": rid, **(headers or {})})
        return response

    def _pieces(self, text: str) -> list[str]:
        n = max(1, min(self.tokens, len(text)))
        size = math.ceil(len(text) / n)
        return [text[i : i + size] for i in range(0, len(text), size)]

    @staticmethod
    def _prompt_tokens(body: dict[str, Any]) -> int:
        inp = body.get("input", {})
        text = inp.get("prompt") or ""
        for m in inp.get("messages") or []:
            text += str(m.get("content", ""))
        return max(1, len(text) // 2)

    async def _generation(self, request: web.Request) -> web.StreamResponse:
        body, error, fault = await self._preamble(request, "generation")
        if error is not None:
            return error
        message_format = body.get("parameters", {}).get("result_format") == "message"
        incremental = bool(body.get("parameters", {}).get("incremental_output"))
        in_tokens = self._prompt_tokens(body)

        def envelope(text: str, finish: str, out_tokens: int, rid: str) -> dict[str, Any]:
            if message_format:
                output = {
                    "choices": [{"finish_reason": finish, "message": {"role": "assistant", "content": text}}]
                }
            else:
                output = {"text": text, "finish_reason": finish}
            usage = {
                "input_tokens": in_tokens,
                "output_tokens": out_tokens,
                "total_tokens": in_tokens + out_tokens,
            }
            return {"output": output, "usage": usage, "request_id": rid}

        return await self._answer(request, fault, envelope, incremental)

    async def _app_completion(self, request: web.Request) -> web.StreamResponse:
        body, error, fault = await self._preamble(request, "app")
        if error is not None:
            return error
        incremental = bool(body.get("parameters", {}).get("incremental_output"))
        in_tokens = self._prompt_tokens(body)
        session = body["input"].get("session_id") or uuid.uuid4().hex

        def envelope(text: str, finish: str, out_tokens: int, rid: str) -> dict[str, Any]:
            output = {
                "text": text,
                "finish_reason": finish,
                "session_id": session,
                "thoughts": None,
                "doc_references": None,
            }
            usage = {
                "models": [{"model_id": "qwen-plus", "input_tokens": in_tokens, "output_tokens": out_tokens}]
            }
            return {"output": output, "usage": usage, "request_id": rid}

        return await self._answer(request, fault, envelope, incremental)

    async def _answer(
        self, request: web.Request, fault: Fault | None, envelope, incremental: bool
    ) -> web.StreamResponse:
        rid = str(uuid.uuid4())
        reply = self.replies.popleft() if self.replies else self.reply
        pieces = self._pieces(reply)
        if request.headers.get("X-DashScope-SSE", "").lower() != "enable":
            if fault is not None and fault.kind == "hang_before_first":
                self.calls_hanging += 1
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:  # the client went away
                    self.calls_aborted += 1
                    raise
                finally:
                    self.calls_hanging -= 1
            return web.json_response(envelope(reply, "stop", len(pieces), rid), headers={"x-request-id": rid})
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream;charset=UTF-8", "x-request-id": rid}
        )
        await response.prepare(request)
        self.streams_started += 1
        finished = False
        try:
            if fault is not None and fault.kind == "hang_before_first":
                await asyncio.sleep(3600)
            sent = ""
            cut = len(pieces) // 2 if fault is not None else len(pieces)
            for number, piece in enumerate(pieces[:cut], start=1):
                if number > 1 and self.token_delay:
                    await asyncio.sleep(self.token_delay)
                sent += piece
                last = number == len(pieces)
                chunk = envelope(piece if incremental else sent, "stop" if last else "null", number, rid)
                data = json.dumps(chunk, ensure_ascii=False)
                await response.write(f"id:{number}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n".encode())
            if fault is not None:
                n = cut + 1
                if fault.kind == "midstream_error":
                    frame = {
                        "code": "InternalError",
                        "message": "Internal server error mid-stream.",
                        "request_id": rid,
                    }
                    await response.write(
                        f"id:{n}\nevent:error\n:HTTP_STATUS/500\ndata:{json.dumps(frame)}\n\n".encode()
                    )
                elif fault.kind == "malformed_sse":
                    await response.write(
                        f'id:{n}\nevent:result\ndata:{{"output": {{"choices": [truncated\n\n'.encode()
                    )
                elif fault.kind == "hang_mid_stream":
                    await asyncio.sleep(3600)
            await response.write_eof()
            finished = True
        finally:
            if finished:
                self.streams_completed += 1
            else:
                self.streams_aborted += 1
        return response

    async def _embedding(self, request: web.Request) -> web.Response:
        body, error, _fault = await self._preamble(request, "embedding")
        if error is not None:
            return error
        texts = body["input"].get("texts")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or len(texts) > 10:
            return self._error(400, "texts must be a list of 1 to 10 strings")
        dimension = int(body.get("parameters", {}).get("dimension") or self.dimension_default)
        rid = str(uuid.uuid4())
        out = [{"text_index": i, "embedding": embed(t, dimension)} for i, t in enumerate(texts)]
        tokens = sum(max(1, len(t) // 2) for t in texts)
        return web.json_response(
            {"output": {"embeddings": out}, "usage": {"total_tokens": tokens}, "request_id": rid}
        )


def embed(text: str, dimension: int) -> list[float]:
    """A deterministic stand-in embedding: hashed character uni/bigrams, L2-normalised."""
    vector = [0.0] * dimension
    clean = "".join(text.lower().split())
    grams = list(clean) + [clean[i : i + 2] for i in range(len(clean) - 1)]
    for gram in grams:
        digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimension
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [round(v / norm, 6) for v in vector]


async def _main(port: int, token_delay: float, tokens: int) -> None:
    fake = FakeDashScope(token_delay=token_delay, tokens=tokens, record=False)
    url = await fake.start(port)
    print(url, flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.Event().wait()
    await fake.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="fake DashScope gateway on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--tokens", type=int, default=12)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.port, args.token_delay, args.tokens))
