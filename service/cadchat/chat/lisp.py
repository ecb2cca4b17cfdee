"""Find the runnable AutoLISP in a model's answer, and the `c:` command it defines (the
AutoLISP reader does the reading: see `cadchat.autolisp.extract`)."""

from __future__ import annotations

from cadchat.autolisp.extract import CodeBlock, LispCode, extract_code_blocks, extract_lisp, lisp_code

__all__ = ["CodeBlock", "LispCode", "extract_code_blocks", "extract_lisp", "lisp_code"]
