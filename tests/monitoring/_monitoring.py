"""What the monitoring tests share: where monitoring/ lives, its rules and dashboard, and the tools."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
RULE_FILES = sorted((MONITORING / "rules").glob("*.yml"))
RULE_TESTS = sorted((MONITORING / "tests").glob("*.yml"))
DASHBOARD = MONITORING / "grafana" / "cadchat-dashboard.json"

# Metric names that come from node_exporter or its textfile collector, not from the service.
NOT_FROM_SERVICE = re.compile(r"^(node_|cadchat_backup_|cadchat_tls_|up$)")


def binary(name: str) -> str:
    """Path of a Prometheus tool from Debian's `prometheus` / `prometheus-node-exporter` packages.

    CI installs them; on a developer machine without them the test is skipped, in CI it fails.
    """
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (apt-get install prometheus prometheus-node-exporter)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def rules() -> list[dict]:
    """Every rule (recording and alerting) of every rule file."""
    groups = [group for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]]
    return [rule for group in groups for rule in group["rules"]]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def dashboard_expressions() -> list[str]:
    import json

    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def grafana_to_promql(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced so Prometheus can evaluate it."""
    return expr.replace("$__rate_interval", "1m").replace('"$instance"', '".*"')


_PROMQL_WORDS = {
    "sum",
    "rate",
    "increase",
    "histogram_quantile",
    "time",
    "max",
    "min",
    "avg",
    "by",
    "and",
    "or",
    "unless",
    "without",
    "on",
    "ignoring",
    "count",
    "label_values",
}


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (label matchers, functions and keywords removed)."""
    stripped = re.sub(r"\{[^}]*\}", "{}", expr)
    stripped = re.sub(r"\[[^\]]*\]", "[]", stripped)
    stripped = re.sub(r'"[^"]*"', '""', stripped)
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", stripped))
    names -= _PROMQL_WORDS
    return {n for n in names if "_" in n and not n.startswith("le") and ":" not in n}
