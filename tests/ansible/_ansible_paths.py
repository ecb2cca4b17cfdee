"""Locations shared by the Ansible tests (no fixtures: plain constants, importable anywhere)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"
MOLECULE = REPO / "molecule"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The venv's copy of a CLI tool (ansible-playbook, ansible-lint, yamllint)."""
    path = BIN / name
    if not path.exists():
        raise FileNotFoundError(f"{name} not found next to {sys.executable}; install the dev requirements")
    return str(path)


def tool_env() -> dict[str, str]:
    """Environment for the tools: the venv first on PATH, the repo's ansible.cfg, no colour."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["NO_COLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env.pop("ANSIBLE_ROLES_PATH", None)
    return env


def run_local_playbook(playbook: Path) -> subprocess.CompletedProcess[str]:
    """Run a playbook against localhost (connection local) with the repo's roles, this Python."""
    env = tool_env() | {"ANSIBLE_ROLES_PATH": str(ROLES)}
    cmd = [
        tool("ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        str(playbook),
    ]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def run_role_preflight(tmp_path: Path, role: str, role_vars: dict) -> subprocess.CompletedProcess[str]:
    """Run `role`'s tasks/preflight.yml on localhost (minimal facts) with `role_vars`."""
    play = [
        {
            "hosts": "localhost",
            "gather_facts": True,
            "gather_subset": ["min"],
            "tasks": [
                {"ansible.builtin.include_role": {"name": role, "tasks_from": "preflight"}, "vars": role_vars}
            ],
        }
    ]
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(yaml.safe_dump(play), encoding="utf-8")
    return run_local_playbook(playbook)
