"""The AutoLISP reader: source text -> tokens -> forms, with 1-based line/column positions.

It follows AutoLISP's own reader: `"..."` strings with backslash escapes (they may span lines),
`;` line comments, `;| ... |;` block comments, `'` quote, dotted pairs `(a . b)`, integers and
reals (`1`, `-2`, `1.`, `.5`, `1e3`), and symbols made of every other non-blank character
(`c:59`, `Save&Exit`, `#def`, `a,b`, `:vlax-true`, `c:ПЕРЛИН`). Symbol names compare
case-insensitively (`Node.name` is lower-cased).

Reading never raises and never stops at the first problem: a stray `)` is reported and skipped,
lists still open at the end are closed (and reported), an unterminated string or block comment
runs to the end of the text (and is reported). One pass, linear in the length of the text: the
token pattern has no nested repetition, positions advance monotonically, and the form builder
is iterative (nesting depth costs no Python stack).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

# One alternative per token kind; each is a plain scan with no backtracking.
_TOKEN = re.compile(
    r"""
    \s*
    (?:
    (?P<block>;\|)
  | (?P<comment>;[^\n]*)
  | (?P<string>"[^"\\]*(?:\\.[^"\\]*)*(?P<closed>")?)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<quote>')
  | (?P<atom>[^\s()'";]+)
  | (?P<end>\Z)
    )
    """,
    re.VERBOSE | re.DOTALL,
)
_NUMBER_START = frozenset("0123456789+-.")
_INT = re.compile(r"[+-]?\d+")
_REAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")

ATOM_KINDS = ("symbol", "int", "real", "string")


class Token(NamedTuple):
    """One lexical token. `kind`: open, close, quote, dot, symbol, int, real, string, comment.
    `start`/`end` are character offsets into the text; `line`/`column` are 1-based."""

    kind: str
    text: str
    start: int
    end: int
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class ReadError:
    """A problem the reader found. `code` is one of: unclosed-paren, stray-paren,
    unclosed-string, unclosed-comment, dangling-quote, bad-dot."""

    code: str
    line: int
    column: int
    detail: str = ""


@dataclass(slots=True, eq=False)
class Node:
    """A form. `kind` is "list", "quote" (`'x`, the quoted form is `items[0]`), or an atom kind:
    "symbol", "int", "real", "string". `name` is the lower-cased symbol name ("" otherwise).
    A list's `dotted` is True for `(a . b)` (then `items` is `[a, b]`); `closed` is False for a
    list the text never closes. `start`/`end` are character offsets."""

    kind: str
    text: str
    line: int
    column: int
    start: int
    end: int = -1
    items: list[Node] = field(default_factory=list)
    closed: bool = True
    dotted: bool = False
    name: str = ""

    @property
    def is_list(self) -> bool:
        return self.kind == "list"

    @property
    def head(self) -> Node | None:
        return self.items[0] if self.kind == "list" and self.items else None

    @property
    def head_name(self) -> str:
        head = self.head
        return head.name if head is not None and head.kind == "symbol" else ""

    def walk(self) -> Iterator[Node]:
        """This node and every node inside it, depth first, without recursion."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.items))


@dataclass(slots=True)
class ReadResult:
    forms: list[Node]
    errors: list[ReadError]
    end: int  # offset where reading stopped (len(text) unless a stop condition ended it)


class _Lines:
    """Offset -> (line, column) for monotonically increasing offsets, in amortised O(1)."""

    __slots__ = ("line", "line_start", "scanned", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.line = 1
        self.line_start = 0
        self.scanned = 0

    def at(self, offset: int) -> tuple[int, int]:
        text = self.text
        if offset > self.scanned:
            newline = text.rfind("\n", self.scanned, offset)
            if newline >= 0:
                self.line += text.count("\n", self.scanned, offset)
                self.line_start = newline + 1
            self.scanned = offset
        return self.line, offset - self.line_start + 1


def tokenize(text: str, start: int = 0, errors: list[ReadError] | None = None) -> Iterator[Token]:
    """Tokens of `text` from offset `start`; whitespace and comments are skipped (comments are
    yielded as kind "comment"). Problems (unterminated string/comment) go to `errors`."""
    lines = _Lines(text)
    if start:
        lines.at(start)
    n = len(text)
    pos = start
    match = _TOKEN.match
    while pos < n:
        m = match(text, pos)
        kind = m.lastgroup
        if kind == "end":
            break
        pos = m.start(kind)
        end = m.end()
        line, column = lines.at(pos)
        if kind == "block":
            close = text.find("|;", pos + 2)
            if close < 0:
                if errors is not None:
                    errors.append(ReadError("unclosed-comment", line, column))
                end = n
            else:
                end = close + 2
            yield Token("comment", text[pos:end], pos, end, line, column)
        elif kind == "comment":
            yield Token("comment", text[pos:end], pos, end, line, column)
        elif kind == "string":
            if m.group("closed") is None:
                if errors is not None:
                    errors.append(ReadError("unclosed-string", line, column))
                end = n
            yield Token("string", text[pos:end], pos, end, line, column)
        elif kind == "atom":
            word = text[pos:end]
            if word == ".":
                atom = "dot"
            elif word[0] not in _NUMBER_START:
                atom = "symbol"
            elif _INT.fullmatch(word):
                atom = "int"
            elif _REAL.fullmatch(word):
                atom = "real"
            else:
                atom = "symbol"
            yield Token(atom, word, pos, end, line, column)
        else:  # open, close, quote
            yield Token(kind, text[pos:end], pos, end, line, column)
        pos = end


class _Open:
    """A list being read: its node, the quotes written before it, and the quotes pending inside."""

    __slots__ = ("bad_dot", "dot", "node", "pending", "quotes")

    def __init__(self, node: Node, quotes: list[Token]) -> None:
        self.node = node
        self.quotes = quotes
        self.pending: list[Token] = []
        self.dot: Token | None = None
        self.bad_dot = False  # a misplaced dot was reported: later dots are skipped


def _wrap(form: Node, quotes: list[Token]) -> Node:
    for quote in reversed(quotes):
        form = Node("quote", "'", quote.line, quote.column, quote.start, form.end, [form])
    return form


def read(text: str, start: int = 0, *, stop_at_atom: bool = False) -> ReadResult:
    """Every top-level form of `text` (from offset `start`) and every problem found.

    With `stop_at_atom`, reading ends before the first top-level atom (used to take the code out
    of prose: the first word after the last top-level form ends it)."""
    errors: list[ReadError] = []
    forms: list[Node] = []
    stack: list[_Open] = []
    top_pending: list[Token] = []
    end = len(text)

    def add(form: Node) -> None:
        if stack:
            frame = stack[-1]
            if frame.pending:
                form = _wrap(form, frame.pending)
                frame.pending = []
            frame.node.items.append(form)
        else:
            form = _wrap(form, top_pending)
            top_pending.clear()
            forms.append(form)

    for token in tokenize(text, start, errors):
        kind = token.kind
        if kind == "comment":
            continue
        if kind == "open":
            pending = stack[-1].pending if stack else top_pending
            node = Node("list", "(", token.line, token.column, token.start)
            stack.append(_Open(node, list(pending)))
            pending.clear()
        elif kind == "close":
            if not stack:
                if top_pending:
                    q = top_pending[-1]
                    errors.append(ReadError("dangling-quote", q.line, q.column))
                    top_pending.clear()
                errors.append(ReadError("stray-paren", token.line, token.column))
                continue
            frame = stack.pop()
            if frame.pending:
                q = frame.pending[-1]
                errors.append(ReadError("dangling-quote", q.line, q.column))
            node = frame.node
            node.end = token.end
            _finish_dot(frame, errors)
            if stack:
                add(_wrap(node, frame.quotes) if frame.quotes else node)
            else:
                forms.append(_wrap(node, frame.quotes))
        elif kind == "quote":
            (stack[-1].pending if stack else top_pending).append(token)
        elif kind == "dot":
            if not stack:
                errors.append(ReadError("bad-dot", token.line, token.column))
                continue
            frame = stack[-1]
            if frame.bad_dot:
                continue
            if frame.dot is not None or not frame.node.items or frame.pending:
                errors.append(ReadError("bad-dot", token.line, token.column))
                frame.bad_dot = True  # one report for the list, whatever follows
                if frame.dot is not None:  # (a . b . c): not a dotted pair after all
                    frame.dot = None
                    frame.node.dotted = False
                    frame.node.items[:] = [i for i in frame.node.items if i.kind != "dot"]
                continue
            frame.dot = token
            frame.node.dotted = True
            frame.node.items.append(Node("dot", ".", token.line, token.column, token.start, token.end))
        else:  # an atom
            if stop_at_atom and not stack and not top_pending:
                end = token.start
                break
            node = Node(kind, token.text, token.line, token.column, token.start, token.end)
            if kind == "symbol":
                node.name = token.text.lower()
            add(node)
    if top_pending:
        q = top_pending[-1]
        errors.append(ReadError("dangling-quote", q.line, q.column))
    if stack:
        outer = stack[0].node
        swallowed = errors and errors[-1].code in ("unclosed-string", "unclosed-comment")
        if not swallowed:  # a string or comment running to the end took the ')'s with it
            errors.append(ReadError("unclosed-paren", outer.line, outer.column, str(len(stack))))
        while stack:
            frame = stack.pop()
            frame.node.closed = False
            frame.node.end = end
            _finish_dot(frame, errors)
            form = _wrap(frame.node, frame.quotes)
            if stack:
                stack[-1].node.items.append(form)
            else:
                forms.append(form)
    return ReadResult(forms, errors, end)


def _finish_dot(frame: _Open, errors: list[ReadError]) -> None:
    """`(a . b)`: exactly one form after the dot; `items` ends `[..., a, b]`, the marker removed."""
    node = frame.node
    if frame.dot is None:
        return
    items = node.items
    at = next(i for i, item in enumerate(items) if item.kind == "dot")
    after = len(items) - at - 1
    del items[at]
    if after != 1:
        errors.append(ReadError("bad-dot", frame.dot.line, frame.dot.column))
        node.dotted = False


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
