"""POST /api/lisp/check, the checker's report in user-code preview and saves, `cadchat lisp-check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cadchat.cli import main

CORPUS = Path(__file__).parent.parent / "data" / "autolisp"
TYPO = '(defun c:PT (/ p)\n  (setq p (getpiont "\\nPoint: "))\n  (command "_.POINT" p)\n  (princ)\n)\n'


async def test_check_reports_problems_bilingually_with_positions(client):
    response = await client.post("/api/lisp/check", json={"code": TYPO})
    assert response.status == 200
    body = await response.json()
    assert body["success"] is True and body["ok"] is False and body["commands"] == ["c:PT"]
    [problem] = body["problems"]
    assert problem == {
        "severity": "error",
        "code": "misspelled-builtin",
        "message": "no function getpiont; did you mean getpoint?",
        "message_zh": "没有函数 getpiont；是不是 getpoint？",
        "line": 2,
        "column": 12,
    }


async def test_check_knows_the_live_library_commands(client):
    code = '(defun c:A () (command "_.-LAYER" "" ) (command "._BURST") (command "_NOSUCHCMD") (princ))'
    body = await (await client.post("/api/lisp/check", json={"code": code})).json()
    assert body["ok"] is True
    assert [(p["code"], p["severity"]) for p in body["problems"]] == [("unknown-command", "warning")]
    assert "NOSUCHCMD" in body["problems"][0]["message"]


@pytest.mark.parametrize(
    "body, status", [({}, 400), ({"code": 5}, 400), ({"code": "  "}, 400), ({"code": "a\0b"}, 400)]
)
async def test_check_rejects_bad_bodies(client, body, status):
    response = await client.post("/api/lisp/check", json=body)
    assert response.status == status
    answer = await response.json()
    assert answer["success"] is False and answer["message"]


async def test_preview_and_saves_carry_the_report_and_still_save(client):
    preview = await (await client.post("/api/user_codes/preview", json={"code": TYPO})).json()
    shown = preview["preview"]
    assert preview["command"] == "PT" and shown["ok"] is False and shown["commands"] == ["c:PT"]
    assert [p["code"] for p in shown["problems"]] == ["misspelled-builtin"]
    saved = await client.post(
        "/api/user_codes/save", json={"command": "PT", "description": "点", "code": TYPO}
    )
    body = await saved.json()
    assert body["success"] is True and body["lisp"]["ok"] is False
    stored = await (await client.get(f"/api/user_codes/get/{body['code_id']}")).json()
    assert stored["code"] == TYPO  # the user's code, kept byte for byte
    submitted = await (await client.post("/api/submit_code", json={"lisp_code": TYPO})).json()
    assert submitted["command"] == "PT" and submitted["lisp"]["problems"][0]["line"] == 2
    created = await (await client.post("/api/codes", json={"code": TYPO, "description": "x"})).json()
    assert created["lisp"]["commands"] == ["c:PT"]


def test_cli_prints_problems_and_exits_1_on_errors(tmp_path, capsys):
    bad = tmp_path / "bad.lsp"
    bad.write_text(TYPO, encoding="utf-8")
    good = CORPUS / "good" / "01-count-lines.lsp"
    assert main(["lisp-check", str(good)]) == 0
    assert main(["lisp-check", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:2:12: error: no function getpiont; did you mean getpoint? [misspelled-builtin]" in out
    assert f"{good}: ok: 0 errors, 0 warnings; commands: c:CNTLEN (utf-8)" in out


def test_cli_json_and_legacy_encodings(capsys):
    files = [CORPUS / "good" / "63-gbk-crlf-tabs.lsp", CORPUS / "good" / "64-cp1251-crlf.lsp"]
    assert main(["lisp-check", "--json", *map(str, files)]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [(r["encoding"], r["commands"], r["ok"]) for r in reports] == [
        ("gb18030", ["c:改字高"], True),
        ("cp1251", ["c:УДПУСТ"], True),
    ]


def test_cli_unreadable_file_is_one_line_on_stderr(tmp_path, capsys):
    assert main(["lisp-check", str(tmp_path / "missing.lsp")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cadchat: cannot read") and err.count("\n") == 1
