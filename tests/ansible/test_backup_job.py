"""The scheduled backup job (roles/backup/files/cadchat-backup) run against a local data
directory with the real `cadchat` CLI: archive, verification, retention, lock, settings copy,
off-host hook, metrics, and one line per run."""

from __future__ import annotations

import fcntl
import itertools
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _ansible_paths import ROLES
from cadchat import backup as bk

JOB = ROLES / "backup" / "files" / "cadchat-backup"
CLI = Path(sys.executable).with_name("cadchat")
CODE = '(defun c:RING ()\r\n  (command "_.CIRCLE" pause 10)\r\n)\r\n'
RECORD = (
    '{{"format":"cadchat.user_code","version":1,"id":{id},"command":"RING{id}","description":"圆环",'
    '"tags":[],"created_at":"2026-01-01T00:00:00+00:00","updated_at":"2026-01-01T00:00:00+00:00",'
    '"usage_count":0,"success_count":0,"origin":"api","file":"code-{id:07d}.lsp","code_sha256":"{sha}",'
    '"code":{code}}}\n'
)


def make_store(data: Path, count: int) -> None:
    import hashlib
    import json

    codes = data / "user_codes"
    codes.mkdir(parents=True)
    sha = hashlib.sha256(CODE.encode()).hexdigest()
    for i in range(1, count + 1):
        (codes / f"code-{i:07d}.json").write_text(
            RECORD.format(id=i, sha=sha, code=json.dumps(CODE, ensure_ascii=False)), encoding="utf-8"
        )
        (codes / f"code-{i:07d}.lsp").write_bytes(CODE.encode())
    (data / "command_files").mkdir()
    (data / "command_files" / "mine.txt").write_text("MYLINE|我的直线|ML|||basic\n", encoding="utf-8")


@pytest.fixture
def job(tmp_path):
    data = tmp_path / "data"
    make_store(data, 5)
    backups = tmp_path / "backups"
    config = tmp_path / "backup.conf"
    values = {
        "BACKUP_DIR": backups,
        "DEPLOY_MODE": "systemd",
        "DATA_DIR": data,
        "CLI": CLI,
        "RETENTION_DAYS": 7,
        "RETENTION_COUNT": 0,
        "LOCK_FILE": tmp_path / "backup.lock",
        "METRICS_DIR": tmp_path / "textfile",
        "STATE_FILE": tmp_path / "state" / "last-success",
    }

    def configure(**extra) -> None:
        values.update(extra)
        config.write_text(
            "".join(f"{k}={shlex.quote(str(v))}\n" for k, v in values.items()), encoding="utf-8"
        )

    def run(**extra) -> subprocess.CompletedProcess:
        configure(**extra)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CADCHAT_")}
        return subprocess.run([str(JOB), str(config)], capture_output=True, text=True, env=env, timeout=120)

    configure()
    run.data, run.backups, run.tmp = data, backups, tmp_path
    return run


def metrics(tmp_path: Path) -> dict[str, float]:
    text = (tmp_path / "textfile" / "cadchat_backup.prom").read_text()
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines() if not line.startswith("#")}


def archives(backups: Path) -> list[Path]:
    return sorted(backups.glob("cadchat-backup-*.tar.gz"))


