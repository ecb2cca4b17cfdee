"""Locations shared by the Ansible tests (no fixtures: plain constants, importable anywhere)."""

from __future__ import annotations

import json
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


def run_local_playbook(playbook: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run a playbook against localhost (connection local) with the repo's roles, this Python;
    `extra`: more ansible-playbook arguments."""
    env = tool_env() | {"ANSIBLE_ROLES_PATH": str(ROLES)}
    cmd = [
        tool("ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        *extra,
        str(playbook),
    ]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def run_local_tasks(
    tmp_path: Path,
    name: str,
    tasks: list[dict],
    *,
    variables: dict | None = None,
    gather_subset: list[str] | None = None,
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run `tasks` as one play on localhost (playbook `tmp_path/<name>.yml`): facts gathered only
    when `gather_subset` is given, `variables` as play vars, `extra` more ansible-playbook args."""
    play: dict = {"hosts": "localhost", "gather_facts": gather_subset is not None, "tasks": tasks}
    if gather_subset is not None:
        play["gather_subset"] = gather_subset
    if variables:
        play["vars"] = variables
    playbook = tmp_path / f"{name}.yml"
    playbook.write_text(yaml.safe_dump([play]), encoding="utf-8")
    return run_local_playbook(playbook, *extra)


def run_role_preflight(tmp_path: Path, role: str, role_vars: dict) -> subprocess.CompletedProcess[str]:
    """Run `role`'s tasks/preflight.yml on localhost (minimal facts) with `role_vars`."""
    task = {"ansible.builtin.include_role": {"name": role, "tasks_from": "preflight"}, "vars": role_vars}
    return run_local_tasks(tmp_path, "preflight", [task], gather_subset=["min"])


def preflight_refusals(
    tmp_path: Path, role: str, cases: dict[str, dict], *, gather_facts: bool = True
) -> dict[str, str]:
    """Run `role`'s tasks/preflight.yml once per case (its vars) inside one playbook on localhost;
    each case's failure message by name, or "ACCEPTED" when the preflight let it through."""
    failure = "ansible_failed_result.msg | default('')"
    tasks = []
    for case, role_vars in cases.items():
        record = "{{ results | combine({" + json.dumps(case) + ": %s}) }}"
        tasks.append(
            {
                "name": case,
                "block": [
                    {
                        "ansible.builtin.include_role": {"name": role, "tasks_from": "preflight"},
                        "vars": role_vars,
                    },
                    {"ansible.builtin.set_fact": {"results": record % "'ACCEPTED'"}},
                ],
                "rescue": [{"ansible.builtin.set_fact": {"results": record % failure}}],
            }
        )
    out = tmp_path / "refusals.json"
    write = {"content": "{{ results | to_json }}", "dest": str(out), "mode": "0644"}
    tasks.append({"ansible.builtin.copy": write})
    subset = ["min"] if gather_facts else None
    result = run_local_tasks(tmp_path, "refusals", tasks, variables={"results": {}}, gather_subset=subset)
    assert result.returncode == 0, result.stdout[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))
