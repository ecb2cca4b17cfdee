"""Host-only checks of roles/docker: preflight refuses daemon options dockerd would not start with.

Runs the role's preflight with ansible-playbook on localhost (connection local); the converged
daemon itself is proven by molecule/docker and molecule/site.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from _ansible_paths import run_role_preflight

# An operator's group_vars override seen in the field: max-file written as a YAML integer.
LOGOPTS_INT = Path(__file__).parent / "data" / "docker-logopts-int.yml"


def preflight(tmp_path: Path, **overrides) -> subprocess.CompletedProcess[str]:
    return run_role_preflight(tmp_path, "docker", {"docker_compose_enabled": False, **overrides})


def test_field_case_integer_max_file_is_refused_before_any_change(tmp_path):
    extra = yaml.safe_load(LOGOPTS_INT.read_text(encoding="utf-8"))["docker_daemon_options_extra"]
    assert extra["log-opts"]["max-file"] == 5
    res = preflight(tmp_path, docker_daemon_options_extra=extra)
    assert res.returncode != 0
    assert "max-file is" in res.stdout and "Quote the value" in res.stdout


@pytest.mark.parametrize(
    "options",
    [
        {"log-driver": "json-file", "log-opts": {"max-size": "10m", "compress": True}},
        {"log-driver": "json-file", "log-opts": {"max-size": 10.5}},
        {"log-driver": "json-file", "log-opts": ["max-size=10m"]},
    ],
    ids=["boolean", "float", "list"],
)
def test_every_non_string_log_opt_in_the_main_options_is_refused(tmp_path, options):
    res = preflight(tmp_path, docker_daemon_options=options)
    assert res.returncode != 0
    assert "must map names to strings" in res.stdout


def test_quoted_values_pass(tmp_path):
    res = preflight(tmp_path, docker_daemon_options_extra={"log-opts": {"max-file": "5", "max-size": "20m"}})
    assert res.returncode == 0, res.stdout[-3000:]
