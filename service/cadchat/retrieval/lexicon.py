"""Domain synonyms: the many ways drafters name one CAD operation.

Each group maps colloquial Chinese phrasings (matched as substrings) and English words
(matched as stemmed words) to one concept. Documents and queries both carry the concepts they
mention, so "把多余的线剪掉" meets a description that says "修剪" even with no shared bigram.
Groups are about intent, not vocabulary: words that name two different operations
(放大 is both SCALE and ZOOM) stay out, and the n-gram features decide.
"""

from __future__ import annotations

from collections.abc import Iterable

from cadchat.retrieval import phonetic
from cadchat.retrieval.phonetic import readings, sounds_alike
from cadchat.retrieval.text import PARTICLES, stem

CONCEPT_GROUPS: dict[str, tuple[str, ...]] = {
    # drawing
    "draw": ("画", "绘制", "绘", "draw", "create", "sketch"),
    "line": ("直线", "线段", "画线", "line", "segment"),
    "polyline": ("多段线", "多义线", "复合线", "连续线", "pline", "polyline"),
    "circle": ("圆形", "画圆", "画个圆", "圆圈", "circle"),
    "arc": ("圆弧", "弧线", "弧形", "arc"),
    "rectangle": ("矩形", "长方形", "正方形", "方框", "rectangle", "rectang", "square", "box"),
    "polygon": (
        "多边形",
        "正多边形",
        "六边形",
        "五边形",
        "八边形",
        "正三角形",
        "等边三角形",
        "polygon",
        "hexagon",
        "pentagon",
    ),
    "ellipse": ("椭圆", "ellipse", "oval"),
    "spline": ("样条", "曲线", "spline", "curve"),
    "hatch": ("填充", "剖面线", "图案", "hatch", "fill"),
    "point": ("点样式", "画点", "point"),
    # which way a line runs off: both ends (XLINE) or one (RAY)
    "both_ways": ("两头", "两端", "双向", "两个方向", "两边无限", "bidirectional"),
    "one_way": ("单向", "一头", "一端", "一个方向", "unidirectional"),
    "construction": ("构造线", "参照线", "射线", "无限长", "xline", "ray"),
    "cloud": ("云线", "修订云", "云彩", "revcloud", "cloud"),
    # modify
    "trim": (
        "修剪",
        "剪掉",
        "剪切",
        "裁剪",
        "剪断",
        "剪去",
        "修掉",
        "剪齐",
        "多余的线",
        "多出来",
        "超出",
        "trim",
        "cut",
    ),
    "extend": ("延伸", "延长到", "伸到", "接到", "够不着", "不够长", "连到边", "extend"),
    "lengthen": ("拉长", "加长", "改长度", "增量", "总长", "lengthen", "longer", "shorten", "shorter"),
    "offset": ("偏移", "平行线", "平移复制", "等距", "同心", "offset", "parallel", "concentric"),
    "move": ("移动", "挪", "搬", "平移", "move"),
    "copy": ("复制", "拷贝", "多复制", "copy", "duplicate", "clone"),
    "rotate": ("旋转", "转个角度", "转一下", "转动", "rotate", "turn"),
    "scale": (
        "比例缩放",
        "缩放对象",
        "放大倍",
        "缩小倍",
        "倍数",
        "比例因子",
        "scale",
        "resize",
        "enlarge",
        "shrink",
    ),
    "stretch": ("拉伸", "拉一下", "拉长一边", "stretch"),
    "mirror": ("镜像", "对称", "翻转", "mirror", "flip", "reflect", "symmetric"),
    "fillet": ("圆角", "倒圆", "倒r", "fillet", "round"),
    "chamfer": ("倒角", "斜角", "倒斜", "chamfer", "bevel"),
    "break": ("打断", "断开", "截断", "分成两段", "break"),
    "join": (
        "合并",
        "连接成",
        "连成一条",
        "连成一个",
        "合成一条",
        "合成一个",
        "合为一",
        "合二为一",
        "并成一",
        "join",
        "merge",
        "combine",
    ),
    "explode": ("炸开", "分解", "打散", "炸掉", "explode", "decompose"),
    "erase": ("删除", "删掉", "擦除", "去掉", "清除对象", "erase", "delete", "remove"),
    "array": ("阵列", "排列", "一排", "成排", "环形", "均布", "array", "pattern"),
    "align": ("对齐", "align"),
    # one kind of object made into another: 单行转多行, 线转多段线, 转实体
    "convert": ("转换", "转为", "变成", "convert", "conversion"),
    # editing an existing object: with the object it names PEDIT, ATTEDIT, TEXTEDIT, BEDIT …
    "edit": ("编辑", "修改", "改", "调整", "调一下", "edit", "modify", "change", "adjust"),
    "properties": ("特性", "属性面板", "属性", "properties", "property"),
    "matchprop": ("格式刷", "特性匹配", "刷成一样", "匹配", "matchprop", "match"),
    "divide": ("等分", "定数等分", "divide"),
    "measure_div": ("定距等分", "每隔", "measure"),
    "undo": ("撤销", "撤消", "撤回", "回退", "退回", "退一步", "上一步", "undo"),
    "redo": ("重做", "恢复撤销", "redo"),
    # annotation
    "text": ("文字", "文本", "写字", "字体", "text", "font", "write"),
    "mtext": ("多行文字", "段落", "mtext", "paragraph"),
    "dimension": ("标注", "尺寸", "dimension", "dim"),
    # one after another: DIMCONTINUE (a dimension chain), continuous orbit
    "continued": (
        "连续",
        "连着",
        "接着",
        "一个接一个",
        "一道接一道",
        "挨个",
        "串联",
        "continue",
        "continuous",
        "chain",
    ),
    "radius": ("半径", "radius"),
    "diameter": ("直径", "diameter"),
    "angle": ("角度", "夹角", "angle", "angular"),
    "leader": ("引线", "指引线", "引出线", "leader", "callout"),
    "table": ("表格", "table"),
    "style": ("样式", "style"),
    # layers, blocks
    "layer": ("图层", "层", "layer"),
    "freeze": ("冻结", "freeze"),
    "lock": ("锁定", "锁住", "lock"),
    "isolate": ("隔离", "只显示", "单独显示", "isolate"),
    "off": ("关闭", "隐藏", "不显示", "关掉", "hide"),
    "block": ("图块", "块", "block"),
    "attribute": ("属性文字", "块属性", "属性值", "attribute", "attdef", "attedit"),
    "insert": ("插入", "insert", "place"),
    "xref": ("外部参照", "参照", "xref", "reference"),
    # view, inquiry, output, file
    "zoom": ("视图缩放", "看清", "全部显示", "看全图", "显示全部", "缩放视图", "zoom"),
    "pan": ("平移视图", "拖动视图", "移动视图", "pan"),
    "regen": ("重生成", "刷新", "重画", "regen", "refresh", "redraw"),
    "distance": ("距离", "多远", "多长", "长度是多少", "distance", "dist"),
    # 平方/平米 and m2 (NFKC of ㎡) are how an area is said: "多少平方", "120㎡"
    "area": ("面积", "周长", "平方", "平米", "area", "perimeter", "m2"),
    "coordinate": ("坐标", "xyz", "coordinate"),
    "query": ("查询", "查看", "看一下", "测量", "query", "inquiry", "check", "measure"),
    "plot": ("打印", "出图", "plot", "print"),
    "pdf": ("pdf",),
    "export": ("导出", "输出", "另存", "转成", "export", "save"),
    "purge": ("清理", "清除未使用", "没用的", "不用的", "瘦身", "purge", "cleanup", "unused"),
    "audit": ("修复", "检查错误", "坏了", "损坏", "audit", "recover", "repair", "damaged", "corrupt"),
    "duplicate_lines": ("重复线", "重叠", "重线", "overkill", "overlap"),
    "select": ("选择", "选中", "选取", "select", "selection"),
    "snap": ("捕捉", "对象捕捉", "端点", "中点", "snap", "osnap"),
    "ortho": ("正交", "水平竖直", "横平竖直", "水平垂直", "横竖", "ortho"),
    "units": ("单位", "毫米", "精度", "unit"),
    "group": ("编组", "成组", "group"),
    "number": ("编号", "序号", "递增", "number", "numbering", "increment"),
    "total": ("统计", "求和", "总和", "合计", "count", "total", "sum"),
    "case": ("大小写", "大写", "小写", "uppercase", "lowercase", "case"),
    "flatten": ("拍平", "压平", "z坐标", "标高归零", "二维化", "flatten"),
    # 3D
    "extrude": ("拉伸成", "挤出", "拉成三维", "拉成实体", "拉高", "拔高", "拉起来", "extrude", "extrusion"),
    "revolve": ("旋转成", "回转", "旋转体", "revolve"),
    "union": ("并集", "union"),
    "subtract": ("差集", "减去", "挖孔", "subtract"),
    "solid3d": ("三维", "实体", "3d", "solid"),
    "viewport": ("视口", "viewport"),
    "layout": ("布局", "图纸空间", "layout"),
}

