"""A real Prometheus scrapes a real service and node_exporter with monitoring/'s config and rules.

Proves together what promtool alone cannot: the scrape config reaches /metrics, the exposition
parses, the route label is the template, every metric name the rules and the dashboard use is
really exported, every dashboard query is valid PromQL, and an alert expression evaluates on live
data (the backup-age alert, from a textfile-collector file like the backup job writes).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from _monitoring import (
    MONITORING,
    NOT_FROM_SERVICE,
    RULE_FILES,
    alerts,
    binary,
    dashboard_expressions,
    grafana_to_promql,
    metric_names,
    rules,
)

sys.path.insert(0, str(MONITORING.parent / "benchmarks"))
FAKE_DASHSCOPE = MONITORING.parent / "tests" / "chat" / "fake_dashscope.py"
from serverproc import free_port, running_server  # noqa: E402

pytestmark = pytest.mark.slow


def get_json(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def post(url: str, body: dict) -> None:
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=5) as resp:
        resp.read()


@contextlib.contextmanager
def process(argv: list[str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_for(check, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            last = check()
            if last:
                return last
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:]
    pytest.fail(f"timed out waiting for {what}; last: {last!r}; log:\n{tail}")


def live_config(service: str, node: str) -> dict:
    """monitoring/prometheus.yml with its target files replaced by the live addresses, fast intervals."""
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(p) for p in RULE_FILES]
    targets = {"cadchat": service, "node": node}
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == set(targets), "the shipped config scrapes exactly the service and node_exporter"
    for job in config["scrape_configs"]:
        job.pop("file_sd_configs")
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(Prometheus API base, node_exporter address), both targets scraped, every rule evaluated."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    # As the backup job writes it: last success long ago.
    (textfile / "cadchat_backup.prom").write_text("cadchat_backup_last_success_timestamp_seconds 1000\n")
    node = f"127.0.0.1:{free_port()}"
    prom_port = free_port()
    fake_port = free_port()
    # Chat through the real SDK against the loopback DashScope fake, so upstream series exist too.
    fake_argv = [sys.executable, str(FAKE_DASHSCOPE), "--port", str(fake_port)]
    upstream = {
        "DASHSCOPE_API_KEY": "sk-test-fake-0123456789",
        "CADCHAT_DASHSCOPE_BASE_URL": f"http://127.0.0.1:{fake_port}/api/v1",
    }
    with (
        process(fake_argv, tmp_path / "fake_dashscope.log"),
        running_server(data_dir, upstream) as (base, _pid),
    ):
        post(base + "/api/query", {"requirement": "画一个圆"})
        post(base + "/api/chat", {"message": "画一个半径 50 的圆", "cache": False})
        post(base + "/api/chat", {"message": "把多余的线剪掉", "stream": True})
        code = '(defun c:HELLO () (princ "hello") (princ))'
        post(base + "/api/user_codes/save", {"code": code, "command": "HELLO", "description": "问候"})
        with urllib.request.urlopen(base + "/api/search?q=circle", timeout=5) as resp:
            resp.read()
        service = base.removeprefix("http://")
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(live_config(service, node)))
        node_log, prom_log = tmp_path / "node_exporter.log", tmp_path / "prometheus.log"
        node_argv = [
            binary("prometheus-node-exporter"),
            f"--web.listen-address={node}",
            f"--collector.textfile.directory={textfile}",
        ]
        prom_argv = [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ]
        with process(node_argv, node_log), process(prom_argv, prom_log):
            api = f"http://127.0.0.1:{prom_port}/api/v1"

            def targets_up():
                active = get_json(api + "/targets")["data"]["activeTargets"]
                return len(active) == 2 and all(t["health"] == "up" for t in active)

            wait_for(targets_up, 90, "both targets up", prom_log)

            def rules_evaluated():
                groups = get_json(api + "/rules")["data"]["groups"]
                stamps = [r.get("lastEvaluation", "") for g in groups for r in g["rules"]]
                return stamps and all(stamp.startswith("20") for stamp in stamps)

            wait_for(rules_evaluated, 60, "every rule evaluated once", prom_log)
            yield api, node


def query(api: str, expr: str) -> list[dict]:
    answer = get_json(api + "/query?" + urllib.parse.urlencode({"query": expr}))
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]["result"]


def test_live_prometheus_scrapes_evaluates_and_finds_every_name(prometheus: tuple[str, str]) -> None:
    api, node = prometheus

    assert [r["value"][1] for r in query(api, 'up{job="cadchat"}')] == ["1"]
    routes = {r["metric"]["route"] for r in query(api, 'cadchat_http_requests_total{job="cadchat"}')}
    assert {"/api/query", "/api/search"} <= routes
    assert not any("?" in r for r in routes), "labels are route templates, never raw paths"

    # Every rule loaded and evaluated without error.
    groups = get_json(api + "/rules")["data"]["groups"]
    evaluated = [r for g in groups for r in g["rules"]]
    assert len(evaluated) == len(rules())
    assert [r["name"] for r in evaluated if r["health"] != "ok"] == []

    # An alert expression on live data: the backup-age alert sees node_exporter's textfile metric.
    backup_too_old = next(a for a in alerts() if a["alert"] == "CadchatBackupTooOld")
    hits = query(api, backup_too_old["expr"])
    assert [(h["metric"]["job"], h["metric"]["instance"]) for h in hits] == [("node", node)]
    service_down = next(a for a in alerts() if a["alert"] == "CadchatDown")
    assert query(api, service_down["expr"]) == []

    # Names: what the rules and the dashboard select, the service (or node_exporter) exports.
    exported = {r["metric"]["__name__"] for r in query(api, 'group by (__name__) ({job="cadchat"})')}
    expressions = [r["expr"] for r in rules()] + dashboard_expressions()
    used = set().union(*map(metric_names, expressions))
    missing = sorted(n for n in used if not NOT_FROM_SERVICE.match(n) and n not in exported)
    assert missing == [], f"used by monitoring/ but not exported by the service: {missing}"

    # The dashboard's queries are valid PromQL.
    for expr in dashboard_expressions():
        query(api, grafana_to_promql(expr))
