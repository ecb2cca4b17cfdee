"""Every role keeps its interface honest: defaults, argument_specs and README say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from _ansible_paths import ROLES

ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "tasks" / "main.yml").exists())


def load(path: Path):
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def spec_options(role: Path) -> dict:
    specs = load(role / "meta" / "argument_specs.yml")["argument_specs"]
    return specs["main"]["options"]


@pytest.fixture(params=ROLE_DIRS, ids=[p.name for p in ROLE_DIRS])
def role(request) -> Path:
    return request.param


def test_roles_exist():
    assert {"common", "docker"} <= {p.name for p in ROLE_DIRS}


def test_argument_specs_and_defaults_name_the_same_variables(role):
    defaults = load(role / "defaults" / "main.yml") or {}
    options = spec_options(role)
    assert sorted(set(defaults) - set(options)) == [], "in defaults/main.yml but not in argument_specs"
    assert sorted(set(options) - set(defaults)) == [], "in argument_specs but not in defaults/main.yml"


def test_argument_spec_defaults_equal_role_defaults(role):
    defaults = load(role / "defaults" / "main.yml") or {}
    mismatched = {
        name: (opt.get("default"), defaults[name])
        for name, opt in spec_options(role).items()
        if name in defaults and opt.get("default") != defaults[name]
    }
    assert mismatched == {}, "argument_specs default != defaults/main.yml value: (spec, defaults)"


def test_every_option_is_typed_and_described(role):
    bad = [n for n, o in spec_options(role).items() if not o.get("type") or not o.get("description")]
    assert bad == []


def test_variables_are_role_prefixed(role):
    prefix = f"{role.name}_"
    assert [n for n in spec_options(role) if not n.startswith(prefix)] == []


def concerns(role: Path) -> list[str]:
    return sorted(p.stem for p in (role / "tasks").glob("*.yml") if p.stem not in ("main", "preflight"))


def test_every_concern_is_included_behind_a_condition_and_tag(role):
    main = load(role / "tasks" / "main.yml")
    included = {}
    for task in main:
        for key in ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks"):
            if key in task:
                target = task[key]["file"] if isinstance(task[key], dict) else task[key]
                included[Path(target).stem] = task
    problems = []
    others = "".join((role / "tasks" / f"{c}.yml").read_text(encoding="utf-8") for c in concerns(role))
    for concern in concerns(role):
        task = included.get(concern)
        if task is None:
            # A helper file included by a concern file (not by main.yml) is part of that concern.
            if f"{concern}.yml" not in others:
                problems.append(f"{concern}.yml is never included")
            continue
        if not task.get("when"):
            problems.append(f"{concern}.yml included without a switch")
        if f"{role.name}_{concern}" not in (task.get("tags") or []):
            problems.append(f"{concern}.yml lacks the tag {role.name}_{concern}")
    assert problems == []


def test_concern_switches_are_the_include_conditions(role):
    """A `<role>_<concern>_enabled` variable for an existing task file gates that include.

    Directly, or through a fact preflight derives from it (e.g. a switch combined with other inputs).
    """
    main = {
        Path(t["ansible.builtin.include_tasks"]["file"]).stem: str(t.get("when"))
        for t in load(role / "tasks" / "main.yml")
        if isinstance(t.get("ansible.builtin.include_tasks"), dict)
    }
    preflight = (role / "tasks" / "preflight.yml").read_text(encoding="utf-8")
    wrong = [
        concern
        for concern in concerns(role)
        if f"{role.name}_{concern}_enabled" in spec_options(role)
        and f"{role.name}_{concern}_enabled" not in main.get(concern, "")
        and not (concern in main and f"{role.name}_{concern}_enabled" in preflight and "__" in main[concern])
    ]
    assert wrong == []


def test_readme_documents_every_variable_with_its_default(role):
    readme = (role / "README.md").read_text(encoding="utf-8")
    missing = [n for n in spec_options(role) if not re.search(rf"^\s*{re.escape(n)}:", readme, re.M)]
    assert missing == [], "README.md must show `<variable>: <default>` for each variable"


def test_meta_has_namespace_and_role_name(role):
    info = load(role / "meta" / "main.yml")["galaxy_info"]
    assert info["namespace"] == "cadchat"
    assert info["role_name"] == role.name


def test_config_writes_are_validated(role):
    """Templates/copies into /etc of files a daemon parses carry `validate:` (or a documented test step)."""
    unvalidated = []
    for path in sorted((role / "tasks").glob("*.yml")):
        for task in _tasks(load(path) or []):
            for module in ("ansible.builtin.template", "ansible.builtin.copy"):
                args = task.get(module)
                if not isinstance(args, dict):
                    continue
                dest = str(args.get("dest", ""))
                if _needs_validate(dest) and "validate" not in args:
                    unvalidated.append(f"{path.name}: {task.get('name')}")
    assert unvalidated == []


# Config files whose daemon has a checker; others (timezone, apt sources, unit drop-ins) have none.
_VALIDATED_PREFIXES = ("/etc/ssh/", "/etc/docker/", "/etc/apt/apt.conf.d/", "/etc/nginx/", "/etc/sudoers")


def _needs_validate(dest: str) -> bool:
    return dest.startswith(_VALIDATED_PREFIXES)


def _tasks(items):
    for item in items:
        if not isinstance(item, dict):
            continue
        yield item
        for key in ("block", "rescue", "always"):
            yield from _tasks(item.get(key) or [])


def test_modules_are_fqcn(role):
    short = []
    for path in [*sorted((role / "tasks").glob("*.yml")), role / "handlers" / "main.yml"]:
        if not path.exists():
            continue
        for task in _tasks(load(path) or []):
            modules = [k for k in task if k not in _TASK_KEYWORDS]
            short += [f"{path.name}: {m}" for m in modules if "." not in m]
    assert short == []


_TASK_KEYWORDS = {
    "name",
    "when",
    "register",
    "notify",
    "loop",
    "loop_control",
    "tags",
    "vars",
    "become",
    "become_user",
    "changed_when",
    "failed_when",
    "check_mode",
    "block",
    "rescue",
    "always",
    "listen",
    "args",
    "environment",
    "delegate_to",
    "run_once",
    "ignore_errors",
    "no_log",
    "until",
    "retries",
    "delay",
    "diff",
    "throttle",
    "any_errors_fatal",
    "module_defaults",
    "timeout",
    "ignore_unreachable",
    "async",
    "poll",
    "debugger",
    "delegate_facts",
    "collections",
    "connection",
    "port",
    "remote_user",
    "with_items",
    "with_dict",
}
