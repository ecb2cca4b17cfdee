"""What AutoLISP and Visual LISP provide: built-in functions with their argument counts, the
special forms, the Common Lisp / Scheme names models reach for (with the AutoLISP way to say
it), and the core AutoCAD command names `(command ...)` may call.

Written from Autodesk's AutoLISP reference (functions by category). Arity is `(minimum,
maximum)`, maximum None for "any number"; an arity is given where the reference fixes it.
ActiveX accessors (`vla-*`) are generated from the type library at run time, so every `vla-`
name counts as built in; `vlax-`/`vlr-` names are listed.
"""

from __future__ import annotations

# name min max ("*" = unbounded). Grouped as in the reference.
_FUNCTIONS = """
; special forms and control
defun 2 * | defun-q 2 * | lambda 1 * | setq 0 * | if 2 3 | cond 0 * | while 1 * | repeat 1 *
foreach 2 * | progn 0 * | and 0 * | or 0 * | quote 1 1 | function 1 1 | vlax-for 2 *
; arithmetic
+ 0 * | - 0 * | * 0 * | / 0 * | ~ 1 1 | 1+ 1 1 | 1- 1 1 | abs 1 1 | atan 1 2 | cos 1 1
sin 1 1 | exp 1 1 | expt 2 2 | fix 1 1 | float 1 1 | gcd 0 * | lcm 0 * | log 1 1
logand 0 * | logior 0 * | lsh 0 2 | max 0 * | min 0 * | minusp 1 1 | rem 0 * | sqrt 1 1
zerop 1 1 | numberp 1 1 | boole 1 * | cvunit 3 3
; comparison and predicates
= 1 * | /= 1 * | < 1 * | > 1 * | <= 1 * | >= 1 * | eq 2 2 | equal 2 3 | not 1 1 | null 1 1
atom 1 1 | listp 1 1 | boundp 1 1 | type 1 1 | vl-symbolp 1 1 | vl-consp 1 1 | wcmatch 2 2
; lists
append 0 * | assoc 2 2 | cons 2 2 | last 1 1 | length 1 1 | list 0 * | mapcar 2 * | apply 2 2
member 2 2 | nth 2 2 | reverse 1 1 | subst 3 3 | acad_strlsort 1 1 | vl-sort 2 2 | vl-sort-i 2 2
vl-remove 2 2 | vl-remove-if 2 2 | vl-remove-if-not 2 2 | vl-member-if 2 2
vl-member-if-not 2 2 | vl-position 2 2 | vl-some 2 * | vl-every 2 * | vl-list* 1 *
vl-list-length 1 1 | eval 1 1 | read 0 1 | set 2 2 | vl-symbol-name 1 1 | vl-symbol-value 1 1
car 1 1 | cdr 1 1 | caar 1 1 | cadr 1 1 | cdar 1 1 | cddr 1 1 | caaar 1 1 | caadr 1 1
cadar 1 1 | caddr 1 1 | cdaar 1 1 | cdadr 1 1 | cddar 1 1 | cdddr 1 1 | caaaar 1 1
caaadr 1 1 | caadar 1 1 | caaddr 1 1 | cadaar 1 1 | cadadr 1 1 | caddar 1 1 | cadddr 1 1
cdaaar 1 1 | cdaadr 1 1 | cdadar 1 1 | cdaddr 1 1 | cddaar 1 1 | cddadr 1 1 | cdddar 1 1
cddddr 1 1 | atoms-family 1 2 | defun-q-list-ref 1 1 | defun-q-list-set 2 2
; strings and conversion
strcat 0 * | strlen 0 * | substr 2 3 | strcase 1 2 | atoi 1 1 | atof 1 1 | itoa 1 1
rtos 1 3 | angtos 1 3 | distof 1 2 | angtof 1 2 | ascii 1 1 | chr 1 1 | xstrcase 1 1
vl-string-search 2 3 | vl-string-subst 3 4 | vl-string-trim 2 2 | vl-string-left-trim 2 2
vl-string-right-trim 2 2 | vl-string-translate 3 3 | vl-string->list 1 1
vl-list->string 1 1 | vl-string-position 2 4 | vl-string-mismatch 2 5 | vl-string-elt 2 2
vl-prin1-to-string 1 1 | vl-princ-to-string 1 1 | snvalid 1 2
; input/output and files
read-line 0 1 | read-char 0 1 | write-line 1 2 | write-char 1 2 | print 0 2 | prin1 0 2
princ 0 2 | prompt 1 1 | terpri 0 0 | open 2 3 | close 1 1 | findfile 1 1 | findtrustedfile 1 1
getfiled 4 4 | vl-filename-base 1 1 | vl-filename-extension 1 1 | vl-filename-directory 1 1
vl-filename-mktemp 0 3 | vl-file-delete 1 1 | vl-file-copy 2 3 | vl-file-rename 2 2
vl-file-size 1 1 | vl-file-systime 1 1 | vl-file-directory-p 1 1 | vl-directory-files 0 3
vl-mkdir 1 1 | alert 1 1 | textpage 0 0 | textscr 0 0 | graphscr 0 0 | startapp 1 2
; geometry
angle 2 2 | distance 2 2 | polar 3 3 | inters 4 5 | osnap 2 2 | trans 3 4 | textbox 1 1
; user input
getint 0 1 | getreal 0 1 | getstring 0 2 | getpoint 0 2 | getcorner 1 2 | getdist 0 2
getangle 0 2 | getorient 0 2 | getkword 0 1 | initget 0 2 | grread 0 3 | grdraw 3 4
grvecs 1 2 | grtext 0 3 | grclear 0 0 | redraw 0 2 | getvar 1 1 | setvar 2 2 | getenv 1 1
setenv 2 2 | getcfg 1 1 | setcfg 2 2 | getcname 1 1 | acad_colordlg 1 2
acad_truecolordlg 1 3 | acad_helpdlg 2 2 | help 0 3 | setfunhelp 1 4 | menucmd 1 1
menugroup 1 1 | tablet 1 5 | vports 0 0 | setview 1 2 | layoutlist 0 0 | ver 0 0
; entities, selection sets, symbol tables, dictionaries
entget 1 2 | entlast 0 0 | entnext 0 1 | entsel 0 1 | nentsel 0 1 | nentselp 0 2 | entdel 1 1
entmake 0 1 | entmakex 0 1 | entmod 1 1 | entupd 1 1 | handent 1 1 | ssget 0 5 | ssadd 0 2
ssdel 2 2 | sslength 1 1 | ssname 2 2 | ssmemb 2 2 | ssnamex 1 2 | sssetfirst 1 2
ssgetfirst 0 0 | tblsearch 2 3 | tblnext 1 2 | tblobjname 2 2 | namedobjdict 0 0
dictsearch 2 3 | dictnext 1 2 | dictadd 3 3 | dictremove 2 2 | dictrename 3 3 | regapp 1 1
xdroom 1 1 | xdsize 1 1 | getpropertyvalue 2 3 | setpropertyvalue 3 4
ispropertyreadonly 2 3 | dumpallproperties 1 2
; commands, applications, memory, errors
command 0 * | command-s 0 * | vl-cmdf 0 * | load 1 2 | autoload 2 2 | autoarxload 2 2
arxload 1 2 | arxunload 1 2 | arx 0 0 | vl-load-all 1 1 | vl-load-com 0 0
vl-load-reactors 0 0 | vl-arx-import 0 1 | vl-doc-export 1 1 | vl-doc-import 1 2
vl-unload-vlx 1 1 | vl-vbaload 1 1 | vl-vbarun 1 1 | vl-vlx-loaded-p 1 1 | vl-infp 0 0
vl-list-loaded-vlx 0 0 | vl-list-exported-functions 0 1 | vl-acad-defun 1 1
vl-acad-undefun 1 1 | vl-bb-ref 1 1 | vl-bb-set 2 2 | vl-doc-ref 1 1 | vl-doc-set 2 2
vl-propagate 1 1 | vl-registry-read 1 2 | vl-registry-write 2 3 | vl-registry-delete 1 2
vl-registry-descendents 1 2 | vl-get-resource 1 1 | vl-exit-with-value 1 1
vl-exit-with-error 1 1 | vl-catch-all-apply 2 2 | vl-catch-all-error-p 1 1
vl-catch-all-error-message 1 1 | exit 0 0 | quit 0 0 | gc 0 0 | mem 0 0 | alloc 1 1
expand 1 1 | trace 0 * | untrace 0 * | acad-pop-dbmod 0 0 | acad-push-dbmod 0 0
vlisp-compile 2 3 | vlisp-export-symbol 1 1 | vlisp-import-symbol 1 1 | ads 0 0
; dialog boxes (DCL)
load_dialog 1 1 | unload_dialog 1 1 | new_dialog 2 4 | start_dialog 0 0 | done_dialog 0 1
term_dialog 0 0 | action_tile 2 2 | set_tile 2 2 | get_tile 1 1 | get_attr 2 2 | mode_tile 2 2
start_list 1 3 | add_list 1 1 | end_list 0 0 | start_image 1 1 | end_image 0 0
fill_image 5 5 | vector_image 5 5 | slide_image 5 5 | dimx_tile 1 1 | dimy_tile 1 1
client_data_tile 2 2
; ActiveX (vlax-)
vlax-get-acad-object 0 0 | vlax-ename->vla-object 1 1 | vlax-vla-object->ename 1 1
vlax-get-property 2 * | vlax-put-property 3 * | vlax-invoke-method 2 * | vlax-get 2 2
vlax-put 3 3 | vlax-invoke 2 * | vlax-release-object 1 1 | vlax-make-safearray 2 *
vlax-safearray-fill 2 2 | vlax-safearray->list 1 1 | vlax-safearray-get-element 2 *
vlax-safearray-put-element 3 * | vlax-safearray-get-dim 1 1 | vlax-safearray-get-l-bound 2 2
vlax-safearray-get-u-bound 2 2 | vlax-safearray-type 1 1 | vlax-make-variant 0 2
vlax-variant-value 1 1 | vlax-variant-type 1 1 | vlax-variant-change-type 2 2
vlax-3d-point 1 3 | vlax-tmatrix 1 1 | vlax-property-available-p 2 3
vlax-method-applicable-p 2 2 | vlax-erased-p 1 1 | vlax-object-released-p 1 1
vlax-read-enabled-p 1 1 | vlax-write-enabled-p 1 1 | vlax-typeinfo-available-p 1 1
vlax-get-object 1 1 | vlax-create-object 1 1 | vlax-get-or-create-object 1 1
vlax-import-type-library 2 * | vlax-map-collection 2 2 | vlax-dump-object 1 2
vlax-ldata-get 2 3 | vlax-ldata-put 3 4 | vlax-ldata-delete 2 3 | vlax-ldata-list 1 2
vlax-ldata-test 1 1 | vlax-add-cmd 2 4 | vlax-remove-cmd 1 1 | vlax-reg-app 2 2
vlax-product-key 0 0 | vlax-machine-product-key 0 0 | vlax-user-product-key 0 0
vlax-curve-getarea 1 1 | vlax-curve-getclosestpointto 2 3
vlax-curve-getclosestpointtoprojection 3 4 | vlax-curve-getdistatparam 2 2
vlax-curve-getdistatpoint 2 2 | vlax-curve-getendparam 1 1 | vlax-curve-getendpoint 1 1
vlax-curve-getfirstderiv 2 2 | vlax-curve-getparamatdist 2 2 | vlax-curve-getparamatpoint 2 2
vlax-curve-getpointatdist 2 2 | vlax-curve-getpointatparam 2 2 | vlax-curve-getsecondderiv 2 2
vlax-curve-getstartparam 1 1 | vlax-curve-getstartpoint 1 1 | vlax-curve-isclosed 1 1
vlax-curve-isperiodic 1 1 | vlax-curve-isplanar 1 1
; reactors (vlr-)
vlr-acdb-reactor 2 2 | vlr-command-reactor 2 2 | vlr-deepclone-reactor 2 2
vlr-docmanager-reactor 2 2 | vlr-dwg-reactor 2 2 | vlr-dxf-reactor 2 2 | vlr-editor-reactor 2 2
vlr-insert-reactor 2 2 | vlr-linker-reactor 2 2 | vlr-lisp-reactor 2 2
vlr-miscellaneous-reactor 2 2 | vlr-mouse-reactor 2 2 | vlr-object-reactor 3 3
vlr-sysvar-reactor 2 2 | vlr-toolbar-reactor 2 2 | vlr-undo-reactor 2 2 | vlr-wblock-reactor 2 2
vlr-window-reactor 2 2 | vlr-xref-reactor 2 2 | vlr-add 1 1 | vlr-added-p 1 1 | vlr-data 1 1
vlr-data-set 2 2 | vlr-owners 1 1 | vlr-owner-add 2 2 | vlr-owner-remove 2 2 | vlr-remove 1 1
vlr-remove-all 0 1 | vlr-reactors 0 * | vlr-pers 1 1 | vlr-pers-list 0 1 | vlr-pers-p 1 1
vlr-pers-release 1 1 | vlr-reaction-set 3 3 | vlr-reaction-names 1 1 | vlr-reactions 1 1
vlr-type 1 1 | vlr-types 0 0 | vlr-notification 1 1 | vlr-current-reaction-name 0 0
vlr-beep-reaction 0 * | vlr-trace-reaction 0 *
"""


