"""The bundled LISP tools ship their AutoLISP source: files, GET /api/lisp/{name}, and the offline
/api/query and chat answers that carry the code instead of naming a file the user lacks."""

from __future__ import annotations

import re

import pytest
from cadchat.autolisp import check, read
from cadchat.chat.model import ContextItem
from cadchat.chat.prompt import MAX_CODE_CHARS, context_block
from cadchat.config import BUNDLED_LIBRARY_NAMES, bundled_library_dir
from cadchat.library.model import Command
from cadchat.library.parser import parse_file
from cadchat.library.tools import MAX_SOURCE_CHARS, BundledLisp, bundled_lisp_dir, defined_commands

EXPRESS = "［Express］"  # Express Tools: shipped with AutoCAD, so the library names their files as is


@pytest.fixture(scope="module")
def lisp_entries() -> list[Command]:
    return list(parse_file(bundled_library_dir() / "lisp_commands.txt").commands)


@pytest.fixture(scope="module")
def tools() -> BundledLisp:
    return BundledLisp.load(bundled_lisp_dir())


def _tool_entries(entries: list[Command]) -> list[Command]:
    return [
        c
        for c in entries
        if c.type == "lisp" and c.file.lower().endswith(".lsp") and EXPRESS not in c.description
    ]


def _code_only(code: str) -> str:
    """The code without `;` comments and string contents (enough for the files we write)."""
    out = []
    for line in code.splitlines():
        line = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)
        out.append(line.split(";", 1)[0])
    return "\n".join(out)


def test_every_lisp_tool_entry_has_its_source_and_express_tools_stay_as_they_are(lisp_entries, tools) -> None:
    wanted = _tool_entries(lisp_entries)
    assert len(wanted) == 29
    for command in lisp_entries:
        source = tools.for_command(command)
        if command in wanted:
            assert source is not None, f"{command.name}: no bundled {command.file}"
            assert source.filename == command.file.lower()
        else:
            assert source is None, f"{command.name} is an Express Tools entry but got {source.filename}"
    # no orphan file: every bundled file belongs to a library entry
    assert sorted(c.file.lower() for c in wanted) == tools.files()


def test_each_source_is_balanced_and_defines_the_command_its_entry_names(lisp_entries, tools) -> None:
    for command in _tool_entries(lisp_entries):
        source = tools.for_command(command)
        assert source is not None
        assert read(source.code).errors == [], f"{source.filename} does not read cleanly"
        assert source.commands == (command.key,), source.filename
        assert f"(defun c:{command.name} (/ " in source.code, f"{source.filename}: locals must be declared"
        assert 0 < len(source.code) <= MAX_SOURCE_CHARS


def test_every_source_passes_the_checker(tools) -> None:
    """No errors, and no warnings either: every `setq` names a declared local, and every
    `(command "X")` is a command the library knows."""
    known = [
        c.name for name in BUNDLED_LIBRARY_NAMES for c in parse_file(bundled_library_dir() / name).commands
    ]
    verdicts = {}
    for name in tools.files():
        source = tools.by_file(name)
        assert source is not None
        report = check(source.code, known_commands=known)
        verdicts[name] = [str(p) for p in report.problems]
        assert report.ok, verdicts[name]
        assert report.commands == [f"c:{c}" for c in source.commands]
    assert verdicts == {name: [] for name in tools.files()}


def test_sources_follow_the_autolisp_conventions(tools) -> None:
    for name in tools.files():
        source = tools.by_file(name)
        assert source is not None
        code = _code_only(source.code)
        assert source.code.rstrip().endswith("(princ)"), f"{name}: must end quietly with (princ)"
        com = re.search(r"\((?:vla|vlax)-", code)
        if com:
            loaded = code.find("(vl-load-com)")
            assert 0 <= loaded < com.start(), (
                f"{name}: (vl-load-com) must come before the first vla/vlax call"
            )
        if "(setvar " in code:
            assert (
                "(defun *error* " in code and "*error*" in code.split("(defun c:", 1)[1].split(")", 1)[0]
            ), f"{name}: changes system variables without a local *error* handler"
        for forbidden in ("(let ", "(format ", "(loop ", "(setf ", "(defvar ", "(dolist "):
            assert forbidden not in code, f"{name}: {forbidden} is not AutoLISP"


def test_loader_matches_entries_by_file_and_defined_command(tmp_path) -> None:
    (tmp_path / "ll.lsp").write_text(
        "(defun c:LL (/ ss)\n  (princ)\n)\n(defun c:LL2 ()\n (princ))\n", "utf-8"
    )
    (tmp_path / "big.lsp").write_text("(defun c:BIG ()\n" + ";" * MAX_SOURCE_CHARS + "\n)\n", "utf-8")
    tools = BundledLisp.load(tmp_path)
    assert tools.files() == ["ll.lsp"]  # over the size bound: not served at all
    assert tools.for_command(Command("LL", "改图层", type="lisp", file="LL.LSP")) is not None
    assert tools.for_command(Command("ll2", "x", type="lisp", file="ll.lsp")) is not None
    # a file that does not define the entry's command, another type, or no file: nothing
    assert tools.for_command(Command("CC", "改颜色", type="lisp", file="ll.lsp")) is None
    assert tools.for_command(Command("LL", "x", type="basic", file="ll.lsp")) is None
    assert tools.for_command(Command("LL", "x", type="lisp")) is None
    assert len(BundledLisp.load(tmp_path / "absent")) == 0
    assert defined_commands(";; (defun c:OLD ()\n(DEFUN C:New (/ a) (princ))") == ("NEW",)


