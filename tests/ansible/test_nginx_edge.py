"""Black-box checks of the Nginx edge, driven from the Molecule host against the container's IP.

Run by molecule/nginx/verify.yml, which exports:
  NGINX_EDGE_IP       the instance's address
  NGINX_EDGE_DOMAIN   the certificate's name (chat.cadchat.test)
  NGINX_EDGE_CA       PEM file with Pebble's issuing root(s), fetched from Pebble's management API
  NGINX_EDGE_HEALTH   the path Nginx answers itself (nginx_health_path)
  NGINX_EDGE_STREAMS  chat streams one client may hold open (nginx_stream_conn_per_client)
  NGINX_EDGE_STALL    client header/body timeout in seconds (nginx_client_header/body_timeout)
Without NGINX_EDGE_IP the module is skipped (no instance to talk to).
"""

import http.client
import json
import os
import socket
import ssl
import subprocess
import time

import pytest

IP = os.environ.get("NGINX_EDGE_IP", "")
DOMAIN = os.environ.get("NGINX_EDGE_DOMAIN", "chat.cadchat.test")
CA = os.environ.get("NGINX_EDGE_CA", "")
HEALTH = os.environ.get("NGINX_EDGE_HEALTH", "/nginx-health")
STREAMS = int(os.environ.get("NGINX_EDGE_STREAMS", "10"))
STALL = int(os.environ.get("NGINX_EDGE_STALL", "15"))

pytestmark = pytest.mark.skipif(not IP, reason="NGINX_EDGE_IP not set (run through `molecule test -s nginx`)")


def tls_context(**kw):
    ctx = ssl.create_default_context(cafile=CA)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def https(method, path, body=None, headers=None, ctx=None, timeout=15):
    """One request over HTTPS to IP with SNI/Host = DOMAIN; returns (response, connection)."""
    conn = http.client.HTTPSConnection(IP, 443, timeout=timeout, context=ctx or tls_context())
    # Certificate checked against DOMAIN although we dial the IP.
    conn._context.check_hostname = True
    sock = socket.create_connection((IP, 443), timeout=timeout)
    conn.sock = conn._context.wrap_socket(sock, server_hostname=DOMAIN)
    hdrs = {"Host": DOMAIN}
    hdrs.update(headers or {})
    conn.request(method, path, body=body, headers=hdrs)
    return conn.getresponse(), conn


def http_plain(method, path, headers=None):
    conn = http.client.HTTPConnection(IP, 80, timeout=10)
    hdrs = {"Host": DOMAIN}
    hdrs.update(headers or {})
    conn.request(method, path, headers=hdrs)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


# --- TLS ---------------------------------------------------------------------------------------


def test_https_certificate_issued_by_pebble_for_the_domain():
    resp, conn = https("GET", HEALTH)
    cert = conn.sock.getpeercert()
    assert resp.status == 200
    issuer = dict(x[0] for x in cert["issuer"])
    assert issuer["commonName"].startswith("Pebble Intermediate CA"), issuer
    assert ("DNS", DOMAIN) in cert["subjectAltName"]
    conn.close()


def test_wrong_name_is_rejected_by_certificate_check():
    ctx = tls_context()
    with socket.create_connection((IP, 443), timeout=10) as sock, pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(sock, server_hostname="not-" + DOMAIN)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_modern_tls_versions_accepted(version):
    ctx = tls_context(minimum_version=version, maximum_version=version)
    expected = {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    with (
        socket.create_connection((IP, 443), timeout=10) as sock,
        ctx.wrap_socket(sock, server_hostname=DOMAIN) as tls,
    ):
        assert tls.version() == expected


def s_client(*args):
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"{IP}:443", "-servername", DOMAIN, *args],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
    )


@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_legacy_tls_refused(flag):
    # SECLEVEL=0 so the *client* really offers the old protocol; the refusal must be the server's alert.
    res = s_client(flag, "-cipher", "DEFAULT:@SECLEVEL=0")
    assert res.returncode != 0
    assert "alert protocol version" in res.stdout + res.stderr, res.stdout + res.stderr


