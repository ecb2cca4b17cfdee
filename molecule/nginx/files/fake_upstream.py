#!/usr/bin/env python3
"""Stand-in for the CADChat service on 127.0.0.1:5000 (Molecule scenario `nginx` only).

GET /health, /api/health   -> the contract's health JSON
POST /api/chat[/stream]     -> Server-Sent Events when the body has "stream": true or the client
                               accepts text/event-stream: EVENTS events, PAUSE seconds apart, each
                               carrying the time it was sent; otherwise one JSON answer
anything else               -> JSON echo of method, path and the request headers Nginx forwarded
"""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENTS = int(os.environ.get("FAKE_EVENTS", "5"))
PAUSE = float(os.environ.get("FAKE_PAUSE", "1.0"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _echo(self, body=b""):
        self._json(
            200,
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_bytes": len(body),
                # Padding so gzip has something to compress.
                "padding": "cadchat " * 200,
            },
        )

    def do_GET(self):
        if self.path in ("/health", "/api/health"):
            self._json(200, {"status": "healthy", "service": "fake-cadchat", "timestamp": time.time()})
        else:
            self._echo()

    def do_POST(self):
        raw = self._body()
        if self.path not in ("/api/chat", "/api/chat/stream"):
            self._echo(raw)
            return
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = {}
        wants_stream = bool(payload.get("stream")) or "text/event-stream" in self.headers.get("Accept", "")
        if not wants_stream:
            self._json(200, {"answer": "ok", "stream": False})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for i in range(EVENTS):
            event = {"i": i, "last": i == EVENTS - 1, "sent": time.time()}
            self.wfile.write(f"id: {i}\ndata: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
            if i < EVENTS - 1:
                time.sleep(PAUSE)
        self.close_connection = True

    def log_message(self, fmt, *args):  # quiet journal
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", 5000), Handler).serve_forever()