def _parse(table: str) -> dict[str, tuple[int, int | None]]:
    arity: dict[str, tuple[int, int | None]] = {}
    for line in table.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        for entry in line.split("|"):
            name, low, high = entry.split()
            arity[name] = (int(low), None if high == "*" else int(high))
    return arity


ARITY: dict[str, tuple[int, int | None]] = _parse(_FUNCTIONS)
"""Every built-in function and special form (lower case) -> (min, max) arguments."""

SPECIAL_FORMS = frozenset(
    [
        "defun",
        "defun-q",
        "lambda",
        "setq",
        "if",
        "cond",
        "while",
        "repeat",
        "foreach",
        "progn",
        "and",
        "or",
        "quote",
        "function",
        "vlax-for",
    ]
)
"""Forms whose arguments are not all evaluated the ordinary way."""

SYMBOLS = frozenset({"t", "nil", "pi", "pause", "*error*", "*acad-object*"})
"""Predefined symbols (values, not functions)."""

LOADERS = frozenset(
    [
        "load",
        "autoload",
        "autoarxload",
        "arxload",
        "vl-load-all",
        "vl-arx-import",
        "vl-vbaload",
        "vl-doc-import",
    ]
)
"""Calls that bring in code from elsewhere: after one, unknown names may be defined there."""