# Concepts that name things rather than operations. In "把这个块炸开" the operation (炸开) decides
# the command; the object (块) only narrows it, so object concepts weigh less in a query. So do
# qualifiers of the operation (两头 of a line, 连着 of dimensions): they narrow, not decide.
OBJECT_CONCEPTS = frozenset(
    [
        "draw",
        "line",
        "polyline",
        "circle",
        "arc",
        "rectangle",
        "polygon",
        "ellipse",
        "spline",
        "point",
        "construction",
        "both_ways",
        "one_way",
        "cloud",
        "text",
        "mtext",
        "continued",
        "radius",
        "diameter",
        "angle",
        "table",
        "style",
        "layer",
        "block",
        "attribute",
        "xref",
        "coordinate",
        "pdf",
        "solid3d",
        "viewport",
        "layout",
        "units",
        "properties",
    ]
)

# Chinese variants grouped by their first character: one pass over the text finds every
# variant at every position, instead of one substring scan per variant.
_CJK_BY_FIRST: dict[str, list[tuple[str, str]]] = {}
_WORDS: dict[str, str] = {}


def _build() -> None:
    for concept, variants in CONCEPT_GROUPS.items():
        for variant in variants:
            if variant.isascii():
                _WORDS[stem(variant)] = concept
            else:
                _CJK_BY_FIRST.setdefault(variant[0], []).append((variant, concept))


