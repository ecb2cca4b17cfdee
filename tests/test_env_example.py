"""`.env.example` lists every setting of config.py's table, with its real default and a meaning."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from cadchat.config import ENVIRONMENT, Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"
ENTRY = re.compile(r"^#\s*([A-Z][A-Z0-9_]*)=(.*)$")


def entries() -> list[tuple[str, str, str]]:
    """(variable, default text, meaning) for each `# VAR=default` line, in file order."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    found = []
    for number, line in enumerate(lines):
        match = ENTRY.match(line)
        if match:
            above = lines[number - 1] if number else ""
            meaning = above.lstrip("# ").strip() if above.startswith("#") else ""
            found.append((match.group(1), match.group(2), meaning))
    return found


def test_every_setting_is_listed_once_and_nothing_else():
    listed = [variable for variable, _, _ in entries()]
    expected = [variables[0] for variables, _ in ENVIRONMENT.values()]
    missing = sorted(set(expected) - set(listed))
    unknown = sorted(set(listed) - set(expected))
    assert missing == [], f"add these settings to .env.example (default and meaning): {missing}"
    assert unknown == [], f".env.example lists settings config.py does not read: {unknown}"
    assert len(listed) == len(set(listed)), "a setting is listed twice"


def test_listed_defaults_are_the_code_defaults():
    parsers = {variables[0]: (name, parse) for name, (variables, parse) in ENVIRONMENT.items()}
    defaults = {f.name: f.default for f in fields(Settings)}
    wrong = {}
    for variable, text, _ in entries():
        name, parse = parsers[variable]
        value = parse(text) if text else type(defaults[name])()
        if value != defaults[name]:
            wrong[variable] = (text, defaults[name])
    assert wrong == {}, ".env.example default differs from Settings: (listed, code)"


def test_every_setting_has_a_meaning():
    assert [variable for variable, _, meaning in entries() if len(meaning) < 8] == []
