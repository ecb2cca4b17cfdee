"""Generate a large command library (default 10,000 commands) for load benchmarks.

Entries are variants of the bundled commands: a unique name, the original description with a
few words from other descriptions mixed in (seeded, so every run is the same), and the original
alias and type. Feature frequencies therefore grow like a real, large team library's would.

    python benchmarks/generate_library.py OUT.txt [--count 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from cadchat.config import BUNDLED_LIBRARY_NAMES, bundled_library_dir
from cadchat.library.parser import parse_file


def generate(count: int = 10_000, seed: int = 7) -> list[str]:
    commands = [
        c for name in BUNDLED_LIBRARY_NAMES for c in parse_file(bundled_library_dir() / name).commands
    ]
    vocabulary = sorted({w for c in commands for w in re.findall(r"[\u4e00-\u9fff]{2,4}", c.description)})
    rng = random.Random(seed)
    lines = ["# generated benchmark library: NAME|description|alias|file|date|type"]
    for i in range(count):
        base = commands[i % len(commands)]
        round_ = i // len(commands)
        name = base.name if round_ == 0 else f"{base.name}{round_}"
        extra = "、".join(rng.sample(vocabulary, 3)) if round_ else ""
        description = f"{base.description}（{extra}）" if extra else base.description
        alias = base.alias if round_ == 0 else ""
        lines.append(f"{name}|{description}|{alias}|{base.file}|{base.date}|{base.type}")
    return lines


def write(path: Path, count: int = 10_000, seed: int = 7) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(generate(count, seed)) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write(args.out, args.count, args.seed)
    print(f"wrote {args.count} commands to {args.out}")


if __name__ == "__main__":
    main()
