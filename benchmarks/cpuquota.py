"""A fixed CPU allowance per process through a cgroup CPU quota: N processes on one machine
behave like N hosts of equal size (each gets at most `cpus` CPUs per period, whatever else runs).

    with cpu_quota_groups(["app1", "app2"], cpus=0.5) as groups:   # or None: why not, below
        running_server(..., prefix=groups[0].prefix)               # the process starts inside

cgroup v1 (`/sys/fs/cgroup/cpu`: `cpu.cfs_quota_us` / `cpu.cfs_period_us`, plus `cpu.shares` so
a quota'd group gets its allowance before the machine's other work) or cgroup v2 (`cpu.max`,
`cpu.weight`), as root. Groups are named `cadchat-bench-<pid>-<name>`; leaving the context (also
on Ctrl-C or SIGTERM while inside it) moves any process still in a group to the parent group and
removes the group; groups left behind by a killed run (their creator's pid is gone) are removed
on the next start.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PERIOD_US = 100_000
V1_ROOT = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")
PREFIX = "cadchat-bench-"


@dataclass(frozen=True)
class QuotaGroup:
    path: Path
    cpus: float
    version: int

    @property
    def prefix(self) -> list[str]:
        """Command prefix that moves the process into the group before it execs the command."""
        procs = self.path / "cgroup.procs"
        return ["/bin/sh", "-c", f'echo $$ > {procs} && exec "$@"', "cpu-quota"]

    def describe(self) -> str:
        if self.version == 1:
            quota = (self.path / "cpu.cfs_quota_us").read_text().strip()
            period = (self.path / "cpu.cfs_period_us").read_text().strip()
            return f"cgroup v1 {self.path}: cpu.cfs_quota_us={quota} cpu.cfs_period_us={period}"
        return f"cgroup v2 {self.path}: cpu.max={(self.path / 'cpu.max').read_text().strip()}"

    def throttled(self) -> tuple[int, int]:
        """(periods in which the group ran, periods in which it hit its quota) so far."""
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if " " in line)
        return int(stat.get("nr_periods", 0)), int(stat.get("nr_throttled", 0))


def _root() -> tuple[Path, int] | str:
    """The cgroup directory to create groups in and its version, or why there is none."""
    if os.geteuid() != 0:
        return "not root"
    if (V1_ROOT / "cpu.cfs_quota_us").exists():
        return (V1_ROOT, 1) if os.access(V1_ROOT, os.W_OK) else f"{V1_ROOT} is not writable"
    controllers = V2_ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return (V2_ROOT, 2) if os.access(V2_ROOT, os.W_OK) else f"{V2_ROOT} is not writable"
    return "no cgroup cpu controller (v1 /sys/fs/cgroup/cpu or v2 cpu in cgroup.controllers)"


def unavailable() -> str | None:
    """Why no CPU quota can be set here, or None when it can."""
    root = _root()
    return root if isinstance(root, str) else None


def _remove(path: Path) -> None:
    """Move whatever still runs in the group to its parent, then remove the group."""
    with contextlib.suppress(FileNotFoundError):
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):  # exited meanwhile
                (path.parent / "cgroup.procs").write_text(pid)
        path.rmdir()


def _remove_stale(root: Path) -> None:
    for path in root.glob(PREFIX + "*"):
        match = re.match(re.escape(PREFIX) + r"(\d+)-", path.name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            with contextlib.suppress(OSError):
                _remove(path)


def _create(root: Path, version: int, name: str, cpus: float) -> QuotaGroup:
    path = root / f"{PREFIX}{os.getpid()}-{name}"
    path.mkdir()
    quota = max(1000, round(cpus * PERIOD_US))
    if version == 1:
        (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (path / "cpu.cfs_quota_us").write_text(str(quota))
        (path / "cpu.shares").write_text("8192")  # its allowance first; never more than the quota
    else:
        (path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        (path / "cpu.weight").write_text("800")
    return QuotaGroup(path, cpus, version)


@contextlib.contextmanager
def cpu_quota_groups(names: Sequence[str], cpus: float) -> Iterator[list[QuotaGroup] | None]:
    """One quota group of `cpus` CPUs per name (None when quotas are unavailable: see
    `unavailable()`); every group removed on the way out, also on Ctrl-C and SIGTERM."""
    root = _root()
    if isinstance(root, str):
        yield None
        return
    path, version = root
    _remove_stale(path)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind through the finally below
    groups: list[QuotaGroup] = []
    try:
        for name in names:
            groups.append(_create(path, version, name, cpus))
        yield groups
    finally:
        for group in groups:
            _remove(group.path)
        signal.signal(signal.SIGTERM, previous)