@pytest.mark.skipif(not CLI.exists(), reason="the cadchat CLI is installed with the service")
class TestBackupJob:
    def test_a_run_writes_a_verified_archive_metrics_and_one_line(self, job):
        before = time.time()
        done = job()
        assert done.returncode == 0, done.stderr
        assert done.stderr == "" and done.stdout.count("\n") == 1
        assert done.stdout.startswith("cadchat-backup: ok archive=") and "codes=5 " in done.stdout
        [archive] = archives(job.backups)
        assert bk.verify_archive(archive).codes == 5
        assert oct(archive.stat().st_mode & 0o777) == "0o600"
        assert [p.name for p in job.backups.iterdir() if p.name.startswith(".")] == []
        m = metrics(job.tmp)
        assert m["cadchat_backup_last_run_success"] == 1
        assert m["cadchat_backup_last_success_timestamp_seconds"] >= int(before)
        assert m["cadchat_backup_last_run_timestamp_seconds"] >= int(before)
        assert m["cadchat_backup_archive_bytes"] == archive.stat().st_size
        assert m["cadchat_backup_archives"] == 1 and m["cadchat_backup_codes"] == 5
        assert [p.name for p in (job.tmp / "textfile").iterdir()] == ["cadchat_backup.prom"]
        promtool = shutil.which("promtool")
        if promtool:
            check = subprocess.run(
                [promtool, "check", "metrics"],
                input=(job.tmp / "textfile" / "cadchat_backup.prom").read_text(),
                capture_output=True,
                text=True,
            )
            assert check.returncode == 0, check.stdout + check.stderr

    def test_retention_by_age_and_count_keeps_the_newest(self, job):
        job.backups.mkdir()
        assert job().returncode == 0
        [first] = archives(job.backups)
        now = time.time()
        old = {}
        for days in (3, 6, 8, 30):
            path = job.backups / f"cadchat-backup-2026010{days % 10}T00000{days % 7}Z.tar.gz"
            shutil.copy(first, path)
            os.utime(path, (now - days * 86400, now - days * 86400))
            old[days] = path
        (job.backups / "unrelated.tar.gz").write_bytes(b"x")
        os.utime(job.backups / "unrelated.tar.gz", (now - 90 * 86400, now - 90 * 86400))
        time.sleep(1.1)  # a new archive name (its time stamp has seconds)
        done = job()
        assert done.returncode == 0 and "pruned=2" in done.stdout, done.stdout + done.stderr
        assert not old[8].exists() and not old[30].exists()
        assert old[3].exists() and old[6].exists() and first.exists()
        assert (job.backups / "unrelated.tar.gz").exists()  # not ours
        assert metrics(job.tmp)["cadchat_backup_archives"] == 4

        time.sleep(1.1)
        done = job(RETENTION_COUNT=2)
        assert done.returncode == 0, done.stderr
        kept = archives(job.backups)
        assert len(kept) == 2 and not old[6].exists() and not old[3].exists()
        assert metrics(job.tmp)["cadchat_backup_archives"] == 2

    def test_a_failed_run_exits_non_zero_keeps_the_last_success_and_leaves_nothing(self, job):
        assert job().returncode == 0
        good = metrics(job.tmp)
        time.sleep(1.1)
        done = job(DATA_DIR=job.tmp / "missing")
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.count("\n") == 1
        assert done.stderr.startswith("cadchat-backup: FAILED: cadchat backup: cadchat: data directory")
        m = metrics(job.tmp)
        assert m["cadchat_backup_last_run_success"] == 0
        assert (
            m["cadchat_backup_last_success_timestamp_seconds"]
            == good["cadchat_backup_last_success_timestamp_seconds"]
        )
        assert (
            m["cadchat_backup_last_run_timestamp_seconds"] > good["cadchat_backup_last_run_timestamp_seconds"]
        )
        assert m["cadchat_backup_codes"] == 5 and m["cadchat_backup_archives"] == 1
        assert len(list(job.backups.iterdir())) == 1  # no partial file left behind

    def test_runs_never_overlap(self, job):
        job()
        with open(job.tmp / "backup.lock", "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            done = job()
        assert done.returncode == 75 and "another run holds" in done.stderr
        assert len(archives(job.backups)) == 1

    def test_settings_copy_is_private_or_encrypted(self, job):
        settings = job.tmp / "cadchat.env"
        settings.write_text("DASHSCOPE_API_KEY=sk-secret-123\n")
        settings.chmod(0o600)
        assert job(SETTINGS_FILE=settings, SETTINGS_COPY="plain").returncode == 0
        [plain] = job.backups.glob("*.env")
        assert plain.read_text() == settings.read_text() and oct(plain.stat().st_mode & 0o777) == "0o600"

        key = job.tmp / "backup.key"
        key.write_text("a long passphrase from the vault\n")
        time.sleep(1.1)
        done = job(SETTINGS_COPY="encrypted", SETTINGS_KEY_FILE=key)
        assert done.returncode == 0, done.stderr
        [encrypted] = job.backups.glob("*.env.enc")
        assert b"sk-secret" not in encrypted.read_bytes()
        clear = subprocess.run(
            [
                "openssl",
                "enc",
                "-d",
                "-aes-256-cbc",
                "-pbkdf2",
                "-iter",
                "200000",
                "-pass",
                f"file:{key}",
                "-in",
                str(encrypted),
            ],
            capture_output=True,
            check=True,
        )
        assert clear.stdout == settings.read_bytes()

    def test_off_host_hook_gets_the_archive_and_its_credentials(self, job):
        remote = job.tmp / "remote"
        remote.mkdir()
        creds = job.tmp / "offsite.env"
        creds.write_text("OSS_ACCESS_KEY_SECRET=s3cr3t\n")
        hook = f'cp "$CADCHAT_BACKUP_ARCHIVE" {remote}/ && printf %s "$OSS_ACCESS_KEY_SECRET" > {remote}/seen'
        done = job(OFFSITE_HOOK=hook, OFFSITE_HOOK_ENV_FILE=creds)
        assert done.returncode == 0 and "offsite=hook" in done.stdout, done.stderr
        [archive] = archives(job.backups)
        assert (remote / archive.name).read_bytes() == archive.read_bytes()
        assert (remote / "seen").read_text() == "s3cr3t"
        assert "s3cr3t" not in done.stdout + done.stderr

        done = job(OFFSITE_HOOK="echo 'bucket not found' >&2; exit 3")
        assert done.returncode == 1
        assert done.stderr == "cadchat-backup: FAILED: off-host hook: bucket not found\n"
        assert metrics(job.tmp)["cadchat_backup_last_run_success"] == 0


# --- the shared PostgreSQL store (SOURCE=postgresql) ---------------------------------------------

_databases = itertools.count(1)
ROWS = [
    (1, "RING", '(defun c:RING ()\r\n  (command "_.CIRCLE" pause 10)\r\n)\r\n'),
    (2, "TABS", '(defun c:TABS ()\n\t(princ "制表\\t符 | \\\\ 反斜杠")\n  (princ))'),
    (3, "EMPTYISH", ";; 注释\n"),
]


@pytest.fixture(scope="module")
def pg_server():
    """A throwaway cluster of this module's own (its roles and passwords touch no other test)."""
    from pgcluster import bin_dir, running_cluster

    if bin_dir() is None or shutil.which("pg_dump") is None:
        pytest.skip("PostgreSQL server and client binaries not found (Debian: apt-get install postgresql)")
    with running_cluster() as cluster:
        yield cluster


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def code_digests(cluster, database: str) -> list[str]:
    return cluster.psql(
        "SELECT id || ' ' || command || ' ' || encode(sha256(convert_to(code, 'UTF8')), 'hex') "
        "FROM user_codes ORDER BY id",
        database,
    ).splitlines()


@pytest.fixture
def pg_store(pg_server, tmp_path):
    """The application's role (password, scram-sha-256) owning a database with three codes."""
    from pgcluster import PASSWORD_ROLE

    password = "Pw-backup-" + "k9" * 8
    exists = pg_server.psql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{PASSWORD_ROLE}'")
    role = PASSWORD_ROLE if exists == "1" else pg_server.create_role(password=password)
    pg_server.psql(f'ALTER ROLE "{role}" PASSWORD {literal(password)}')
    database = pg_server.create_database(f"backup_{next(_databases)}", owner=role)
    values = ", ".join(f"({i}, {literal(c)}, {literal(code)})" for i, c, code in ROWS)
    pg_server.psql(
        "CREATE TABLE user_codes (id bigint PRIMARY KEY, command text NOT NULL, code text NOT NULL);"
        f' ALTER TABLE user_codes OWNER TO "{role}";'
        f" INSERT INTO user_codes VALUES {values};",
        database,
    )
    secret = tmp_path / "db-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    url = pg_server.url(database, user=role)
    return {"url": url, "secret": secret, "password": password, "database": database}


@pytest.mark.skipif(not CLI.exists(), reason="the cadchat CLI is installed with the service")
class TestPostgresqlSource:
    def test_a_run_dumps_verifies_counts_and_the_dump_restores_byte_identical(self, job, pg_server, pg_store):
        done = job(SOURCE="postgresql", DB_URL=pg_store["url"], DB_PASSWORD_FILE=pg_store["secret"])
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("cadchat-backup: ok archive=") and " codes=3 " in done.stdout
        assert pg_store["password"] not in done.stdout + done.stderr
        [dump] = sorted(job.backups.glob("cadchat-backup-*.dump"))
        assert oct(dump.stat().st_mode & 0o777) == "0o600"
        assert archives(job.backups) == []
        m = metrics(job.tmp)
        assert m["cadchat_backup_last_run_success"] == 1 and m["cadchat_backup_codes"] == 3
        assert m["cadchat_backup_archives"] == 1 and m["cadchat_backup_archive_bytes"] == dump.stat().st_size

        target = pg_server.create_database(pg_store["database"] + "_restored")
        restored = subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", pg_server.url(target), str(dump)],
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
            timeout=60,
        )
        assert restored.returncode == 0, restored.stderr
        assert code_digests(pg_server, target) == code_digests(pg_server, pg_store["database"])
        assert len(code_digests(pg_server, target)) == len(ROWS)

    def test_a_wrong_password_fails_the_run_and_keeps_no_partial_dump(self, job, pg_store, tmp_path):
        wrong = tmp_path / "wrong-password"
        wrong.write_text("not-the-password\n")
        wrong.chmod(0o600)
        done = job(SOURCE="postgresql", DB_URL=pg_store["url"], DB_PASSWORD_FILE=wrong)
        assert done.returncode == 1
        assert done.stderr.startswith("cadchat-backup: FAILED: pg_dump") and "password" in done.stderr
        assert "not-the-password" not in done.stdout + done.stderr
        assert list(job.backups.glob("*.dump")) == [] and list(job.backups.glob(".*")) == []
        assert metrics(job.tmp)["cadchat_backup_last_run_success"] == 0
