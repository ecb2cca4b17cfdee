"""The retrieval answers of the client contract, as plain data (no HTTP here)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from cadchat.catalog import Catalog
from cadchat.library.model import Command
from cadchat.library.tools import BundledLisp, LispSource
from cadchat.retrieval.index import Hit

NOT_FOUND_REASON = "没有找到与需求匹配的 CAD 命令"
NOT_FOUND_SUGGESTION = (
    "请换一种说法描述要完成的操作，例如“修剪多余的线”“画一个半径 50 的圆”，或直接输入命令名（如 TRIM）。"
)


def source_name(command: Command) -> str:
    """Where a command came from, as a file name (never a server path)."""
    return PurePath(command.source).name if command.source else ""


def code_item(command: Command) -> dict[str, Any]:
    """An entry of /api/codes and GET /api/search (plus our superset: alias)."""
    return {
        "id": command.id,
        "command": command.name,
        "description": command.description,
        "type": command.type,
        "category": command.category,
        "source": source_name(command),
        "alias": command.alias,
    }


def code_detail(command: Command, source: LispSource | None = None) -> dict[str, Any]:
    """The `code` object of /api/query and /api/codes/<id>; a bundled LISP tool's source comes
    along as `lisp_code` (the name the client reads code under)."""
    detail = {
        **code_item(command),
        "final_alias": command.aliases[0] if command.aliases else command.name,
        "is_basic_command": command.type == "basic",
        "file": command.file,
        "date": command.date,
    }
    if source is not None:
        detail["lisp_code"] = source.code
    return detail


def lisp_tool(command: Command, source: LispSource) -> dict[str, Any]:
    """GET /api/lisp/{name}: a bundled LISP tool's source.
    `{"name": "LL", "command": "c:LL", "filename": "ll.lsp", "code", "description"}`."""
    return {
        "name": command.name,
        "command": f"c:{command.name}",
        "filename": source.filename,
        "code": source.code,
        "description": command.description,
    }


def lisp_block(command: Command, source: LispSource) -> dict[str, Any]:
    """The runnable code of an answer, in the shape of the chat answer's `lisp` object."""
    return {
        "language": "autolisp",
        "code": source.code,
        "command": f"c:{command.name}",
        "name": command.name,
        "commands": [f"c:{name}" for name in source.commands],
        "filename": source.filename,
    }


def _rag_item(hit: Hit[Command]) -> dict[str, Any]:
    return {
        "command": hit.entry.name,
        "description": hit.entry.description,
        "similarity": hit.similarity,
        "source_type": hit.entry.category,
        "id": hit.entry.id,
    }


def query_answer(
    catalog: Catalog,
    requirement: str,
    *,
    threshold: float,
    limit: int = 5,
    tools: BundledLisp | None = None,
) -> dict[str, Any]:
    """POST /api/query: the best command for a need, with the runners-up as rag_results. A bundled
    LISP tool's answer carries its source (`result.lisp`, `result.code.lisp_code`): the client
    runs the code instead of loading a file the user does not have."""
    hits = catalog.search(requirement, limit)
    if not hits or hits[0].similarity < threshold:
        return {
            "requirement": requirement,
            "matched": False,
            "result": {
                "reason": NOT_FOUND_REASON,
                "suggestion": NOT_FOUND_SUGGESTION,
                "rag_results": [_rag_item(h) for h in hits],
            },
        }
    best = hits[0]
    command = best.entry
    title = command.description.split("：", 1)[0] if "：" in command.description else ""
    shown = f"{command.name}（{title}）" if title and len(title) <= 12 else command.name
    source = tools.for_command(command) if tools is not None else None
    reason = f"离线检索最匹配的命令是 {shown}，相似度 {best.similarity:.2f}"
    result: dict[str, Any] = {
        "code": code_detail(command, source),
        "confidence": best.similarity,
        "reason": reason,
        "llm_used": False,
        "is_basic_command": command.type == "basic",
        "rag_results": [_rag_item(h) for h in hits],
    }
    if source is not None:
        result["reason"] = f"{reason}；附带 {source.filename} 的源代码，加载后输入 {command.name} 运行"
        result["lisp"] = lisp_block(command, source)
    return {"requirement": requirement, "matched": True, "result": result}


def search_results(catalog: Catalog, text: str, limit: int) -> dict[str, Any]:
    """POST /api/search."""
    return {
        "query": text,
        "results": [
            {
                "command": h.entry.name,
                "description": h.entry.description,
                "filename": h.entry.file or source_name(h.entry),
                "timestamp": h.entry.date,
                "command_type": h.entry.type,
                "category": h.entry.category,
                "similarity_score": h.similarity,
                "id": h.entry.id,
            }
            for h in catalog.search(text, limit)
        ],
    }


def search_codes(catalog: Catalog, text: str, limit: int) -> dict[str, Any]:
    """GET /api/search?q=: the same items as /api/codes, best first."""
    return {
        "codes": [{**code_item(h.entry), "similarity": h.similarity} for h in catalog.search(text, limit)]
    }


def all_codes(catalog: Catalog, *, offset: int = 0, limit: int | None = None) -> dict[str, Any]:
    """GET /api/codes: library commands in library order, then user programs."""
    everything = [*catalog.library.commands, *catalog.user_programs.entries()]
    page = everything[offset : None if limit is None else offset + limit]
    return {"codes": [code_item(c) for c in page], "total": len(everything)}


def find_code(catalog: Catalog, code_id: int) -> Command | None:
    return catalog.library.index.get(code_id) or catalog.user_programs.get(code_id)
