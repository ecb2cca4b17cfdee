"""Static checks of AutoLISP code: will it load, and does it call what exists?

`check(code)` reads the code (`reader.read`) and reports, each with a stable `code`, a severity,
an English and a Chinese message and a 1-based line/column:

errors (the code fails when loaded or run)
  unclosed-paren, stray-paren, unclosed-string, unclosed-comment, dangling-quote, bad-dot —
  the reader's findings; not-a-function — a number or string in call position (a list of data
  without a quote); wrong-arity — a built-in, special form or function of this code called with
  too few / too many arguments; odd-setq, setq-not-symbol, bad-defun, bad-special-form —
  malformed special forms; common-lisp — a Common Lisp / Scheme function AutoLISP lacks;
  misspelled-builtin — an unknown name one typo away from a built-in; missing-vl-load-com —
  `vla-`/`vlax-`/`vlr-` calls in a command program that never calls `(vl-load-com)`.
warnings (may be right, worth a look)
  unknown-function — neither built in nor defined here (may be loaded from elsewhere, an
  Express Tools `acet-*` call, ...); undeclared-local — `setq` inside a `defun` of a name that is
  not among its arguments or locals (the value leaks into the drawing session);
  unknown-command — `(command "X" ...)` where X is neither a known command nor a `c:` command of
  this code (only checked when the caller passes the known command names).

Code that `(load ...)`s other files may get its functions from them: there, common-lisp,
misspelled-builtin and missing-vl-load-com are warnings, not errors.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cadchat.autolisp import catalog
from cadchat.autolisp.reader import Node, ReadError, read

ERROR, WARNING = "error", "warning"

# code -> (English, Chinese); {fields} are filled per problem.
MESSAGES: dict[str, tuple[str, str]] = {
    "unclosed-paren": (
        "'(' opened here is never closed ({count} ')' missing)",
        "此处的 '(' 没有闭合（缺少 {count} 个 ')'）",
    ),
    "stray-paren": ("')' without a matching '('", "多余的 ')'，没有对应的 '('"),
    "unclosed-string": (
        "string starting here is never closed (missing '\"')",
        "字符串从此处开始没有结束（缺少 '\"'）",
    ),
    "unclosed-comment": ("';|' block comment is never closed with '|;'", "';|' 块注释没有用 '|;' 结束"),
    "dangling-quote": ("quote ' with nothing after it", "引号 ' 后面没有内容"),
    "bad-dot": ("misplaced '.' (a dotted pair is (a . b))", "'.' 位置不对（点对的写法是 (a . b)）"),
    "not-a-function": (
        "{what} in function position: a list of data needs a quote, '(...) or (list ...)",
        "函数位置上是{what_zh}：数据表要加引号 '(...) 或用 (list ...)",
    ),
    "wrong-arity": (
        "{name} takes {expected} argument(s), given {given}",
        "{name} 需要 {expected} 个参数，实际给了 {given} 个",
    ),
    "odd-setq": (
        "setq needs name/value pairs; {given} argument(s) given",
        "setq 需要成对的 变量/值，实际给了 {given} 个参数",
    ),
    "setq-not-symbol": ("setq can only set a symbol, not {what}", "setq 只能给符号赋值，不能给 {what}"),
    "bad-defun": ("{name}: {detail}", "{name}：{detail_zh}"),
    "bad-special-form": ("{name}: {detail}", "{name}：{detail_zh}"),
    "common-lisp": (
        "{name} is Common Lisp/Scheme, not AutoLISP; use {instead}",
        "{name} 是 Common Lisp/Scheme 的函数，AutoLISP 没有；{instead_zh}",
    ),
    "misspelled-builtin": (
        "no function {name}; did you mean {builtin}?",
        "没有函数 {name}；是不是 {builtin}？",
    ),
    "missing-vl-load-com": (
        "{name} needs (vl-load-com) before it, and the code never calls it",
        "{name} 之前需要先调用 (vl-load-com)，代码中没有调用",
    ),
    "unknown-function": (
        "{name} is neither an AutoLISP built-in nor defined in this code",
        "{name} 既不是 AutoLISP 内置函数，也没有在这段代码中定义",
    ),
    "undeclared-local": (
        "setq of {name}, which is not a local of {defun}: add it after / in the argument list",
        "{name} 不是 {defun} 的局部变量，setq 会留下全局变量：把它加到参数表的 / 之后",
    ),
    "unknown-command": (
        '(command "{command}") names no known command and no c: command of this code',
        '(command "{command}") 调用的不是已知命令，也不是这段代码定义的 c: 命令',
    ),
}

_SHARED_SCOPE = 500  # names in scope beyond which inner scopes share their parent's set
_TYPO_SEARCHES = 200  # distinct unknown names searched for a near-miss built-in per check
_WHAT_ZH = {"int": "整数", "real": "实数", "string": "字符串", "list": "表"}
_EVAL_ALL = frozenset({"if", "while", "repeat", "progn", "and", "or"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: `severity` "error" | "warning", `code` a stable id (see the module doc),
    `message` English, `message_zh` Chinese, `line`/`column` 1-based."""

    severity: str
    code: str
    message: str
    message_zh: str
    line: int
    column: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "line": self.line,
            "column": self.column,
        }

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.severity}: {self.message} [{self.code}]"


