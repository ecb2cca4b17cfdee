"""AutoLISP as the service understands it: one reader, a checker, and extraction from answers."""

from cadchat.autolisp.checker import CheckReport, Problem, check
from cadchat.autolisp.extract import CodeBlock, LispCode, extract_code_blocks, extract_lisp
from cadchat.autolisp.reader import Node, ReadError, read, tokenize

__all__ = [
    "CheckReport",
    "CodeBlock",
    "LispCode",
    "Node",
    "Problem",
    "ReadError",
    "check",
    "extract_code_blocks",
    "extract_lisp",
    "read",
    "tokenize",
]