def test_tls12_weak_cipher_refused_and_intermediate_cipher_accepted():
    # Plain-RSA key exchange / CBC is not in Mozilla intermediate.
    weak = s_client("-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0")
    assert weak.returncode != 0
    good = s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert good.returncode == 0, good.stderr
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in good.stdout


def test_hsts_and_security_headers_on_https():
    resp, conn = https("GET", "/api/echo")
    resp.read()
    assert resp.getheader("Strict-Transport-Security", "").startswith("max-age=")
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    assert resp.getheader("X-Frame-Options") == "DENY"
    assert resp.getheader("Content-Security-Policy")
    assert resp.getheader("Server") == "nginx"  # server_tokens off: no version
    conn.close()


# --- HTTP port -----------------------------------------------------------------------------------


def test_port_80_redirects_to_https():
    resp = http_plain("GET", "/api/codes?x=1")
    assert resp.status == 301
    assert resp.getheader("Location") == f"https://{DOMAIN}/api/codes?x=1"


def test_port_80_never_redirects_to_a_foreign_host():
    resp = http_plain("GET", "/", headers={"Host": "evil.example"})
    assert resp.status == 301
    assert resp.getheader("Location") == f"https://{DOMAIN}/"


def test_acme_challenge_path_stays_on_http():
    resp = http_plain("GET", "/.well-known/acme-challenge/no-such-token")
    assert resp.status == 404  # served from the webroot on port 80, not redirected


# --- proxying --------------------------------------------------------------------------------------


def test_nginx_answers_its_own_health():
    resp, conn = https("GET", HEALTH)
    body = json.loads(resp.read())
    assert body["service"] == "nginx" and body["status"] == "healthy"
    conn.close()


@pytest.mark.parametrize("path", ["/health", "/api/health"])
def test_service_health_is_proxied(path):
    resp, conn = https("GET", path)
    body = json.loads(resp.read())
    assert resp.status == 200 and body["service"] == "fake-cadchat"
    conn.close()


def test_proxy_headers_reach_the_service():
    resp, conn = https("GET", "/api/echo", headers={"X-Request-ID": "req-123"})
    seen = json.loads(resp.read())["headers"]
    assert seen["host"] == DOMAIN
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-real-ip"] and seen["x-forwarded-for"].endswith(seen["x-real-ip"])
    assert seen["x-request-id"] == "req-123"
    assert resp.getheader("X-Request-ID") == "req-123"
    resp2, conn2 = https("GET", "/api/echo")
    generated = json.loads(resp2.read())["headers"]["x-request-id"]
    assert len(generated) == 32 and resp2.getheader("X-Request-ID") == generated
    conn.close()
    conn2.close()


def test_json_is_gzipped():
    resp, conn = https("GET", "/api/echo", headers={"Accept-Encoding": "gzip"})
    resp.read()
    assert resp.getheader("Content-Encoding") == "gzip"
    conn.close()


def test_body_over_limit_is_refused():
    resp, conn = https(
        "POST", "/api/query", body=b"x" * (1024 * 1024 + 10), headers={"Content-Type": "application/json"}
    )
    resp.read()
    assert resp.status == 413
    conn.close()


@pytest.mark.parametrize("path", ["/api/chat", "/api/chat/stream"])
def test_sse_arrives_incrementally(path):
    start = time.time()
    resp, conn = https(
        "POST",
        path,
        body=json.dumps({"message": "画一个圆", "stream": True}).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "Accept-Encoding": "gzip",
        },
        timeout=30,
    )
    assert resp.status == 200
    assert resp.getheader("Content-Type", "").startswith("text/event-stream")
    assert resp.getheader("Content-Encoding") is None  # event streams are never gzipped
    events = []
    while True:
        line = resp.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            events.append((time.time(), json.loads(line[6:])))
    conn.close()
    assert [e["i"] for _, e in events] == list(range(len(events))) and len(events) >= 3
    first_arrival, _ = events[0]
    last_sent = events[-1][1]["sent"]
    # The first event is in the client's hands before the upstream even sent the last one.
    assert first_arrival < last_sent, (first_arrival - start, last_sent - start)
    # ... and every event arrives about when it was sent, not at the end.
    for arrived, ev in events:
        assert arrived - ev["sent"] < 0.8, (arrived - ev["sent"], ev)