ACTIVEX_PREFIXES = ("vla-", "vlax-", "vlr-")

COMMAND_CALLS = frozenset({"command", "command-s", "vl-cmdf"})

EXTERNAL_PREFIXES = ("acet-", "dos_", "lm:", "acad_")
"""Express Tools (`acet-`), DOSLib (`dos_`) and well-known libraries: unknown, never typos."""

# Common Lisp / Scheme name -> the AutoLISP way to write it (English, Chinese).
COMMON_LISP: dict[str, tuple[str, str]] = {
    "let": (
        "declare locals after / in the defun's argument list and use setq",
        "在 defun 参数表的 / 之后声明局部变量并用 setq 赋值",
    ),
    "let*": (
        "declare locals after / in the defun's argument list and use setq",
        "在 defun 参数表的 / 之后声明局部变量并用 setq 赋值",
    ),
    "flet": ("a separate defun", "单独用 defun 定义函数"),
    "labels": ("a separate defun", "单独用 defun 定义函数"),
    "format": (
        "strcat with rtos / itoa / vl-princ-to-string",
        "用 strcat 配合 rtos / itoa / vl-princ-to-string",
    ),
    "loop": ("while or repeat", "用 while 或 repeat"),
    "do": ("while", "用 while"),
    "dolist": ("foreach", "用 foreach"),
    "dotimes": ("repeat (with a counter in setq)", "用 repeat（计数变量用 setq）"),
    "setf": ("setq", "用 setq"),
    "defvar": ("setq", "用 setq"),
    "defparameter": ("setq", "用 setq"),
    "defconstant": ("setq", "用 setq"),
    "defmacro": ("defun (AutoLISP has no macros)", "用 defun（AutoLISP 没有宏）"),
    "incf": ("(setq x (1+ x))", "用 (setq x (1+ x))"),
    "decf": ("(setq x (1- x))", "用 (setq x (1- x))"),
    "push": ("(setq lst (cons x lst))", "用 (setq lst (cons x lst))"),
    "pop": ("(setq x (car lst) lst (cdr lst))", "用 (setq x (car lst) lst (cdr lst))"),
    "when": ("(if test (progn ...))", "用 (if 条件 (progn ...))"),
    "unless": ("(if (not test) (progn ...))", "用 (if (not 条件) (progn ...))"),
    "case": ("cond", "用 cond"),
    "ecase": ("cond", "用 cond"),
    "first": ("car", "用 car"),
    "second": ("cadr", "用 cadr"),
    "third": ("caddr", "用 caddr"),
    "rest": ("cdr", "用 cdr"),
    "nthcdr": ("a repeat of cdr", "用 repeat 重复 cdr"),
    "elt": ("nth", "用 nth"),
    "aref": ("nth", "用 nth"),
    "funcall": ("apply or a direct call", "用 apply 或直接调用"),
    "concatenate": ("strcat (strings) or append (lists)", "字符串用 strcat，表用 append"),
    "string-upcase": ("strcase", "用 strcase"),
    "string-downcase": ("(strcase s T)", "用 (strcase s T)"),
    "string=": ("= or eq", "用 ="),
    "string-equal": ("(= (strcase a) (strcase b))", "用 (= (strcase a) (strcase b))"),
    "equalp": ("equal", "用 equal"),
    "mod": ("rem", "用 rem"),
    "floor": ("fix", "用 fix"),
    "truncate": ("fix", "用 fix"),
    "round": ("(fix (+ x 0.5)) or rtos", "用 (fix (+ x 0.5)) 或 rtos"),
    "parse-integer": ("atoi", "用 atoi"),
    "write-string": ("princ", "用 princ"),
    "error": ("princ a message and (exit), or alert", "用 princ 输出信息后 (exit)，或用 alert"),
    "handler-case": ("vl-catch-all-apply", "用 vl-catch-all-apply"),
    "ignore-errors": ("vl-catch-all-apply", "用 vl-catch-all-apply"),
    "unwind-protect": ("an *error* handler", "用 *error* 错误处理函数"),
    "return": (
        "restructure the loop with while and a flag (AutoLISP has no early return)",
        "用 while 加标志变量改写（AutoLISP 没有提前返回）",
    ),
    "return-from": (
        "restructure with while and a flag (AutoLISP has no early return)",
        "用 while 加标志变量改写（AutoLISP 没有提前返回）",
    ),
    "block": ("progn", "用 progn"),
    "make-hash-table": ("an association list with assoc", "用关联表和 assoc"),
    "gethash": ("assoc", "用 assoc"),
    "remove": ("vl-remove", "用 vl-remove"),
    "remove-if": ("vl-remove-if", "用 vl-remove-if"),
    "remove-if-not": ("vl-remove-if-not", "用 vl-remove-if-not"),
    "sort": ("vl-sort", "用 vl-sort"),
    "position": ("vl-position", "用 vl-position"),
    "find": ("member or assoc", "用 member 或 assoc"),
    "some": ("vl-some", "用 vl-some"),
    "every": ("vl-every", "用 vl-every"),
    "reduce": ("apply", "用 apply"),
    "mapc": ("foreach or mapcar", "用 foreach 或 mapcar"),
    "mapcan": ("apply 'append with mapcar", "用 (apply 'append (mapcar ...))"),
    "define": ("defun or setq", "用 defun 或 setq"),
    "display": ("princ", "用 princ"),
    "begin": ("progn", "用 progn"),
    "set!": ("setq", "用 setq"),
    "string-append": ("strcat", "用 strcat"),
    "string-length": ("strlen", "用 strlen"),
    "substring": ("substr (1-based)", "用 substr（从 1 开始）"),
    "number->string": ("rtos or itoa", "用 rtos 或 itoa"),
    "string->number": ("atof or atoi", "用 atof 或 atoi"),
    "newline": ('terpri or (princ "\\n")', '用 terpri 或 (princ "\\n")'),
    "list-length": ("length", "用 length"),
    "vector": ("list", "用 list"),
    "null?": ("null", "用 null"),
    "progv": ("setq", "用 setq"),
}

