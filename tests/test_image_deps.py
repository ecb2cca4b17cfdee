"""The service image leaves out distributions the DashScope SDK declares but the service never
loads (Dockerfile `ARG UNUSED_DISTRIBUTIONS`). Proof: with their modules made unimportable, every
service module imports and the real SDK talks to the fake DashScope exactly as in the image."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"

# Installed at interpreter start (sitecustomize), before pytest or any plugin imports anything.
BLOCKER = textwrap.dedent(
    """
    import os, sys

    BLOCKED = frozenset(os.environ["CADCHAT_TEST_BLOCKED_MODULES"].split())

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"{name} is not in the service image", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def unused_distributions() -> list[str]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r'^ARG UNUSED_DISTRIBUTIONS="([^"]*)"', text, re.MULTILINE)
    assert match, "Dockerfile has no ARG UNUSED_DISTRIBUTIONS"
    return match.group(1).split()


def top_level_modules(distribution: str) -> set[str]:
    wanted = metadata.distribution(distribution).metadata["Name"]
    return {
        module
        for module, owners in metadata.packages_distributions().items()
        if wanted in owners and not module.startswith("_")
    }


def test_every_left_out_distribution_is_a_real_installed_requirement():
    for distribution in unused_distributions():
        assert top_level_modules(distribution), f"{distribution} is not installed: the list is stale"
    assert "dashscope" not in unused_distributions()


def test_service_and_sdk_work_without_the_left_out_distributions(tmp_path):
    blocked = sorted({m for d in unused_distributions() for m in top_level_modules(d)})
    (tmp_path / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        "CADCHAT_TEST_BLOCKED_MODULES": " ".join(blocked),
    }
    imports = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, pkgutil, sys, cadchat, dashscope, httpx\n"
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(cadchat.__path__, 'cadchat.')"
            " if m.name != 'cadchat.__main__']\n"
            "assert type(sys.meta_path[0]).__name__ == 'Blocker'\n"
            "print(len(sys.modules))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imports.returncode == 0, imports.stderr
    sdk = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/chat/test_chat_dashscope.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert sdk.returncode == 0, sdk.stdout[-3000:] + sdk.stderr[-2000:]
    assert " passed" in sdk.stdout
