"""monitoring/: the Prometheus config and rules pass promtool, and every alert has a unit test."""

from __future__ import annotations

import subprocess

import yaml
from _monitoring import MONITORING, RULE_FILES, RULE_TESTS, alerts, binary


def promtool(*args: str) -> subprocess.CompletedProcess:
    argv = [binary("promtool"), *args]
    return subprocess.run(argv, cwd=MONITORING, capture_output=True, text=True, timeout=300)


def test_prometheus_config_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_files_are_valid() -> None:
    result = promtool("check", "rules", *[str(p) for p in RULE_FILES])
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    assert RULE_TESTS, "no promtool unit tests under monitoring/tests"
    result = promtool("test", "rules", *[str(p) for p in RULE_TESTS])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_expects_it_firing() -> None:
    fired = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    fired.add(check["alertname"])
    assert {a["alert"] for a in alerts()} - fired == set()


def test_every_alert_says_how_bad_and_what_to_do() -> None:
    incomplete = [
        a["alert"]
        for a in alerts()
        if a.get("labels", {}).get("severity") not in {"critical", "warning", "info"}
        or not a.get("annotations", {}).get("summary")
        or not a.get("annotations", {}).get("description")
    ]
    assert incomplete == []
