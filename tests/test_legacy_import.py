"""Legacy user_codes.txt import: all three shapes, stitching, encodings, idempotence, CLI and
start-up import."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from cadchat.app import create_app
from cadchat.cli import main
from cadchat.keys import USER_CODES
from cadchat.usercodes.disk import DiskStore
from cadchat.usercodes.legacy import import_into, parse
from cadchat.usercodes.model import Limits

FIXTURES = Path(__file__).parent / "fixtures" / "legacy"


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def run_import(tmp_path: Path, shape: str, limits: Limits | None = None):
    disk = DiskStore(tmp_path / "store")
    disk.acquire()
    try:
        codes, highest, _ = disk.open()
        result = import_into(disk, codes, highest, FIXTURES / shape / "user_codes.txt", limits or Limits())
    finally:
        disk.release()
    by_command = {c.command: c for c in codes.values()}
    return result.report, by_command, disk


def test_file_shape_utf8_bom_crlf_and_a_gbk_code_file(tmp_path):
    report, codes, disk = run_import(tmp_path, "file_shape")
    assert report.encoding == "utf-8" and not report.unrecovered
    assert [cmd for _, _, cmd in report.imported] == ["DRAWRING", "ZOOMALL"]
    ring = codes["DRAWRING"]
    assert ring.code.encode("utf-8") == (FIXTURES / "file_shape" / "ring_1.lsp").read_bytes()  # CRLF kept
    assert ring.description == "画圆环" and ring.created_at == "2024-03-01T10:20:30"
    assert ring.legacy == {
        "file": "user_codes.txt",
        "line": 1,
        "shape": "file",
        "id": "1",
        "filename": "ring_1.lsp",
        "created_at": "2024-03-01 10:20:30",
    }
    zoom = codes["ZOOMALL"]
    assert zoom.code == (FIXTURES / "file_shape" / "zoomall.lsp").read_bytes().decode("gbk")
    assert "全部缩放" in zoom.code
    # Stored as UTF-8, loadable as-is.
    assert (disk.directory / zoom.filename).read_bytes() == zoom.code.encode("utf-8")


def test_inline_shape_stitches_multi_line_code(tmp_path):
    report, codes, _ = run_import(tmp_path, "inline_shape")
    assert not report.unrecovered
    assert codes["HELLO"].code == '(defun c:HELLO () (princ "你好|world") (princ))'  # '|' inside code kept
    assert codes["BOXES"].code == (
        "(defun c:BOXES (/ i)\n"
        "  (setq i 0)\n"
        "\n"
        '  (repeat 3 (command "_.RECTANG" (list i 0) (list (+ i 5) 5)) (setq i (+ i 10)))\n'
        "  (princ)\n"
        ")"
    )
    assert codes["BOXES"].legacy["lines"] == 6
    # Truncated in the old file: kept as found, and reported.
    assert codes["HALF"].code == '(defun c:HALF ()\n  (princ "unfinished"'
    [warning] = report.warnings
    assert warning.line == 8 and "may be incomplete" in warning.message and "never closed" in warning.message


def test_inline_shape_written_with_crlf_keeps_inner_crlf(tmp_path):
    report, codes, _ = run_import(tmp_path, "inline_crlf")
    assert not report.unrecovered and not report.warnings
    assert codes["CRLFCODE"].code == '(defun c:CRLFCODE ()\r\n  (princ "crlf")\r\n)'
    assert codes["ONE"].code == "(princ 1)"  # the record terminator's \r is not code


def test_program_shape_gbk_index_and_code(tmp_path):
    report, codes, _ = run_import(tmp_path, "program_shape")
    assert report.encoding == "gb18030" and not report.unrecovered
    assert codes["JIAODU"].description == "标注角度"
    assert codes["MIANJI"].code == (FIXTURES / "program_shape" / "mianji.lsp").read_bytes().decode("gbk")
    assert codes["MIANJI"].created_at == "2023-11-05T12:00:00"
    assert codes["JIAODU"].legacy["shape"] == "program"


def test_damaged_lines_are_reported_with_reasons_and_the_rest_imported(tmp_path):
    report, codes, _ = run_import(tmp_path, "mixed")
    assert sorted(codes) == ["BADTIME", "MIXA", "MIXB", "MIXC", "NONAME"]
    assert [(line, cmd) for line, _, cmd in report.present] == [(11, "MIXB")]
    reasons = {note.line: note.message for note in report.unrecovered}
    assert set(reasons) == {2, 6, 7, 8, 10}
    assert "no inline record above" in reasons[2] and "no inline record above" in reasons[7]
    assert "missing.lsp is missing" in reasons[6]
    assert "unsafe code file name '../secret.lsp'" in reasons[8]
    assert "no command name" in reasons[10]
    warnings = {note.line: note.message for note in report.warnings}
    assert "took 'NONAME'" in warnings[9] and "unreadable time 'yesterday'" in warnings[12]
    text = "\n".join(report.lines())
    assert "5 imported, 1 already present, 5 lines not recovered" in text


def test_import_is_idempotent_and_leaves_the_legacy_files_untouched(tmp_path):
    before = tree_digest(FIXTURES)
    first, codes, _ = run_import(tmp_path, "mixed")
    second, again, _ = run_import(tmp_path, "mixed")
    assert len(first.imported) == 5
    assert second.imported == [] and len(second.present) == 6
    assert {c.id for c in again.values()} == {c.id for c in codes.values()}
    assert tree_digest(FIXTURES) == before


def test_limits_refuse_and_report_instead_of_truncating(tmp_path):
    report, codes, _ = run_import(tmp_path, "inline_shape", Limits(max_code_bytes=60))
    assert sorted(codes) == ["HALF", "HELLO"]
    [note] = report.unrecovered
    assert note.line == 2 and "limit 60" in note.message


def test_parse_treats_record_lookalikes_as_records():
    entries, notes = parse("1|A|d||(princ\n2|B|d||x)\n")
    assert [(e.command, e.code) for e in entries] == [("A", "(princ"), ("B", "x)")]
    assert notes == []


def test_cli_import_prints_the_report_and_is_idempotent(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["import-legacy", str(FIXTURES / "mixed"), "--data-dir", str(data)]) == 1
    out = capsys.readouterr().out
    assert "5 imported, 1 already present, 5 lines not recovered" in out
    assert "NOT RECOVERED line 8: unsafe code file name" in out
    assert (
        main(["import-legacy", str(FIXTURES / "file_shape" / "user_codes.txt"), "--data-dir", str(data)]) == 0
    )
    assert "2 imported" in capsys.readouterr().out
    assert main(["import-legacy", str(FIXTURES / "mixed"), "--data-dir", str(data)]) == 1
    assert "0 imported, 6 already present" in capsys.readouterr().out
    assert main(["import-legacy", str(tmp_path / "nowhere"), "--data-dir", str(data)]) == 2


async def test_cli_refuses_while_the_server_owns_the_store(aiohttp_client, make_settings, capsys):
    settings = make_settings(watch=False)
    await aiohttp_client(create_app(settings))
    code = main(["import-legacy", str(FIXTURES / "mixed"), "--data-dir", str(settings.data_dir)])
    assert code == 2 and "in use by another cadchat process" in capsys.readouterr().out


async def test_server_imports_on_start_up_once(aiohttp_client, make_settings):
    settings = make_settings(watch=False)
    shutil.copytree(FIXTURES / "file_shape", settings.user_codes_dir)
    legacy_before = tree_digest(settings.user_codes_dir)

    cli = await aiohttp_client(create_app(settings))
    listed = (await (await cli.get("/api/user_codes/list")).json())["codes"]
    assert [c["command"] for c in listed] == ["DRAWRING", "ZOOMALL"]
    assert listed[0]["lisp_code"].encode() == (FIXTURES / "file_shape" / "ring_1.lsp").read_bytes()
    hit = await (await cli.post("/api/query", json={"requirement": "DRAWRING"})).json()
    assert hit["matched"] and hit["result"]["code"]["type"] == "user_program"
    assert cli.app[USER_CODES].import_report is not None
    await cli.delete(f"/api/user_codes/delete/{listed[1]['id']}")
    await cli.close()

    # Restart: the same legacy file is not imported again, so the deleted code stays deleted.
    cli = await aiohttp_client(create_app(settings))
    listed = (await (await cli.get("/api/user_codes/list")).json())["codes"]
    assert [c["command"] for c in listed] == ["DRAWRING"]
    assert cli.app[USER_CODES].import_report is None
    after = tree_digest(settings.user_codes_dir)
    assert {k: after[k] for k in legacy_before} == legacy_before  # legacy files byte-identical


async def test_start_up_import_can_be_switched_off(aiohttp_client, make_settings):
    settings = make_settings(watch=False, user_codes_import_legacy=False)
    shutil.copytree(FIXTURES / "file_shape", settings.user_codes_dir)
    cli = await aiohttp_client(create_app(settings))
    assert (await (await cli.get("/api/user_codes/list")).json())["codes"] == []


@pytest.mark.parametrize(
    "shape", ["file_shape", "inline_shape", "inline_crlf", "program_shape", "mixed", "pipes", "double_pipes"]
)
def test_every_fixture_imports_without_crashing(tmp_path, shape):
    report, codes, _ = run_import(tmp_path, shape)
    assert len(report.imported) == len(codes) > 0


async def test_a_failing_start_up_import_does_not_stop_the_service(
    aiohttp_client, make_settings, monkeypatch
):
    from cadchat.usercodes import legacy

    settings = make_settings(watch=False)
    shutil.copytree(FIXTURES / "file_shape", settings.user_codes_dir)

    def unreadable(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(legacy, "import_into", unreadable)
    cli = await aiohttp_client(create_app(settings))
    assert (await cli.get("/api/user_codes/list")).status == 200
    assert (
        await cli.post("/api/user_codes/save", json={"code": "(a)", "command": "A", "description": "d"})
    ).status == 200
    assert not (settings.user_codes_dir / "legacy-imports.json").exists()  # so the next start tries again


def test_a_pipe_inside_any_field_is_reported_never_merged(tmp_path):
    """GBK + CRLF, `|` in every field of all three shapes between good records."""
    report, codes, _ = run_import(tmp_path, "pipes")
    assert report.encoding in ("gbk", "gb18030")
    assert sorted(codes) == ["GOOD1", "GOOD2", "GOOD3", "GOOD4"]
    assert codes["GOOD1"].code == '(defun c:GOOD1 () (princ "a|b"))'  # nothing glued on
    assert codes["GOOD2"].code == '(defun c:GOOD2 () (princ "文件"))\r\n'
    assert codes["GOOD3"].code == '(defun c:GOOD3 () (princ "程序"))\r\n'
    assert codes["GOOD4"].code == '(defun c:GOOD4 ()\r\n  (princ "完"))'
    assert all("WRONG" not in c.code for c in codes.values())
    lines = (FIXTURES / "pipes" / "user_codes.txt").read_bytes().decode("gbk").split("\r\n")
    unrecovered = {note.line: note for note in report.unrecovered}
    assert sorted(unrecovered) == [2, 4, 5, 7, 8, 9, 10, 12, 13, 14, 15]
    for number, note in unrecovered.items():
        assert note.original[0] == lines[number - 1]  # the original text, for the operator
        assert "'|'" in note.message
    assert unrecovered[2].original == (lines[1], lines[2])  # its continuation stays with it
    printed = "\n".join(report.lines())
    for number in unrecovered:
        assert lines[number - 1] in printed
    [warning] = [w for w in report.warnings if w.line == 1]
    assert "line 2" in warning.message and "incomplete" in warning.message


def test_a_double_pipe_inside_any_field_is_reported_never_split_or_merged(tmp_path):
    """GBK + CRLF, a legacy `||` in every field of all three shapes, each right after a good
    record: a `||` inside a description must not move the description's tail into the code."""
    report, codes, _ = run_import(tmp_path, "double_pipes")
    assert sorted(codes) == ["GOOD1", "GOOD2", "GOOD3", "GOOD4", "GOOD5", "GOOD6"]
    assert codes["GOOD1"].code == '(defun c:GOOD1 () (princ "a||b"))'  # a '||' inside the code is code
    assert codes["GOOD1"].description == "正常内联"
    assert codes["GOOD2"].code == '(defun c:GOOD2 ()\r\n  (princ "二"))'
    assert codes["GOOD3"].code == "(defun c:GOOD3 () (princ))"
    assert codes["GOOD4"].code == '(defun c:GOOD4 () (princ "文件"))\r\n'
    assert codes["GOOD5"].code == '(defun c:GOOD5 () (princ "程序"))\r\n'
    assert codes["GOOD6"].code == '(defun c:GOOD6 ()\r\n  (princ "完"))'
    for stored in codes.values():
        assert "WRONG" not in stored.code and "后半" not in stored.code and ".lsp" not in stored.code
    lines = (FIXTURES / "double_pipes" / "user_codes.txt").read_bytes().decode("gbk").split("\r\n")
    unrecovered = {note.line: note for note in report.unrecovered}
    assert sorted(unrecovered) == [2, 3, 7, 9, 10, 11, 12, 14, 15, 16, 17]
    for number, note in unrecovered.items():
        assert note.original[0] == lines[number - 1]
    assert unrecovered[3].original == (lines[2], lines[3])  # its continuation stays with it
    assert "'||'" in unrecovered[2].message and "'||'" in unrecovered[9].message
    # the good records just above an unrecovered one are told it might have been theirs
    assert {w.line for w in report.warnings if "incomplete" in w.message} == {1, 5, 8}


