"""The library file format: every line form of CONTRACT.md, encodings, problems, rejection."""

from __future__ import annotations

from pathlib import Path

import pytest
from cadchat.cli import check_library
from cadchat.library.parser import parse_file, parse_line, parse_text


def one(line: str):
    command, warnings, error = parse_line(line)
    assert error is None, error
    assert command is not None
    return command, warnings


def test_six_fields() -> None:
    c, warnings = one("TRIM|修剪：剪掉多余的线|TR|acad.lsp|2024-01-02|basic")
    assert (c.name, c.description, c.aliases, c.file, c.date, c.type) == (
        "TRIM",
        "修剪：剪掉多余的线",
        ("TR",),
        "acad.lsp",
        "2024-01-02",
        "basic",
    )
    assert warnings == []


def test_older_five_field_form_has_no_alias() -> None:
    c, _ = one("ZZ|坐标标注|zz.lsp|2023-05-01|lisp")
    assert (c.aliases, c.file, c.date, c.type) == ((), "zz.lsp", "2023-05-01", "lisp")


def test_five_fields_without_type_are_the_new_form_minus_type() -> None:
    c, _ = one("COPY|复制|CO,CP|x.lsp|2024-01-01")
    assert (c.aliases, c.file, c.date, c.type) == (("CO", "CP"), "x.lsp", "2024-01-01", "basic")


@pytest.mark.parametrize(
    ("line", "aliases", "file", "ctype"),
    [
        ("LINE|直线", (), "", "basic"),
        ("LINE|直线|L", ("L",), "", "basic"),
        ("TT|统计长度|lisp", (), "", "lisp"),
        ("TT|统计长度|tt.lsp", (), "tt.lsp", "basic"),
        ("TT|统计长度|T|lisp", ("T",), "", "lisp"),
        ("TT|统计长度|tt.lsp|lisp", (), "tt.lsp", "lisp"),
        ("TT|统计长度|T|tt.lsp", ("T",), "tt.lsp", "basic"),
        ("TT|统计长度|tt.lsp|2020-01-01", (), "tt.lsp", "basic"),
    ],
)
def test_short_forms(line: str, aliases: tuple[str, ...], file: str, ctype: str) -> None:
    c, _ = one(line)
    assert (c.aliases, c.file, c.type) == (aliases, file, ctype)


def test_extra_bars_join_the_description_with_a_warning() -> None:
    c, warnings = one("X|a|b|c|AL|f.lsp|2024-01-01|lisp")
    assert c.description == "a|b|c"
    assert (c.alias, c.file, c.type) == ("AL", "f.lsp", "lisp")
    assert any("extra '|'" in w for w in warnings)


def test_unknown_type_defaults_to_basic_with_a_warning() -> None:
    c, warnings = one("X|desc|||2024-01-01|macro")
    assert c.type == "basic"
    assert any("unknown type 'macro'" in w for w in warnings)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("no separator here", "no '|' separator"),
        ("|description only", "empty command name"),
        ("TWO WORDS|desc", "invalid command name"),
    ],
)
def test_unrecoverable_lines(line: str, message: str) -> None:
    command, _, error = parse_line(line)
    assert command is None
    assert error is not None and message in error


def test_comments_blank_lines_and_line_numbers() -> None:
    text = "# header\n\nLINE|直线|L\n   \n# more\nbad\nCIRCLE|圆|C\n"
    commands, problems, command_lines = parse_text(text, "lib.txt")
    assert [(c.name, c.line) for c in commands] == [("LINE", 3), ("CIRCLE", 7)]
    assert command_lines == 3
    assert [(p.line, p.severity) for p in problems] == [(6, "error")]
    assert str(problems[0]).startswith("lib.txt:6: error:")


def test_duplicate_in_one_file_later_line_wins() -> None:
    commands, problems, _ = parse_text("LINE|first\nline|second\n", "f.txt")
    assert [(c.name, c.description, c.line) for c in commands] == [("line", "second", 2)]
    assert "duplicate line: replaces line 1" in problems[0].message


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_bom_crlf_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "\ufeffLINE|直线|L\r\nCIRCLE|圆|C\r\n".encode())
    parsed = parse_file(path)
    assert parsed.encoding == "utf-8"
    assert [(c.name, c.description, c.alias) for c in parsed.commands] == [
        ("LINE", "直线", "L"),
        ("CIRCLE", "圆", "C"),
    ]
    assert not parsed.problems


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_gbk_and_gb18030(tmp_path: Path, codec: str) -> None:
    path = write(tmp_path, "g.txt", "TRIM|修剪：剪掉多余的线段|TR\r\n".encode(codec))
    parsed = parse_file(path)
    assert parsed.encoding == "gb18030"
    assert parsed.commands[0].description == "修剪：剪掉多余的线段"


def test_undecodable_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "bin.txt", b"LINE|\xff\xfe\xfd\x81\x20|L\n")
    parsed = parse_file(path)
    assert parsed.rejected
    assert "not UTF-8 or GB18030" in parsed.problems[0].message


def test_mostly_garbage_file_is_rejected_a_few_bad_lines_are_not(tmp_path: Path) -> None:
    mostly_bad = parse_file(write(tmp_path, "bad.txt", b"LINE|ok\njunk\nmore junk\n"))
    assert mostly_bad.rejected
    few_bad = parse_file(write(tmp_path, "fine.txt", b"LINE|ok\nCIRCLE|ok\njunk\n"))
    assert not few_bad.rejected and len(few_bad.commands) == 2


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    parsed = parse_file(tmp_path / "nope.txt")
    assert parsed.rejected and "cannot read" in parsed.problems[0].message


def test_empty_file_is_a_valid_empty_library(tmp_path: Path) -> None:
    parsed = parse_file(write(tmp_path, "empty.txt", b""))
    assert not parsed.rejected and parsed.commands == ()


def test_check_library_prints_commands_and_problems(tmp_path: Path, capsys) -> None:
    good = write(tmp_path, "good.txt", "LINE|直线|L\n".encode())
    bad = write(tmp_path, "bad.txt", b"LINE|x\noops\n")
    assert check_library([good]) == 0
    assert check_library([good, bad]) == 1
    out = capsys.readouterr().out
    assert f"{good}:1: LINE (L) [basic] 直线" in out
    assert f"{bad}:2: error: no '|' separator" in out
    assert f"{good}: ok: 1 commands, 0 errors, 0 warnings, utf-8" in out