_build()


def concepts(normalized_text: str, stemmed_words: Iterable[str]) -> set[str]:
    """The concepts a text mentions: substring matches for Chinese, word matches for English."""
    found: set[str] = set()
    for i, ch in enumerate(normalized_text):
        candidates = _CJK_BY_FIRST.get(ch)
        if candidates:
            for variant, concept in candidates:
                if normalized_text.startswith(variant, i):
                    found.add(concept)
    found.update(_WORDS[w] for w in stemmed_words if w in _WORDS)
    found.update(verb_concepts(normalized_text))
    return found


# Colloquial Chinese says an operation with one verb character and a complement: 标一下, 往后标到,
# 剪掉, 挪到, 转90度, 偏2400. One character alone is too ambiguous (坐标, 转换, 偏差), so it
# counts only as a verb: after a function word, a direction or an amount (or first), and before
# a complement, a number or the end of its clause.
VERB_CHARACTERS: dict[str, str] = {
    "标": "dimension",
    "剪": "trim",
    "删": "erase",
    "挪": "move",
    "转": "rotate",
    "炸": "explode",
    "偏": "offset",
}
_BEFORE_VERB = frozenset("的了个一把将给帮我你请要想能再先又都就往向朝前后左右上下里外度米")
VERB_COMPLEMENTS = ("一下", "下", "到", "在", "掉", "个", "出", "过去", "回")


def _ends_clause(after: str) -> bool:
    """Whether a verb is the last word of its clause ("往后标，…"): the text ends or punctuation follows."""
    return not after or (after[0] <= "\u3000" and not after[0].isalnum())


def verb_concepts(normalized_text: str) -> set[str]:
    """Concepts said by a verb character used as a verb (see `VERB_CHARACTERS`)."""
    found: set[str] = set()
    for i, ch in enumerate(normalized_text):
        concept = VERB_CHARACTERS.get(ch)
        if concept is None:
            continue
        before = normalized_text[i - 1] if i else " "
        after = normalized_text[i + 1 : i + 3]
        if (before <= "\u3000" or before in _BEFORE_VERB) and (
            after[:1].isdigit() or after.startswith(VERB_COMPLEMENTS) or _ends_clause(after)
        ):
            found.add(concept)
    return found


# Chinese variants of two or more characters by the readings of their first character, for
# matching what a need sounds like ("修建" for 修剪, "涂层" for 图层); built on first use.
_SOUND_BY_FIRST: dict[str, list[tuple[tuple[frozenset[str], ...], str]]] | None = None


def _sound_table() -> dict[str, list[tuple[tuple[frozenset[str], ...], str]]]:
    global _SOUND_BY_FIRST
    if _SOUND_BY_FIRST is None:
        table: dict[str, list[tuple[tuple[frozenset[str], ...], str]]] = {}
        for concept, variants in CONCEPT_GROUPS.items():
            for variant in variants:
                if len(variant) < 2 or not all(ch > "\u3000" for ch in variant):
                    continue  # one character sounds like too many others
                # A curated word is read the common way: its rarer readings only add collisions.
                word = tuple(frozenset(readings(ch)[:1]) for ch in variant)
                if all(word):
                    for first in word[0]:
                        table.setdefault(first, []).append((word, concept))
        _SOUND_BY_FIRST = table
    return _SOUND_BY_FIRST


def preload() -> None:
    """Load the pinyin readings and build the sound table now, off the event loop."""
    phonetic.preload()
    _sound_table()


def sound_concepts(normalized_text: str) -> set[str]:
    """Concepts whose Chinese variants (two or more characters) the text only sounds like.

    "把多余的线修建掉" sounds like 修剪 (trim). Concepts the text names exactly are included too;
    callers subtract those. A stretch with a particle in it ("个尺") is phrasing, not a slip.
    """
    if _SOUND_BY_FIRST is None:
        return set()  # before `preload`: no request waits for the readings
    table = _SOUND_BY_FIRST
    found: set[str] = set()
    for i, ch in enumerate(normalized_text):
        if ch <= "\u3000":
            continue
        for first in readings(ch):
            for word, concept in table.get(first, ()):
                if (
                    concept not in found
                    and sounds_alike(normalized_text, i, word)
                    and PARTICLES.isdisjoint(normalized_text[i : i + len(word)])
                ):
                    found.add(concept)
    return found