@pytest.mark.parametrize(
    "line",
    [
        "1|A|前半||后半||(defun c:A () (princ))",  # '||' inside the description
        "1|A|||开头||(defun c:A () (princ))",  # the description starts with '||'
        "1|A|d||(princ 1)||(princ 2)",  # a code could start after either
        "1|A|文件||描述|a.lsp|2024-03-01 10:20:30",  # a file record with '||' in its description
        "1|A|a||b||",  # the code could start on the next line after either
    ],
)
def test_inline_lines_with_two_possible_code_starts_are_not_guessed(line):
    entries, notes = parse("1|OK|d||(princ)\n" + line + "\n")
    assert [e.command for e in entries] == ["OK"] and entries[0].code == "(princ)"
    [note] = notes
    assert note.line == 2 and note.original == (line,)


def test_a_double_pipe_inside_an_inline_code_stays_code():
    entries, notes = parse('1|A|d||(princ "x||y") ; a||b\n2|B|d||;|| comment\n')
    assert [(e.command, e.code) for e in entries] == [
        ("A", '(princ "x||y") ; a||b'),
        ("B", ";|| comment"),
    ]
    assert notes == []


def test_unrecovered_lines_keep_their_text_in_the_cli_report(tmp_path, capsys):
    source = tmp_path / "legacy"
    shutil.copytree(FIXTURES / "pipes", source)
    status = main(["import-legacy", str(source / "user_codes.txt"), "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert "4 imported" in out and "11 lines not recovered" in out
    assert "2|BAD|CMD|命令里有竖线||(defun c:BADCMD ()" in out and '(princ "续行"))' in out
    assert status != 0