# Core AutoCAD commands (English names): `(command "X")` may call these even when the live
# library does not list them.
CORE_COMMANDS = frozenset(
    [
        "3dface",
        "3dpoly",
        "align",
        "arc",
        "area",
        "array",
        "arrayclassic",
        "attdef",
        "attdisp",
        "attedit",
        "attext",
        "attsync",
        "audit",
        "bedit",
        "block",
        "boundary",
        "box",
        "break",
        "bhatch",
        "chamfer",
        "change",
        "chprop",
        "circle",
        "close",
        "color",
        "copy",
        "copyclip",
        "cutclip",
        "ddedit",
        "ddptype",
        "dimaligned",
        "dimangular",
        "dimbaseline",
        "dimcontinue",
        "dimdiameter",
        "dimlinear",
        "dimradius",
        "dimstyle",
        "dist",
        "divide",
        "donut",
        "dtext",
        "dview",
        "ellipse",
        "erase",
        "explode",
        "export",
        "extend",
        "extrude",
        "fillet",
        "filter",
        "find",
        "hatch",
        "hatchedit",
        "id",
        "image",
        "imageattach",
        "insert",
        "isolateobjects",
        "join",
        "layer",
        "layiso",
        "layoff",
        "layon",
        "laythw",
        "layfrz",
        "layout",
        "layuniso",
        "lengthen",
        "limits",
        "line",
        "linetype",
        "list",
        "ltscale",
        "matchprop",
        "measure",
        "menu",
        "mirror",
        "mleader",
        "mline",
        "move",
        "mspace",
        "mtext",
        "new",
        "offset",
        "oops",
        "open",
        "ortho",
        "osnap",
        "pan",
        "pasteclip",
        "pedit",
        "pline",
        "plot",
        "point",
        "polygon",
        "properties",
        "pspace",
        "purge",
        "qsave",
        "qselect",
        "ray",
        "rectang",
        "rectangle",
        "redo",
        "redraw",
        "regen",
        "regenall",
        "rename",
        "revcloud",
        "revolve",
        "rotate",
        "save",
        "saveas",
        "scale",
        "select",
        "sketch",
        "snap",
        "solid",
        "spline",
        "splinedit",
        "stretch",
        "style",
        "table",
        "text",
        "tolerance",
        "trim",
        "u",
        "ucs",
        "undo",
        "union",
        "units",
        "view",
        "vpoint",
        "vports",
        "wblock",
        "wipeout",
        "xline",
        "xref",
        "xclip",
        "zoom",
        "overkill",
        "qdim",
    ]
)

BUILTINS = frozenset(ARITY)


def is_builtin(name: str) -> bool:
    """True for an AutoLISP/Visual LISP built-in (lower-case name), including every `vla-*`."""
    return name in ARITY or name.startswith("vla-")