@dataclass(slots=True)
class CheckReport:
    """What `check` found. `commands`: the `c:NAME` commands defined, in order of definition;
    `functions`: every function name the code defines (lower case)."""

    problems: list[Problem] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    def to_json(self) -> dict[str, Any]:
        """`{"ok", "problems": [{severity, code, message, message_zh, line, column}], "commands"}`."""
        return {
            "ok": self.ok,
            "problems": [p.as_dict() for p in self.problems],
            "commands": list(self.commands),
        }


def _problem(severity: str, code: str, line: int, column: int, **fields: Any) -> Problem:
    english, chinese = MESSAGES[code]
    return Problem(severity, code, english.format(**fields), chinese.format(**fields), line, column)


def _from_read_error(error: ReadError) -> Problem:
    return _problem(ERROR, error.code, error.line, error.column, count=error.detail or "1")


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a transposition counts 1), cut off above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=4096)
def near_builtin(name: str) -> str | None:
    """The built-in `name` is one slip away from (`getpiont` -> `getpoint`), or None. Names of
    fewer than 5 characters are never near-misses (too many short user names)."""
    if len(name) < 5 or name.startswith(catalog.EXTERNAL_PREFIXES):
        return None
    limit = 2 if len(name) >= 8 else 1
    best, best_distance = None, limit + 1
    for builtin in catalog.ARITY:
        if builtin[0] != name[0] and name[:2] != builtin[1::-1]:
            continue  # a slip keeps the first letter (or swaps the first two)
        distance = _osa_distance(name, builtin, limit)
        if distance < best_distance:
            best, best_distance = builtin, distance
    return best


def _args_of(params: Node) -> tuple[list[str], list[str]] | None:
    """(arguments, locals) of a defun/lambda parameter list, or None when it is not one."""
    if params.kind == "symbol" and params.name == "nil":
        return [], []
    if params.kind != "list" or params.dotted:
        return None
    args: list[str] = []
    local: list[str] = []
    target = args
    for item in params.items:
        if item.kind != "symbol":
            return None
        if item.name == "/":
            target = local
        else:
            target.append(item.name)
    return args, local


def _expected(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low}"
    return str(low) if low == high else f"{low}-{high}"


class _Scope:
    """The names bound by the enclosing defun/lambda chain (AutoLISP scope is dynamic: a setq
    of an outer function's local from an inner one is fine)."""

    __slots__ = ("names", "owner", "reported")

    def __init__(self, names: Iterable[str], owner: str, parent: _Scope | None) -> None:
        if parent is not None and len(parent.names) > _SHARED_SCOPE:
            parent.names.update(names)  # very deep nesting: share, do not copy (warnings only)
            self.names = parent.names
        else:
            self.names = set(names) | (parent.names if parent else set())
        self.owner = owner
        self.reported: set[str] = set()


