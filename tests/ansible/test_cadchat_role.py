"""Host-only checks of roles/cadchat: the rendered unit, settings file and Compose project, and the
preflight refusing what cannot work. The deploy itself is proven by molecule/cadchat-systemd,
molecule/cadchat-docker and molecule/site."""

from __future__ import annotations

import pytest
import yaml
from _ansible_paths import ROLES, preflight_refusals, run_local_tasks

ROLE = ROLES / "cadchat"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
SECRET = "sk-test-not-a-real-key-0000"
INTERNAL = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))
DB_URL = "postgresql://cadchat@10.0.1.20:5432/cadchat"
DB_PASSWORD = "db-password-not-a-real-one-4d1f"
DB = {**INTERNAL, "cadchat_database_url": DB_URL, "cadchat_database_password": DB_PASSWORD}


VARIANTS = {
    "unit": ("cadchat.service.j2", {"cadchat_deploy_mode": "systemd"}),
    "env_systemd": ("cadchat.env.j2", {"cadchat_deploy_mode": "systemd"}),
    "env_docker": ("cadchat.env.j2", {"cadchat_deploy_mode": "docker"}),
    "compose": ("compose.yaml.j2", {"cadchat_deploy_mode": "docker"}),
    "unit_db": ("cadchat.service.j2", {"cadchat_deploy_mode": "systemd", **DB}),
    "env_db": (
        "cadchat.env.j2",
        {"cadchat_deploy_mode": "systemd", "cadchat_listen_address": "0.0.0.0", **DB},
    ),
    "compose_db": (
        "compose.yaml.j2",
        {"cadchat_deploy_mode": "docker", "cadchat_listen_address": "10.0.1.11", **DB},
    ),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("cadchat-render")
    facts = {
        "__cadchat_container_data_dir": "/data",
        "__cadchat_compose_image": "cadchat:0.1.0-abcdef012345",
        "__cadchat_uid": 998,
        "__cadchat_gid": 997,
        "cadchat_dashscope_api_key": SECRET,
        "cadchat_settings": {"CADCHAT_LLM_PROVIDER": "offline", "CADCHAT_WATCH_POLLING": True},
        "cadchat_secret_settings": {"CADCHAT_EXTRA_TOKEN": "tok-123"},
    }
    tasks = [
        {
            "name": name,
            "vars": overrides,
            "ansible.builtin.template": {
                "src": str(ROLE / "templates" / template),
                "dest": str(tmp / name),
                "mode": "0600",
            },
        }
        for name, (template, overrides) in VARIANTS.items()
    ]
    extra = ("-e", f"role_path={ROLE}")
    res = run_local_tasks(tmp, "render", tasks, variables={**DEFAULTS, **facts}, extra=extra)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return {name: (tmp / name).read_text(encoding="utf-8") for name in VARIANTS}


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_unit_runs_the_current_release_as_the_service_user(rendered):
    unit = directives(rendered["unit"])
    assert unit["ExecStart"] == ["/opt/cadchat/current/bin/cadchat serve"]
    assert unit["User"] == ["cadchat"] and unit["EnvironmentFile"] == ["/etc/cadchat/cadchat.env"]
    assert unit["Restart"] == ["on-failure"]


def test_unit_is_hardened(rendered):
    unit = directives(rendered["unit"])
    assert unit["ProtectSystem"] == ["strict"] and unit["ReadWritePaths"] == ["/var/lib/cadchat"]
    assert unit["StateDirectory"] == ["cadchat"]
    assert unit["CapabilityBoundingSet"] == [""] and unit["NoNewPrivileges"] == ["true"]
    assert unit["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert "@system-service" in unit["SystemCallFilter"]
    switches = (
        "PrivateTmp",
        "ProtectHome",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectControlGroups",
    )
    for switch in switches:
        assert unit[switch] == ["true"], switch
    assert unit["MemoryMax"] == ["768M"]


def test_settings_file_sets_the_mode_specific_values_and_secrets(rendered):
    systemd, docker = rendered["env_systemd"], rendered["env_docker"]
    assert "CADCHAT_HOST=127.0.0.1\n" in systemd and "CADCHAT_DATA_DIR=/var/lib/cadchat\n" in systemd
    assert "CADCHAT_HOST=0.0.0.0\n" in docker and "CADCHAT_DATA_DIR=/data\n" in docker
    for text in (systemd, docker):
        assert "CADCHAT_PORT=5000\n" in text
        assert f"DASHSCOPE_API_KEY={SECRET}\n" in text and "CADCHAT_EXTRA_TOKEN=tok-123\n" in text
        assert "CADCHAT_WATCH_POLLING=true\n" in text and "CADCHAT_LLM_PROVIDER=offline\n" in text
        assert '"' not in text.split("\n", 3)[-1], "values are unquoted (Docker's env_file keeps quotes)"


def test_settings_file_parses_with_the_service_reader(rendered, tmp_path):
    from cadchat.config import load_settings

    path = tmp_path / "cadchat.env"
    path.write_text(rendered["env_systemd"], encoding="utf-8")
    settings = load_settings(environ={}, env_file=path)
    assert settings.port == 5000 and settings.llm_provider == "offline"
    assert settings.dashscope_api_key == SECRET


def test_compose_project_binds_loopback_and_mounts_the_data_dir(rendered):
    service = yaml.safe_load(rendered["compose"])["services"]["cadchat"]
    assert service["image"] == "cadchat:0.1.0-abcdef012345"
    assert service["ports"] == ["127.0.0.1:5000:5000"]
    assert service["volumes"] == ["/var/lib/cadchat:/data"]
    assert service["user"] == "998:997" and service["read_only"] is True
    assert service["env_file"] == ["/etc/cadchat/cadchat.env"]
    assert service["logging"]["options"] == {"max-size": "10m", "max-file": "3"}
    assert service["mem_limit"] == "768m" and service["cap_drop"] == ["ALL"]


def test_database_password_reaches_the_service_only_as_a_file(rendered, tmp_path):
    from cadchat.config import load_settings

    env, unit = rendered["env_db"], directives(rendered["unit_db"])
    assert f"CADCHAT_DATABASE_URL={DB_URL}\n" in env and "CADCHAT_HOST=0.0.0.0\n" in env
    path = "/etc/cadchat-database/password"
    assert f"CADCHAT_DATABASE_PASSWORD_FILE={path}\n" in env
    assert unit["EnvironmentFile"] == ["/etc/cadchat/cadchat.env"]
    for text in (env, rendered["unit_db"], rendered["compose_db"]):
        assert DB_PASSWORD not in text
    assert "DATABASE" not in rendered["env_systemd"]
    settings_file = tmp_path / "cadchat.env"
    settings_file.write_text(env, encoding="utf-8")
    settings = load_settings(environ={}, env_file=settings_file)
    assert settings.database_url == DB_URL and str(settings.database_password_file) == path


def test_compose_mounts_the_password_read_only_and_publishes_on_the_listen_address(rendered):
    service = yaml.safe_load(rendered["compose_db"])["services"]["cadchat"]
    assert service["ports"] == ["10.0.1.11:5000:5000"]
    assert "/etc/cadchat-database/password:/run/secrets/cadchat-database-password:ro" in service["volumes"]


def test_docker_rollback_renders_the_previous_image_over_the_deployed_one(tmp_path):
    """The rollback's own task, run after the deploy set the new image as a fact: the Compose
    project it writes must name the previous image (a task var of the fact's name would lose)."""
    rollback = yaml.safe_load((ROLE / "tasks" / "rollback.yml").read_text(encoding="utf-8"))
    (put_back,) = [t for t in rollback if t["name"] == "Put the previous image back into the Compose project"]
    put_back["ansible.builtin.template"].update(
        src=str(ROLE / "templates" / "compose.yaml.j2"),
        dest=str(tmp_path / "compose.yaml"),
        owner=None,
        group=None,
    )
    deployed = {
        "name": "The deploy's facts",
        "ansible.builtin.set_fact": {
            "__cadchat_image_ref": "cadchat:0.1.2-broken000000",
            "__cadchat_previous_image": "cadchat:0.1.1-previous0000",
        },
    }
    facts = {"__cadchat_container_data_dir": "/data", "__cadchat_uid": 998, "__cadchat_gid": 997}
    res = run_local_tasks(
        tmp_path,
        "rollback",
        [deployed, put_back],
        variables={**DEFAULTS, **facts, "cadchat_deploy_mode": "docker"},
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    service = yaml.safe_load((tmp_path / "compose.yaml").read_text(encoding="utf-8"))["services"]["cadchat"]
    assert service["image"] == "cadchat:0.1.1-previous0000"


# --- preflight -----------------------------------------------------------------------------------

UBUNTU_2004 = {"distribution": "Ubuntu", "distribution_major_version": "20", "distribution_version": "20.04"}
BAD_INPUT = {
    "focal_systemd": ({"cadchat_deploy_mode": "systemd"}, UBUNTU_2004, "cadchat_deploy_mode: docker"),
    "unknown_mode": ({"cadchat_deploy_mode": "podman"}, {}, "cadchat_deploy_mode (systemd|docker"),
    "pull_without_image": (
        {"cadchat_deploy_mode": "docker", "cadchat_image_source": "pull"},
        {},
        "pull needs",
    ),
    "port": ({"cadchat_port": 70000}, {}, "cadchat_port 1..65535"),
    "library_not_txt": ({"cadchat_command_files": ["tools.lsp"]}, {}, "only *.txt"),
    "newline_in_setting": ({"cadchat_settings": {"CADCHAT_LOG_LEVEL": "INFO\nX=1"}}, {}, "one line"),
    "old_python": ({"cadchat_python": "/usr/bin/python3.8-missing"}, {}, "needs Python >= 3.10"),
    "password_in_database_url": (
        {"cadchat_database_url": "postgresql://cadchat:hunter2@10.0.1.20:5432/cadchat"},
        {},
        "without a password",
    ),
    "database_url_in_settings": (
        {"cadchat_settings": {"CADCHAT_DATABASE_URL": DB_URL}},
        {},
        "not from cadchat_settings",
    ),
    "listen_on_a_name": ({"cadchat_listen_address": "app1.internal"}, {}, "must be an IPv4 address"),
}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory) -> dict[str, str]:
    """Preflight once per bad input in one playbook; each failure message recorded by case."""
    base_facts = {
        "distribution": "Debian",
        "distribution_major_version": "12",
        "distribution_version": "12.8",
        "os_family": "Debian",
        "architecture": "x86_64",
    }
    cases = {
        case: {**overrides, "ansible_facts": base_facts | facts}
        for case, (overrides, facts, _) in BAD_INPUT.items()
    }
    return preflight_refusals(
        tmp_path_factory.mktemp("cadchat-preflight"), "cadchat", cases, gather_facts=False
    )


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_preflight_refuses_bad_input_with_a_helpful_message(refusals, case):
    assert refusals[case] != "ACCEPTED"
    assert BAD_INPUT[case][2] in refusals[case]