def open_stream(path="/api/chat/stream"):
    """Start one chat stream; returns (status, connection) with the stream still open when 200."""
    resp, conn = https(
        "POST",
        path,
        body=json.dumps({"message": "画一个圆", "stream": True}).encode(),
        headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        timeout=30,
    )
    if resp.status != 200:
        resp.read()
    return resp.status, conn


def test_streams_per_client_are_limited():
    time.sleep(3)  # a fresh chat rate-limit bucket, so only limit_conn can refuse below
    held = []
    try:
        for _ in range(STREAMS):
            status, conn = open_stream()
            held.append(conn)
            assert status == 200
        status, conn = open_stream()
        conn.close()
        assert status in (429, 503), f"stream {STREAMS + 1} of one client got {status}"
    finally:
        for conn in held:
            conn.close()


def stalled_for(payload: bytes, tls: bool = False) -> float:
    """Seconds until Nginx drops a client that sends `payload` and then nothing."""
    port = 443 if tls else 80
    sock = socket.create_connection((IP, port), timeout=STALL * 3)
    if tls:
        sock = tls_context().wrap_socket(sock, server_hostname=DOMAIN)
    start = time.monotonic()
    sock.sendall(payload)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, TimeoutError, ssl.SSLError):
        pass
    sock.close()
    return time.monotonic() - start


def test_client_stalling_in_the_headers_is_dropped():
    elapsed = stalled_for(f"GET {HEALTH} HTTP/1.1\r\nHost: {DOMAIN}\r\nX-Slow: ".encode())
    assert STALL - 1 <= elapsed <= STALL + 5, elapsed


def test_client_stalling_in_the_body_is_dropped():
    head = (
        f"POST /api/query HTTP/1.1\r\nHost: {DOMAIN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    elapsed = stalled_for(head.encode() + b'{"q": ', tls=True)
    assert STALL - 1 <= elapsed <= STALL + 5, elapsed


def raw_request_line(target: bytes) -> tuple[int, dict[str, str], bytes]:
    """One GET over HTTPS whose request target is sent byte for byte (as `curl '...?q=炸开块'` does)."""
    sock = tls_context().wrap_socket(socket.create_connection((IP, 443), timeout=10), server_hostname=DOMAIN)
    sock.sendall(b"GET " + target + f" HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_raw_utf8_in_a_url_gets_the_json_error_shape_from_nginx():
    status, headers, body = raw_request_line("/api/search?q=炸开块&limit=3".encode())
    assert status == 400 and headers["content-type"].startswith("application/json"), (status, headers)
    answer = json.loads(body)
    assert answer["success"] is False and "percent-encode" in answer["error"]
    assert headers["x-content-type-options"] == "nosniff"  # the server's headers still apply
    status, _, body = raw_request_line(b"/api/search?q=%E7%82%B8%E5%BC%80%E5%9D%97&limit=3")
    assert status == 200 and json.loads(body)["path"] == "/api/search?q=%E7%82%B8%E5%BC%80%E5%9D%97&limit=3"


# Runs last (file order): it exhausts this client's bucket.
def test_rate_limit_past_the_burst():
    statuses = []
    ctx = tls_context()
    for _ in range(60):
        resp, conn = https("GET", "/api/codes", ctx=ctx)
        resp.read()
        statuses.append(resp.status)
        conn.close()
    assert statuses[0] == 200
    assert any(s in (429, 503) for s in statuses), statuses
    # Health checks stay exempt from the limit.
    resp, conn = https("GET", "/api/health")
    resp.read()
    assert resp.status == 200
    conn.close()