async def test_get_lisp_serves_the_source(client, tools) -> None:
    response = await client.get("/api/lisp/ll")
    assert response.status == 200
    body = await response.json()
    source = tools.by_file("ll.lsp")
    assert source is not None
    assert body == {
        "name": "LL",
        "command": "c:LL",
        "filename": "ll.lsp",
        "code": source.code,
        "description": body["description"],
    }
    assert body["description"].startswith("批量改图层")


async def test_get_lisp_404_for_unknown_and_express_and_basic_commands(client) -> None:
    for name in ("NOSUCHTOOL", "BURST", "LINE"):
        response = await client.get(f"/api/lisp/{name}")
        assert response.status == 404, name
        body = await response.json()
        assert body["success"] is False and body["error"]


async def test_get_lisp_rejects_names_that_are_not_ascii_command_names(client) -> None:
    # 图层, fullwidth Ａ, NUL, an encoded path separator, a dotted file name, a space, too long
    for name in ("%E5%9B%BE%E5%B1%82", "%EF%BC%A1", "LL%00", "..%2F..%2Fll", "ll.lsp", "a%20b", "x" * 65):
        response = await client.get(f"/api/lisp/{name}")
        assert response.status == 400, name
        assert (await response.json())["success"] is False


async def test_query_for_a_lisp_tool_carries_its_code(client, tools) -> None:
    body = await (await client.post("/api/query", json={"requirement": "交点全打断"})).json()
    result = body["result"]
    assert body["matched"] is True and result["code"]["command"] == "BREAKALL"
    source = tools.by_file("breakall.lsp")
    assert source is not None
    assert result["code"]["lisp_code"] == source.code
    assert result["lisp"]["code"] == source.code
    assert result["lisp"]["command"] == "c:BREAKALL" and result["lisp"]["filename"] == "breakall.lsp"
    # the contract's fields are all still there
    contract = "id type command description alias final_alias category is_basic_command source"
    assert set(result["code"]) >= set(contract.split())
    assert result["llm_used"] is False and "breakall.lsp" in result["reason"]


async def test_query_for_express_tools_and_basic_commands_carries_no_code(client) -> None:
    for need, name in (("BURST", "BURST"), ("画一个圆", "CIRCLE")):
        result = (await (await client.post("/api/query", json={"requirement": need})).json())["result"]
        assert result["code"]["command"] == name
        assert "lisp" not in result and "lisp_code" not in result["code"]


async def test_code_detail_by_id_carries_the_source(client) -> None:
    query = await (await client.post("/api/query", json={"requirement": "批量改图层"})).json()
    code_id = query["result"]["code"]["id"]
    detail = await (await client.get(f"/api/codes/{code_id}")).json()
    assert detail["code"]["command"] == "LL" and "(defun c:LL " in detail["code"]["lisp_code"]


async def test_offline_chat_answers_with_the_tool_code(client, tools) -> None:
    answer = await (await client.post("/api/chat", json={"message": "锁定所有视口"})).json()
    assert answer["offline"] is True
    source = tools.by_file("lockvp.lsp")
    assert source is not None
    assert answer["lisp"]["command"] == "c:LOCKVP"
    assert answer["lisp"]["ok"] is True and answer["lisp"]["problems"] == []
    assert answer["lisp"]["code"] == source.code.strip("\n").rstrip()
    assert '(load "lockvp.lsp")' not in answer["text"]
    reference = next(r for r in answer["references"] if r["command"] == "LOCKVP")
    assert reference["has_code"] is True


async def test_query_by_name_carries_the_code_of_every_tool(client, lisp_entries, tools) -> None:
    for command in _tool_entries(lisp_entries):
        result = (await (await client.post("/api/query", json={"requirement": command.name})).json())[
            "result"
        ]
        assert result["code"]["command"] == command.name
        source = tools.for_command(command)
        assert source is not None and result["lisp"]["code"] == source.code, command.name


def test_model_context_shows_a_tool_whole_or_not_at_all(tools) -> None:
    long_source = tools.by_file("tb2xls.lsp")
    short_source = tools.by_file("ll.lsp")
    assert long_source is not None and short_source is not None
    assert len(long_source.code) > MAX_CODE_CHARS >= len(short_source.code)
    tb2xls = Command("TB2XLS", "表格导出Excel", type="lisp", file="tb2xls.lsp")
    ll = Command("LL", "批量改图层", type="lisp", file="ll.lsp")
    block = context_block(
        [ContextItem(tb2xls, 0.7, long_source.code), ContextItem(ll, 0.5, short_source.code)]
    )
    assert "(defun c:TB2XLS" not in block and "源代码较长" in block
    assert short_source.code.rstrip() in block