class _Checker:
    def __init__(self, code: str, known_commands: Collection[str]) -> None:
        self.result = read(code)
        self.report = CheckReport()
        self.known_commands = {c.lower() for c in known_commands}
        self.defined: dict[str, tuple[int, int | None] | None] = {}  # name -> arity (None: varies)
        self.bound: set[str] = set()  # names given values anywhere (setq, arguments, locals)
        self.loads = False
        self.vl_load_com = False
        self.activex_first: Node | None = None
        self.unknown_reported: set[str] = set()
        self.typo_searches = _TYPO_SEARCHES

    def problem(self, severity: str, code: str, node: Node, **fields: Any) -> None:
        self.report.problems.append(_problem(severity, code, node.line, node.column, **fields))

    # --- pass 1: what the code defines --------------------------------------------------------

    def collect(self) -> None:
        commands: dict[str, str] = {}
        for form in self.result.forms:
            for node in form.walk():
                head = node.head_name
                if not head:
                    continue
                if head in ("defun", "defun-q") and len(node.items) >= 3:
                    name_node = node.items[1]
                    if name_node.kind != "symbol":
                        continue
                    name = name_node.name
                    parsed = _args_of(node.items[2])
                    arity = (len(parsed[0]), len(parsed[0])) if parsed else None
                    if name in self.defined and self.defined[name] != arity:
                        arity = None
                    self.defined[name] = arity
                    if parsed:
                        self.bound.update(parsed[0] + parsed[1])
                    if name.startswith("c:") and len(name) > 2:
                        commands.setdefault(name, "c:" + name_node.text[2:])
                elif head == "setq":
                    self.bound.update(item.name for item in node.items[1::2] if item.kind == "symbol")
                elif head in ("lambda", "foreach", "vlax-for") and len(node.items) >= 2:
                    if head == "lambda":
                        parsed = _args_of(node.items[1])
                        if parsed:
                            self.bound.update(parsed[0] + parsed[1])
                    elif node.items[1].kind == "symbol":
                        self.bound.add(node.items[1].name)
                elif head in catalog.LOADERS:
                    self.loads = True
                elif head == "vl-load-com":
                    self.vl_load_com = True
        self.report.commands = list(commands.values())
        self.report.functions = list(self.defined)

    # --- pass 2: every form in code position --------------------------------------------------

    def run(self) -> CheckReport:
        for error in self.result.errors:
            self.report.problems.append(_from_read_error(error))
        self.collect()
        stack: list[tuple[Node, _Scope | None]] = [(form, None) for form in reversed(self.result.forms)]
        while stack:
            node, scope = stack.pop()
            if node.kind == "quote":
                quoted = node.items[0] if node.items else None
                if quoted is not None and quoted.head_name == "lambda":
                    stack.append((quoted, scope))  # '(lambda ...) handed to mapcar and friends
                continue
            if node.kind != "list" or not node.items:
                continue
            if node.dotted:
                self.problem(ERROR, "not-a-function", node, what="a dotted pair", what_zh="点对")
                continue
            for child in reversed(self.call(node, scope)):
                stack.append(child)
        if self.activex_first is not None and not self.vl_load_com:
            severity = ERROR if self.report.commands and not self.loads else WARNING
            self.problem(severity, "missing-vl-load-com", self.activex_first, name=self.activex_first.text)
        self.report.problems.sort(key=lambda p: (p.line, p.column))
        return self.report

    def call(self, node: Node, scope: _Scope | None) -> list[tuple[Node, _Scope | None]]:
        """Check one call; return the forms inside it to check next (with their scope)."""
        head, args = node.items[0], node.items[1:]
        if head.kind in ("int", "real", "string"):
            self.problem(
                ERROR,
                "not-a-function",
                head,
                what=f"{head.kind} {head.text[:20]}",
                what_zh=_WHAT_ZH[head.kind],
            )
            return []
        if head.kind != "symbol":
            return [(item, scope) for item in node.items]  # ((lambda ...) x), ((if a car cdr) x)
        name = head.name
        if name.startswith(catalog.ACTIVEX_PREFIXES) and self.activex_first is None:
            self.activex_first = head
        self.arity(node, head, name, len(args))
        special = self.special(node, head, name, args, scope)
        if special is not None:
            return special
        if name in catalog.COMMAND_CALLS and args:
            self.command(args[0])
        known = catalog.is_builtin(name) or name in self.defined or name in self.bound
        if not known and self.unknown(head, name):
            return []  # a Common Lisp form: its arguments follow other rules
        return [(item, scope) for item in args]

    def arity(self, node: Node, head: Node, name: str, given: int) -> None:
        if name in self.defined:
            bounds = self.defined[name]
        elif name in catalog.ARITY:
            bounds = catalog.ARITY[name]
        else:
            return
        if bounds is None or not node.closed:
            return
        low, high = bounds
        if given < low or (high is not None and given > high):
            self.problem(
                ERROR, "wrong-arity", head, name=head.text, expected=_expected(low, high), given=given
            )

    def special(
        self, node: Node, head: Node, name: str, args: list[Node], scope: _Scope | None
    ) -> list[tuple[Node, _Scope | None]] | None:
        """Forms that bind or do not evaluate all their arguments; None for an ordinary call."""
        if name in _EVAL_ALL or name not in catalog.SPECIAL_FORMS or name in self.defined:
            return None
        if name in ("defun", "defun-q"):
            if not args or args[0].kind != "symbol":
                self.bad(ERROR, "bad-defun", head, "the function name must be a symbol", "函数名必须是符号")
                return []
            if len(args) < 2:
                return []  # reported as wrong-arity
            parsed = _args_of(args[1])
            if parsed is None:
                self.bad(
                    ERROR,
                    "bad-defun",
                    args[1],
                    "the argument list must be a list of symbols, e.g. (a b / c)",
                    "参数表必须是符号表，例如 (a b / c)",
                )
                return []
            inner = _Scope(parsed[0] + parsed[1], args[0].text, scope)
            return [(item, inner) for item in args[2:]]
        if name == "lambda":
            parsed = _args_of(args[0]) if args else None
            if parsed is None:
                if args:
                    self.bad(
                        ERROR, "bad-special-form", head, "lambda needs an argument list", "lambda 需要参数表"
                    )
                return []
            inner = _Scope(parsed[0] + parsed[1], "lambda", scope)
            return [(item, inner) for item in args[1:]]
        if name == "setq":
            if len(args) % 2 and node.closed:  # an unclosed setq is reported as unclosed
                self.problem(ERROR, "odd-setq", head, given=len(args))
            for target in args[0::2]:
                if target.kind != "symbol":
                    self.problem(
                        ERROR,
                        "setq-not-symbol",
                        target,
                        what=target.text[:20] if target.kind != "list" else "a list",
                    )
                elif scope is not None:
                    self.undeclared(target, scope)
            return [(value, scope) for value in args[1::2]]
        if name in ("foreach", "vlax-for"):
            if not args or args[0].kind != "symbol":
                self.bad(
                    ERROR,
                    "bad-special-form",
                    head,
                    "the first argument must be the loop variable (a symbol)",
                    "第一个参数必须是循环变量（符号）",
                )
                return []
            inner = _Scope([args[0].name], scope.owner if scope else "", scope)
            inner.reported = scope.reported if scope else inner.reported
            rest = [(item, inner if scope else None) for item in args[2:]]
            return [(arg, scope) for arg in args[1:2]] + rest
        if name == "cond":
            out = []
            for clause in args:
                if clause.kind != "list" or clause.dotted:
                    self.bad(
                        ERROR,
                        "bad-special-form",
                        clause,
                        "each cond clause must be a list (test expr ...)",
                        "cond 的每个分支必须是表 (条件 表达式 ...)",
                    )
                    continue
                test = clause.items[0] if clause.items else None
                scheme_else = (
                    test is not None and test.kind == "symbol" and test.name in ("else", "otherwise")
                )
                if scheme_else and test.name not in self.bound:
                    self.problem(
                        ERROR,
                        "common-lisp",
                        test,
                        name=test.text,
                        instead="T as the test of the last clause",
                        instead_zh="最后一个分支的条件用 T",
                    )
                out.extend((item, scope) for item in clause.items)
            return out
        if name == "quote":
            return []
        if name == "function":
            return [(arg, scope) for arg in args if arg.kind == "list"]
        return None

    def bad(self, severity: str, code: str, node: Node, detail: str, detail_zh: str) -> None:
        self.problem(
            severity,
            code,
            node,
            name=node.text if node.kind == "symbol" else "(",
            detail=detail,
            detail_zh=detail_zh,
        )

    def undeclared(self, target: Node, scope: _Scope) -> None:
        name = target.name
        if name in scope.names or name in scope.reported:
            return
        if len(name) > 2 and name.startswith("*") and name.endswith("*") and name != "*error*":
            return  # *name*: a global by convention
        if name in catalog.SYMBOLS and name != "*error*":
            return
        scope.reported.add(name)
        self.problem(WARNING, "undeclared-local", target, name=target.text, defun=scope.owner)

    def command(self, first: Node) -> None:
        if first.kind != "string" or not self.known_commands:
            return
        raw = first.text[1:-1] if first.text.endswith('"') and len(first.text) > 1 else first.text[1:]
        name = raw.lstrip("_.-'").strip().lower()
        if not name or name.startswith(("(", "\\")):
            return
        if name in self.known_commands or name in catalog.CORE_COMMANDS or f"c:{name}" in self.defined:
            return
        self.problem(WARNING, "unknown-command", first, command=raw)

    def unknown(self, head: Node, name: str) -> bool:
        """Report a call of an unknown function (once per name); True for a Common-Lisp-ism."""
        common = name in catalog.COMMON_LISP
        if name in self.unknown_reported:
            return common
        self.unknown_reported.add(name)
        severity = WARNING if self.loads else ERROR
        if common:
            instead, instead_zh = catalog.COMMON_LISP[name]
            self.problem(
                severity, "common-lisp", head, name=head.text, instead=instead, instead_zh=instead_zh
            )
            return True
        builtin = None
        if self.typo_searches > 0:
            self.typo_searches -= 1
            builtin = near_builtin(name)
        if builtin is not None:
            self.problem(severity, "misspelled-builtin", head, name=head.text, builtin=builtin)
        else:
            self.problem(WARNING, "unknown-function", head, name=head.text)
        return False


def check(code: str, *, known_commands: Collection[str] = ()) -> CheckReport:
    """Check AutoLISP source text. `known_commands`: the command names the live library knows
    (any case, without prefixes); with none given, `(command "X")` names are not checked.
    Never raises; linear in the size of the code apart from the per-name typo search."""
    return _Checker(code, known_commands).run()
