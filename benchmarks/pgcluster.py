"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl in a temp dir.

Uses the distribution's server binaries (Debian: `apt-get install postgresql`, found under
/usr/lib/postgresql/<version>/bin). initdb and postgres refuse to run as root, so when this
process is root the cluster runs as the `postgres` system user (the package creates it) or,
without one, as `nobody`; the temp dir is handed to that user. The server listens on a unix
socket in the temp dir (and on 127.0.0.1 when asked), never on a shared port.

Authentication: trust for the superuser `cadchat_admin`; roles made by `create_role(...,
password=...)` must give their password (scram-sha-256), so password handling is tested for real.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from serverproc import free_port

SUPERUSER = "cadchat_admin"
PASSWORD_ROLE = "cadchat_app"


def bin_dir() -> Path | None:
    """The directory of initdb/pg_ctl/postgres, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # Debian links them from /usr/lib/postgresql/<v>/bin
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def _server_user() -> str | None:
    """Whom to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


@dataclass
class Cluster:
    bin: Path
    directory: Path
    port: int
    tcp: bool

    @property
    def socket_dir(self) -> Path:
        return self.directory

    def url(self, database: str, user: str = SUPERUSER) -> str:
        """A URL on the unix socket (no password in it)."""
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def tcp_url(self, database: str, user: str = SUPERUSER) -> str:
        if not self.tcp:
            raise RuntimeError("this cluster does not listen on TCP")
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        command = [str(self.bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        command += [
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            database,
            "-c",
            sql,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=_env())
        if done.returncode:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def create_database(self, name: str, owner: str = SUPERUSER) -> str:
        self.psql(f'CREATE DATABASE "{name}" OWNER "{owner}" ENCODING \'UTF8\' TEMPLATE template0')
        return name

    def create_role(self, name: str = PASSWORD_ROLE, *, password: str) -> str:
        escaped = password.replace("'", "''")
        self.psql(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{escaped}'")
        return name

    def server_pid(self) -> int:
        return int((self.directory / "data" / "postmaster.pid").read_text().split()[0])

    def rss_kib(self, field: str = "Rss") -> int:
        """Resident memory of the postmaster and every backend, KiB: `Rss` counts shared pages
        once per process (an upper bound), `Pss` splits them between the processes."""
        total = 0
        root = self.server_pid()
        pids = [root]
        children = Path(f"/proc/{root}/task/{root}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        for pid in pids:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith(f"{field}:"):
                        total += int(line.split()[1])
        return total


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C.UTF-8"
    return env


def _run(command: list[str], user: str | None, log: Path | None = None) -> None:
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env=_env(), user=user, cwd="/"
    )
    if done.returncode:
        tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise RuntimeError(
            f"{Path(command[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}\n{tail}"
        )


@contextlib.contextmanager
def running_cluster(
    *, tcp: bool = False, durable: bool = False, settings: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """Start a cluster, yield it, stop it and remove its files. `durable=False` (tests) turns
    fsync off: nothing here survives the test anyway; benchmarks pass `durable=True`."""
    binaries = bin_dir()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    user = _server_user()
    directory = Path(tempfile.mkdtemp(prefix="cadchat-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    data, log = directory / "data", directory / "server.log"
    port = free_port()
    cluster = Cluster(binaries, directory, port, tcp)
    started = False
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--no-locale"]
        _run([*initdb, "--auth=trust", "--no-sync"], user)
        (data / "pg_hba.conf").write_text(
            f"local all {PASSWORD_ROLE} scram-sha-256\n"
            f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        options = {
            "listen_addresses": "127.0.0.1" if tcp else "",
            "unix_socket_directories": str(directory),
            "port": str(port),
            "max_connections": "60",
            "shared_buffers": "32MB",
            "fsync": "on" if durable else "off",
            "full_page_writes": "on" if durable else "off",
            **(settings or {}),
        }
        with (data / "postgresql.auto.conf").open("a") as conf:
            for key, value in options.items():
                conf.write(f"{key} = '{value}'\n")
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (data / "pg_hba.conf", data / "postgresql.auto.conf"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        _run(
            [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"], user, log
        )
        started = True
        yield cluster
    finally:
        if started:
            with contextlib.suppress(RuntimeError):
                _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user)
        shutil.rmtree(directory, ignore_errors=True)
