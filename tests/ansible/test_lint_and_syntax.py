"""yamllint, ansible-lint (production profile) and --syntax-check over the Ansible tree."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from _ansible_paths import REPO, tool, tool_env

# They start external tools (ansible-lint alone needs ~1 min of CPU); none starts Molecule.
pytestmark = pytest.mark.slow

# Lint areas by owner, so a failure names whose files broke.
FOUNDATION = [
    "site.yml",
    "playbooks",
    "inventory",
    "roles/common",
    "roles/docker",
    "molecule/common",
    "molecule/docker",
    "molecule/site",
    "molecule/shared",
]
OTHER_AREAS = {
    "nginx": ["roles/nginx", "molecule/nginx"],
    "cadchat": ["roles/cadchat", "molecule/cadchat-systemd", "molecule/cadchat-docker"],
    "postgresql": ["roles/postgresql", "molecule/scale-out"],
}


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def existing(paths: list[str]) -> list[str]:
    return [p for p in paths if (REPO / p).exists()]


def test_yamllint_clean():
    result = run(tool("yamllint"), "--strict", "-f", "parsable", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def ansible_lint_report() -> str:
    """One ansible-lint run over the whole tree (it is slow to start; areas are judged from its report)."""
    result = run(tool("ansible-lint"), "--nocolor", "--format=pep8", "--profile", "production")
    report = result.stdout + result.stderr
    if result.returncode not in (0, 2):
        pytest.fail(f"ansible-lint crashed (rc={result.returncode}):\n{report}")
    if result.returncode == 2 and not re.search(r"^\S+:\d+", result.stdout, re.M):
        pytest.fail(f"ansible-lint failed without listing violations:\n{report}")
    return result.stdout


def violations_in(report: str, paths: list[str]) -> list[str]:
    return [line for line in report.splitlines() if any(line.startswith(p) for p in paths)]


def test_ansible_lint_foundation_clean(ansible_lint_report):
    assert violations_in(ansible_lint_report, FOUNDATION) == []


@pytest.mark.parametrize("area", sorted(OTHER_AREAS))
def test_ansible_lint_other_roles_clean(ansible_lint_report, area):
    paths = existing(OTHER_AREAS[area])
    if not paths:
        pytest.skip(f"{area} not present yet")
    assert violations_in(ansible_lint_report, paths) == []


def test_violations_are_attributed_to_their_area():
    """The report parser must see a violation (pep8 format: path:line:col: rule: message), else the
    lint tests above could never fail. One ansible-lint start costs tens of seconds, so the parser is
    checked on a report line instead of a second run."""
    report = "roles/common/tasks/ufw.yml:12:7: fqcn[action-core]: Use FQCN for builtin module actions\n"
    assert violations_in(report, FOUNDATION) == [report.strip()]
    assert violations_in(report, OTHER_AREAS["nginx"]) == []


@pytest.mark.parametrize(
    "playbook",
    ["site.yml", *sorted(str(p.relative_to(REPO)) for p in (REPO / "playbooks").glob("*.yml"))],
)
def test_syntax_check(playbook):
    result = run(tool("ansible-playbook"), "-i", "inventory/production", "--syntax-check", playbook)
    assert result.returncode == 0, result.stdout + result.stderr


def test_inventory_has_the_cadchat_group():
    result = run(tool("ansible-inventory"), "-i", "inventory/production", "--graph", "cadchat")
    assert result.returncode == 0, result.stderr
    assert "@cadchat:" in result.stdout
    assert "cadchat-prod-1" in result.stdout


def validate_vars(*extra: str) -> subprocess.CompletedProcess[str]:
    """playbooks/validate-vars.yml against this machine standing in for cadchat-prod-1 (facts only)."""
    return run(
        tool("ansible-playbook"),
        "-i",
        "inventory/production",
        "playbooks/validate-vars.yml",
        "--limit",
        "cadchat-prod-1",
        "-e",
        "ansible_connection=local",
        "-e",
        "ansible_become=false",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        *extra,
    )


def test_production_group_vars_pass_the_role_argument_specs():
    """The example inventory's values are valid role arguments (type and choices)."""
    result = validate_vars()
    assert result.returncode == 0, result.stdout + result.stderr


def test_validate_vars_rejects_a_bad_value():
    result = validate_vars("-e", "common_swap_state=gone")
    assert result.returncode != 0
    assert "common_swap_state" in result.stdout


def test_ansible_lint_clean_everywhere_else(ansible_lint_report):
    """Violations outside the known areas (a new role, a stray playbook) fail too."""
    known = FOUNDATION + [p for paths in OTHER_AREAS.values() for p in paths]
    stray = [
        line
        for line in ansible_lint_report.splitlines()
        if re.match(r"^\S+:\d+", line) and not any(line.startswith(p) for p in known)
    ]
    assert stray == []
