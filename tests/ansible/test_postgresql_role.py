"""Host-only checks of roles/postgresql: the rendered settings parsed by a real PostgreSQL server
binary, pg_hba.conf admitting only the application hosts, and preflight refusing bad input.

Renders roles/postgresql/templates/*.j2 with ansible-playbook on localhost (connection local) and
reads the result; the end-to-end proof is molecule/scale-out.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from _ansible_paths import ROLES, preflight_refusals, run_local_tasks

ROLE = ROLES / "postgresql"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
INTERNAL = yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8"))
APP_HOSTS = ["10.0.1.11", "10.0.1.12", "10.0.2.0/24", "fd00::5"]

VARIANTS = {
    "local": {"postgresql_allow_from": []},
    "apps": {
        "postgresql_allow_from": APP_HOSTS,
        "postgresql_settings": {"log_min_duration_statement": "500ms"},
    },
    "typo": {"postgresql_allow_from": [], "postgresql_settings": {"shared_bufers": "64MB"}},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, dict[str, str]]:
    """Each variant's drop-in and pg_hba.conf, rendered by one ansible-playbook run."""
    tmp = tmp_path_factory.mktemp("postgresql-render")
    tasks = []
    for name, overrides in VARIANTS.items():
        for template in ("cadchat.conf", "pg_hba.conf"):
            tasks.append(
                {
                    "name": f"{name} {template}",
                    "vars": overrides,
                    "ansible.builtin.template": {
                        "src": str(ROLE / "templates" / f"{template}.j2"),
                        "dest": str(tmp / f"{name}.{template}"),
                        "mode": "0644",
                    },
                }
            )
    facts = {"__postgresql_version": "15"}
    result = run_local_tasks(tmp, "render", tasks, variables={**DEFAULTS, **INTERNAL, **facts})
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        name: {t: (tmp / f"{name}.{t}").read_text(encoding="utf-8") for t in ("cadchat.conf", "pg_hba.conf")}
        for name in VARIANTS
    }


def rules(hba: str) -> list[list[str]]:
    return [line.split() for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_local_only_by_default(rendered):
    conf = rendered["local"]["cadchat.conf"]
    assert "listen_addresses = 'localhost'" in conf
    assert [r for r in rules(rendered["local"]["pg_hba.conf"]) if r[0] == "host"] == [
        ["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
        ["host", "all", "all", "::1/128", "scram-sha-256"],
    ]


def test_application_hosts_only_to_the_database_as_its_role_by_scram(rendered):
    remote = [
        r
        for r in rules(rendered["apps"]["pg_hba.conf"])
        if r[0] == "host" and r[3] not in ("127.0.0.1/32", "::1/128")
    ]
    assert remote == [
        ["host", "cadchat", "cadchat", "10.0.1.11/32", "scram-sha-256"],
        ["host", "cadchat", "cadchat", "10.0.1.12/32", "scram-sha-256"],
        ["host", "cadchat", "cadchat", "10.0.2.0/24", "scram-sha-256"],
        ["host", "cadchat", "cadchat", "fd00::5/128", "scram-sha-256"],
    ]
    methods = {r[-1] for r in rules(rendered["apps"]["pg_hba.conf"])}
    assert methods == {"peer", "scram-sha-256"}  # never trust, password or md5
    assert "listen_addresses = '*'" in rendered["apps"]["cadchat.conf"]


def test_settings_sized_for_a_two_gigabyte_host(rendered):
    conf = rendered["local"]["cadchat.conf"]
    for line in (
        "shared_buffers = '512MB'",
        "effective_cache_size = '1536MB'",
        "work_mem = '4MB'",
        "max_connections = 100",
        "password_encryption = 'scram-sha-256'",
        "statement_timeout = '30s'",
        "synchronous_commit = on",
    ):
        assert line in conf


def parse_with_postgres(dropin: str) -> subprocess.CompletedProcess[str]:
    """`postgres -C` on a staging configuration holding `dropin` in conf.d/, as the role's validate
    script does (Debian's postgresql.conf names data_directory, hba_file and ident_file). The
    server refuses root, so as root it runs as postgres, in a directory of its own outside
    pytest's root-only temp tree."""
    binary = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not binary:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    with tempfile.TemporaryDirectory(prefix="cadchat-pgconf-") as top:
        return _parse(binary[-1], Path(top), dropin)


def _parse(binary: Path, tmp_path: Path, dropin: str) -> subprocess.CompletedProcess[str]:
    stage = tmp_path / "stage"
    (stage / "conf.d").mkdir(parents=True)
    (stage / "data").mkdir(mode=0o700)
    (stage / "pg_hba.conf").write_text("local all all peer\n")
    (stage / "pg_ident.conf").write_text("")
    (stage / "postgresql.conf").write_text(
        f"data_directory = '{stage / 'data'}'\nhba_file = '{stage / 'pg_hba.conf'}'\n"
        f"ident_file = '{stage / 'pg_ident.conf'}'\ninclude_dir = 'conf.d'\n"
    )
    (stage / "conf.d" / "50-cadchat.conf").write_text(dropin)
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        for path in [tmp_path, *tmp_path.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return subprocess.run(
        [str(binary), f"--config-file={stage / 'postgresql.conf'}", "-C", "shared_buffers"],
        capture_output=True,
        text=True,
        user=user,
        cwd="/",
        timeout=60,
        check=False,
    )


def test_the_server_accepts_the_rendered_settings_and_refuses_a_misspelt_one(rendered):
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user")
    good = parse_with_postgres(rendered["apps"]["cadchat.conf"])
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == str(512 * 1024 // 8)  # in 8 kB pages
    typo = parse_with_postgres(rendered["typo"]["cadchat.conf"])
    assert typo.returncode != 0
    assert 'unrecognized configuration parameter "shared_bufers"' in typo.stderr


# --- preflight -----------------------------------------------------------------------------------

BAD_INPUT = {
    "no_password_for_remote_hosts": (
        {"postgresql_allow_from": ["10.0.1.11"]},
        "postgresql_password must be set",
    ),
    "short_password": (
        {"postgresql_allow_from": ["10.0.1.11"], "postgresql_password": "short"},
        "postgresql_password must be set",
    ),
    "host_name_as_peer": ({"postgresql_allow_from": ["app1.internal"]}, "postgresql_allow_from a list of"),
    "size_without_unit": ({"postgresql_shared_buffers": "512"}, "Sizes must look like 512MB"),
    "superuser_as_app_role": ({"postgresql_user": "postgres"}, "the user not the superuser postgres"),
    "app_limit_above_server": ({"postgresql_connection_limit": 100}, "below it"),
}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory) -> dict[str, str]:
    """Preflight run once per bad input inside one playbook; each failure message recorded by case."""
    cases = {case: overrides for case, (overrides, _) in {**BAD_INPUT, "accepted": ({}, "")}.items()}
    return preflight_refusals(tmp_path_factory.mktemp("postgresql-preflight"), "postgresql", cases)


def test_preflight_accepts_the_defaults(refusals):
    assert refusals["accepted"] == "ACCEPTED"


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_preflight_refuses_bad_input_with_a_helpful_message(refusals, case):
    assert BAD_INPUT[case][1] in refusals[case]
