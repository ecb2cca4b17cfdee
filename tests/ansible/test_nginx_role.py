"""Host-only checks of roles/nginx: the rendered site in each mode, and preflight refusing bad input.

Renders roles/nginx/templates/*.j2 with ansible-playbook on localhost (connection local, no root
needed) and reads the result; the Pebble-backed end-to-end proof is molecule/nginx.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from _ansible_paths import ROLES, preflight_refusals, run_local_tasks, run_role_preflight

ROLE = ROLES / "nginx"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
INTERNAL = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))


VARIANTS = {
    "plain": ("site.conf.j2", {}),
    "tls": (
        "site.conf.j2",
        {
            "nginx_domains": ["chat.example.org", "api.example.org"],
            "__nginx_tls_active": True,
            "__nginx_tls_requested": True,
        },
    ),
    "ocsp": (
        "site.conf.j2",
        {
            "nginx_domains": ["chat.example.org"],
            "__nginx_tls_active": True,
            "__nginx_tls_requested": True,
            "__nginx_ocsp_uri": "http://ocsp.example.net",
        },
    ),
    "new_nginx_ipv6": (
        "site.conf.j2",
        {
            "nginx_domains": ["chat.example.org"],
            "__nginx_tls_active": True,
            "__nginx_tls_requested": True,
            "__nginx_http2_directive": True,
            "__nginx_ipv6": True,
        },
    ),
    "no_ratelimit": ("site.conf.j2", {"nginx_ratelimit_enabled": False}),
    "one_app_host": ("site.conf.j2", {"nginx_upstream_servers": ["10.0.1.11"]}),
    "app_hosts": ("site.conf.j2", {"nginx_upstream_servers": ["10.0.1.11", "10.0.1.12:5001"]}),
    "raw_utf8_passed": ("site.conf.j2", {"nginx_raw_utf8_urls_refused": False}),
    "main": ("nginx.conf.j2", {}),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    """Every variant rendered by one ansible-playbook run: role defaults + internal vars + overrides."""
    tmp = tmp_path_factory.mktemp("nginx-render")
    facts = {
        "__nginx_tls_active": False,
        "__nginx_tls_requested": False,
        "__nginx_cert_name": "chat.example.org",
        "__nginx_ipv6": False,
        "__nginx_http2_directive": False,
        "__nginx_ocsp_uri": "",
    }
    tasks = [
        {
            "name": name,
            "vars": overrides,
            "ansible.builtin.template": {
                "src": str(ROLE / "templates" / template),
                "dest": str(tmp / f"{name}.conf"),
                "mode": "0644",
            },
        }
        for name, (template, overrides) in VARIANTS.items()
    ]
    variables = {**DEFAULTS, **INTERNAL, **facts}
    subset = ["!all", "!min", "service_mgr"]
    res = run_local_tasks(tmp, "render", tasks, variables=variables, gather_subset=subset)
    assert res.returncode == 0, res.stdout + res.stderr
    return {name: (tmp / f"{name}.conf").read_text(encoding="utf-8") for name in VARIANTS}


def block(conf: str, opener: str) -> str:
    """Text of the `{ ... }` block opened by the first line matching `opener` (brace-balanced)."""
    start = re.search(opener, conf, re.M)
    assert start, f"{opener!r} not in rendered config"
    depth, i = 0, conf.index("{", start.start())
    for j in range(i, len(conf)):
        depth += {"{": 1, "}": -1}.get(conf[j], 0)
        if depth == 0:
            return conf[start.start() : j + 1]
    raise AssertionError("unbalanced braces")


def servers(conf: str) -> list[str]:
    blocks, pos = [], 0
    while m := re.search(r"^server \{", conf[pos:], re.M):
        b = block(conf[pos:], r"^server \{")
        blocks.append(b)
        pos += m.start() + len(b)
    return blocks


@pytest.fixture(scope="module")
def plain(rendered) -> str:
    return rendered["plain"]


@pytest.fixture(scope="module")
def tls(rendered) -> str:
    return rendered["tls"]


def test_plain_mode_is_one_http_server_without_hsts_or_acme(plain):
    (srv,) = servers(plain)
    assert re.search(r"^\s+listen 80 default_server;", srv, re.M)
    assert "ssl_certificate" not in plain and "Strict-Transport-Security" not in plain
    assert "acme-challenge" not in plain
    assert "server_name _;" in srv


def test_stream_locations_are_unbuffered_uncompressed_with_long_timeout(plain):
    for path in DEFAULTS["nginx_stream_locations"]:
        loc = block(plain, rf"^\s+location = {re.escape(path)} \{{")
        assert "proxy_buffering off;" in loc
        assert "gzip off;" in loc
        assert f"proxy_read_timeout {DEFAULTS['nginx_stream_read_timeout']}s;" in loc
        assert "limit_req zone=cadchat_chat" in loc
        assert f"limit_conn cadchat_streams {DEFAULTS['nginx_stream_conn_per_client']};" in loc
        assert "add_header" not in loc  # would silently drop the server-level security headers
    assert "limit_conn_zone $binary_remote_addr zone=cadchat_streams:" in plain


def test_api_is_rate_limited_and_health_is_not(plain):
    assert "limit_req_zone $binary_remote_addr zone=cadchat_api:10m rate=10r/s;" in plain
    assert "limit_req zone=cadchat_api burst=20 nodelay;" in block(plain, r"^\s+location / \{")
    for path in ("/health", "/api/health", DEFAULTS["nginx_health_path"]):
        assert "limit_req" not in block(plain, rf"^\s+location = {re.escape(path)} \{{")
    assert "limit_req_status 429;" in plain


def test_nginx_answers_its_own_health_and_proxies_the_service_health(plain):
    own = block(plain, r"^\s+location = /nginx-health \{")
    assert "return 200" in own and "proxy_pass" not in own
    assert "proxy_pass http://cadchat_app;" in block(plain, r"^\s+location = /health \{")


def test_proxy_headers_timeouts_body_limit_keepalive(plain):
    for header in (
        "Host $host",
        "X-Real-IP $remote_addr",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
        "X-Forwarded-Proto $scheme",
        "X-Request-ID $cadchat_request_id",
    ):
        assert f"proxy_set_header {header};" in plain
    assert "proxy_read_timeout 60s;" in plain and "proxy_connect_timeout 60s;" in plain
    assert "client_max_body_size 1m;" in plain
    upstream = block(plain, r"^upstream cadchat_app \{")
    assert "server 127.0.0.1:5000;" in upstream and "keepalive 16;" in upstream
    assert 'proxy_set_header Connection "";' in plain and "proxy_http_version 1.1;" in plain


def test_one_app_host_is_one_server_line_without_balancing(rendered):
    upstream = block(rendered["one_app_host"], r"^upstream cadchat_app \{")
    assert "server 10.0.1.11:5000;" in upstream
    assert "least_conn" not in upstream and "max_fails" not in upstream
    assert "proxy_next_upstream" not in rendered["one_app_host"]
    assert "proxy_next_upstream" not in rendered["plain"] and "least_conn" not in rendered["plain"]


def test_several_app_hosts_are_balanced_with_passive_health_checks(rendered):
    conf = rendered["app_hosts"]
    upstream = block(conf, r"^upstream cadchat_app \{")
    assert re.search(r"^\s+least_conn;", upstream, re.M)
    fails, timeout = DEFAULTS["nginx_upstream_max_fails"], DEFAULTS["nginx_upstream_fail_timeout"]
    assert f"server 10.0.1.11:5000 max_fails={fails} fail_timeout={timeout}s;" in upstream
    assert f"server 10.0.1.12:5001 max_fails={fails} fail_timeout={timeout}s;" in upstream
    assert f"keepalive {DEFAULTS['nginx_upstream_keepalive']};" in upstream


def test_several_app_hosts_retry_only_what_is_safe_to_send_again(rendered):
    conf = rendered["app_hosts"]
    (retry,) = re.findall(r"^\s+proxy_next_upstream (.*);", conf, re.M)
    # Connection failures and timeouts only: no http_5xx (an answer is an answer), and never
    # non_idempotent, so a POST (a save, a chat) already sent to one host is not sent to another.
    assert retry.split() == ["error", "timeout"]
    assert f"proxy_next_upstream_tries {DEFAULTS['nginx_upstream_next_tries']};" in conf
    for path in DEFAULTS["nginx_stream_locations"]:
        loc = block(conf, rf"^\s+location = {re.escape(path)} \{{")
        assert "proxy_buffering off;" in loc and "proxy_next_upstream" not in loc


def test_tls_mode_port_80_keeps_acme_and_redirects_the_rest(tls):
    http, https = servers(tls)
    assert "listen 80 default_server;" in http
    acme = block(http, r"^\s+location \^~ /\.well-known/acme-challenge/ \{")
    assert "root /var/www/letsencrypt;" in acme and "return" not in acme
    assert "return 301 https://$cadchat_redirect_host$request_uri;" in block(http, r"^\s+location / \{")
    assert "proxy_pass" not in http
    redirect_map = block(tls, r"^map \$host \$cadchat_redirect_host \{")
    assert "default chat.example.org;" in redirect_map and "api.example.org api.example.org;" in redirect_map
    assert "listen 443 ssl http2 default_server;" in https


def test_tls_mode_is_mozilla_intermediate_with_hsts(tls):
    https = servers(tls)[1]
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in https
    assert f"ssl_ciphers {':'.join(DEFAULTS['nginx_tls_ciphers'])};" in https
    assert "ssl_session_tickets off;" in https
    assert "ssl_certificate /etc/letsencrypt/live/chat.example.org/fullchain.pem;" in https
    assert 'add_header Strict-Transport-Security "max-age=31536000" always;' in https
    assert "ssl_stapling on;" not in https  # no OCSP responder in the certificate: nothing to staple
    assert "server_name chat.example.org api.example.org;" in https


def test_ocsp_stapling_when_the_certificate_has_a_responder(rendered):
    conf = rendered["ocsp"]
    assert "ssl_stapling on;" in conf and "ssl_trusted_certificate" in conf


def test_new_nginx_gets_http2_directive_and_ipv6_when_available(rendered):
    conf = rendered["new_nginx_ipv6"]
    assert "listen 443 ssl default_server;" in conf and "http2 on;" in conf
    assert "listen [::]:443 ssl default_server;" in conf and "listen [::]:80 default_server;" in conf


def test_rate_limit_off_removes_zones_and_uses(rendered):
    conf = rendered["no_ratelimit"]
    assert "limit_req" not in conf


def test_main_config_hides_version_and_never_gzips_event_streams(rendered):
    conf = rendered["main"]
    assert re.search(r"^\s+server_tokens off;", conf, re.M)
    gzip_types = re.search(r"^\s+gzip_types ([^;]*);", conf, re.M).group(1).split()
    assert "application/json" in gzip_types and "text/event-stream" not in gzip_types
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf


def test_workers_may_open_two_descriptors_per_connection_and_stalled_clients_time_out(rendered):
    conf = rendered["main"]
    limit = int(re.search(r"^worker_rlimit_nofile (\d+);", conf, re.M).group(1))
    connections = int(re.search(r"^\s+worker_connections (\d+);", conf, re.M).group(1))
    assert limit >= 2 * connections
    for directive in ("client_header_timeout", "client_body_timeout"):
        seconds = int(re.search(rf"^\s+{directive} (\d+)s;", conf, re.M).group(1))
        assert 10 <= seconds <= 15


# --- preflight -----------------------------------------------------------------------------------


def preflight(tmp_path: Path, **overrides) -> subprocess.CompletedProcess[str]:
    return run_role_preflight(tmp_path, "nginx", overrides)


BAD_INPUT = {
    "scheme_in_domain": ({"nginx_domains": ["https://chat.example.org"]}, "nginx_domains unique fully"),
    "health_path_of_service": ({"nginx_health_path": "/health"}, "nginx_health_path an absolute path"),
    "rate_format": ({"nginx_ratelimit_api_rate": "10 per second"}, "Rate limits must look like"),
    "plain_http_acme": ({"nginx_certbot_server": "http://acme.example.org/dir"}, "https:// ACME directory"),
    "old_tls": ({"nginx_tls_protocols": ["TLSv1.1", "TLSv1.2"]}, "may only hold TLSv1.2 and TLSv1.3"),
    "upstream_with_scheme": (
        {"nginx_upstream_servers": ["http://10.0.1.11:5000", "10.0.1.12"]},
        "nginx_upstream_servers must be distinct host or host:port",
    ),
    "upstream_twice": (
        {"nginx_upstream_servers": ["10.0.1.11", "10.0.1.11"]},
        "nginx_upstream_servers must be distinct host or host:port",
    ),
    "fd_limit_below_two_per_connection": (
        {"nginx_worker_connections": 4096, "nginx_worker_rlimit_nofile": 4096},
        "nginx_worker_rlimit_nofile at least 2 x nginx_worker_connections",
    ),
}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory) -> dict[str, str]:
    """Preflight run once per bad input inside one playbook; each failure message recorded by case."""
    cases = {case: overrides for case, (overrides, _) in BAD_INPUT.items()}
    return preflight_refusals(tmp_path_factory.mktemp("nginx-preflight"), "nginx", cases)


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_preflight_refuses_bad_input_with_a_helpful_message(refusals, case):
    assert refusals[case] != "ACCEPTED"
    assert BAD_INPUT[case][1] in refusals[case]


def test_preflight_warns_about_plain_http(tmp_path):
    res = preflight(tmp_path)
    assert res.returncode == 0, res.stdout[-3000:]
    assert "WARNING: CADChat is served over plain HTTP on port 80" in res.stdout
    quiet = preflight(tmp_path, nginx_domains=["chat.example.org"], nginx_certbot_email="ops@example.org")
    assert quiet.returncode == 0 and "WARNING: CADChat is served" not in quiet.stdout


def test_urls_with_raw_utf8_get_the_json_error_shape_from_nginx(plain, tls, rendered):
    assert re.search(
        r'map \$request_uri \$cadchat_raw_utf8_url \{\s+default 0;\s+"~\[\\x80-\\xff\]" 1;', plain
    )
    for conf in (plain, tls):
        for srv in servers(conf):
            if "proxy_pass" not in srv:
                continue  # the TLS mode's port-80 redirect
            assert re.search(r"if \(\$cadchat_raw_utf8_url\) \{\s+return 418;\s+\}", srv)
            assert "error_page 418 = @cadchat_raw_utf8_url;" in srv
            named = block(srv, r"^\s+location @cadchat_raw_utf8_url \{")
            assert "default_type application/json;" in named
            answer = re.search(r"return 400 '(.*)\\n';", named)
            assert answer, named
            body = json.loads(answer.group(1))  # one single-quoted Nginx string: no quote, no `$`
            assert body["success"] is False and "percent-encode" in body["error"] == body["message"]
            assert "'" not in answer.group(1) and "$" not in answer.group(1)
    off = rendered["raw_utf8_passed"]
    assert "raw_utf8_url" not in off and "return 418" not in off
