"""Offline retrieval: analysis, scoring invariants, both index kinds, user programs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from cadchat.catalog import Catalog
from cadchat.library.model import Command
from cadchat.library.store import LibrarySources, LibraryStore, build_index, command_prior
from cadchat.retrieval.index import (
    FrozenIndex,
    SearchIndex,
    analyze_query,
    compound_names,
    concept_pairs,
    document_features,
    own_text,
    search,
)
from cadchat.retrieval.lexicon import concepts, sound_concepts, verb_concepts
from cadchat.retrieval.lexicon import preload as preload_sounds
from cadchat.retrieval.phonetic import fuzzy, pair_keys, readings
from cadchat.retrieval.text import (
    cjk_grams,
    drop_contrast,
    grams_across_numbers,
    normalize,
    read_phrasal_verbs,
    runs,
    stem,
    words,
)


def test_normalize_folds_full_width_and_case() -> None:
    assert normalize("ＴＲＩＭ　修剪") == "trim 修剪"


def test_runs_split_cjk_and_ascii_keeping_3d_together() -> None:
    assert runs("用offset偏移10mm，3D实体") == ["用", "offset", "偏移", "10mm", "3d", "实体"]


def test_cjk_grams_drop_fillers_and_join_across_particles() -> None:
    assert cjk_grams("剪掉") == ["剪", "掉", "剪掉"]
    # no bigram with a particle; the characters around a measure word are joined
    assert cjk_grams("画个圆") == ["画", "圆", "画圆"]
    assert cjk_grams("半径的圆") == ["半", "径", "圆", "半径", "径圆"]
    # a counter before a measure word joins nothing ("一个实体" is not "一实")
    assert "一实" not in cjk_grams("一个实体")


def test_basic_needs_rank_the_everyday_command_first() -> None:
    from cadchat.config import BUNDLED_LIBRARY_NAMES, bundled_library_dir

    store = LibraryStore(
        LibrarySources(files=tuple(bundled_library_dir() / n for n in BUNDLED_LIBRARY_NAMES))
    )
    store.load_sync()
    catalog = Catalog(store)
    for need, expected in [
        ("帮我画一条直线", "LINE"),
        ("画一个半径50的圆", "CIRCLE"),
        ("这几个东西编个组", "GROUP"),
        ("把多余的线剪掉", "TRIM"),
    ]:
        assert catalog.search(need, 1)[0].entry.name == expected, need


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [("lines", "line"), ("copies", "copy"), ("trimming", "trimm"), ("arches", "arch"), ("class", "class")],
)
def test_stem(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_words_drop_stop_words_and_numbers() -> None:
    assert words("Please draw a circle of 50 units") == ["draw", "circle", "unit"]


def test_concepts_from_chinese_phrases_and_english_words() -> None:
    assert {"trim"} <= concepts(normalize("把多余的线剪掉"), [])
    assert {"erase"} <= concepts("", ["delete"])
    assert {"fillet"} <= concepts(normalize("倒个圆角"), [])
    assert {"edit", "attribute"} <= concepts(normalize("改一下图框的属性值"), [])  # 改 is modify
    assert {"undo"} <= concepts(normalize("退回上一步"), [])
    assert {"extrude"} <= concepts(normalize("轮廓拉高3000"), [])
    assert {"join", "solid3d"} <= concepts(normalize("两个实体合成一个"), [])
    assert {"continued", "dimension"} <= concepts(normalize("一个接一个连着标注"), [])


def test_which_way_a_line_runs_off_tells_xline_from_ray() -> None:
    assert "both_ways" in concepts(normalize("两头无限长的辅助线"), [])
    assert "one_way" in concepts(normalize("往一个方向无限延伸"), [])
    assert "distance" not in concepts(normalize("间距600"), [])  # spacing, not the distance inquiry


def test_typed_command_name_weighs_more_than_the_same_word_in_a_sentence() -> None:
    alone = analyze_query("offset")
    in_sentence = analyze_query("please offset this line")
    assert alone.features["n:offset"] > in_sentence.features["n:offset"]
    # a short alias used as a Chinese verb is the command typed; a longer word is a word
    assert analyze_query("co 一下这个柱子").features["n:co"] == alone.features["n:offset"]
    assert analyze_query("measure 一下面积").features["n:measure"] == in_sentence.features["n:offset"]
    assert "n:a" not in analyze_query("draw a line").features  # stop words are no names


def lib(*rows: tuple[str, str, str, str]) -> list[Command]:
    return [
        Command(name=n, description=d, aliases=tuple(a.split(",")) if a else (), type=t, id=i)
        for i, (n, d, a, t) in enumerate(rows, start=1)
    ]


COMMANDS = lib(
    ("TRIM", "修剪：以边界剪掉多余的线 trim", "TR", "basic"),
    ("EXTEND", "延伸：把线延长到边界 extend", "EX", "basic"),
    ("CIRCLE", "圆：画圆 circle", "C", "basic"),
    ("ERASE", "删除：删掉选中的对象 erase delete", "E", "basic"),
    ("BURST", "炸开块并保留属性文字 burst", "", "lisp"),
)


def rank(indexes, text: str, limit: int = 5):
    return [h.entry.name for h in search(indexes, analyze_query(text), limit, lambda c: c.key)]


@pytest.mark.parametrize(
    ("need", "expected"),
    [
        ("把多余的线剪掉", "TRIM"),
        ("线不够长，延伸到边上", "EXTEND"),
        ("画个圆", "CIRCLE"),
        ("delete these objects", "ERASE"),
        ("TR", "TRIM"),
        ("c", "CIRCLE"),
    ],
)
def test_ranking_on_a_small_library(need: str, expected: str) -> None:
    assert rank([build_index(COMMANDS)], need)[0] == expected


def test_similarity_is_in_unit_range_and_exact_name_is_near_one() -> None:
    index = build_index(COMMANDS)
    hits = search([index], analyze_query("TRIM"), 5, lambda c: c.key)
    assert hits[0].entry.name == "TRIM" and hits[0].similarity >= 0.9
    for need in ("把多余的线剪掉", "画圆 circle circle circle", "x", "删除 delete erase E"):
        for hit in search([index], analyze_query(need), 5, lambda c: c.key):
            assert 0.0 <= hit.similarity <= 1.0


def test_unknown_words_give_no_hits() -> None:
    assert search([build_index(COMMANDS)], analyze_query("qwzx plokm"), 5, lambda c: c.key) == []


def test_ties_are_broken_by_the_sort_key_deterministically() -> None:
    twins = lib(
        ("BBB", "同样的描述", "", "basic"),
        ("AAA", "同样的描述", "", "basic"),
        ("CCC", "同样的描述", "", "basic"),
    )
    for order in (twins, list(reversed(twins))):
        assert rank([build_index(order)], "同样的描述", 2) == ["AAA", "BBB"]


@pytest.mark.parametrize("kind", ["frozen", "mutable"])
def test_ties_are_capped_at_the_limit_in_sort_key_order(kind: str) -> None:
    twins = lib(*[(f"T{i:04d}", "同样的描述 same tool", "", "lisp") for i in range(2000)])
    shuffled = random.Random(5).sample(twins, len(twins))
    if kind == "frozen":
        index = build_index(shuffled)
    else:
        index = SearchIndex(tie_key=lambda c: c.key)
        for c in shuffled:
            index.add(c.id, c, document_features(c.name, c.aliases, c.description))
    factors = [("w:same", 1.0), ("同样", 1.0)]
    top = index.top(factors, 3)
    assert [entry.name for _, entry in top] == ["T0000", "T0001", "T0002"]
    assert rank([index], "同样的描述", 4) == ["T0000", "T0001", "T0002", "T0003"]


def test_a_better_score_beats_any_number_of_ties() -> None:
    rows = [(f"T{i:04d}", "同样的描述 same tool", "", "lisp") for i in range(500)]
    index = build_index(lib(*rows, ("ZZZ", "同样的描述 same tool 特别", "", "lisp")))
    assert rank([index], "同样的描述 特别", 3) == ["ZZZ", "T0000", "T0001"]


def test_frozen_and_mutable_indexes_score_identically() -> None:
    rng = random.Random(3)
    vocabulary = list("画线圆弧删除修剪延伸复制移动旋转镜像偏移标注图层块炸开")
    commands = lib(*[(f"C{i}", "".join(rng.choices(vocabulary, k=12)), "", "basic") for i in range(200)])
    mutable: SearchIndex[Command] = SearchIndex(tie_key=lambda c: c.id)  # frozen: insertion order
    for c in commands:
        mutable.add(c.id, c, document_features(c.name, c.aliases, c.description))
    frozen = FrozenIndex((c.id, c, document_features(c.name, c.aliases, c.description)) for c in commands)
    for _ in range(30):
        need = "".join(rng.choices(vocabulary, k=5))
        a = search([mutable], analyze_query(need), 10, lambda c: c.key)
        b = search([frozen], analyze_query(need), 10, lambda c: c.key)
        assert [h.entry.name for h in a] == [h.entry.name for h in b]
        assert [h.similarity for h in a] == pytest.approx([h.similarity for h in b], abs=1e-4)


def test_mutable_index_remove_forgets_postings() -> None:
    index: SearchIndex[Command] = SearchIndex()
    c = COMMANDS[0]
    index.add(c.id, c, document_features(c.name, c.aliases, c.description))
    assert index.df("n:trim") == 1
    assert index.remove(c.id) and not index.remove(c.id)
    assert index.df("n:trim") == 0 and len(index) == 0


def test_everyday_command_wins_a_tie_with_an_extension() -> None:
    commands = lib(("EXPLODE", "分解：炸开块", "X", "basic"), ("XPLODE2", "分解：炸开块", "", "lisp"))
    assert rank([build_index(commands)], "炸开块")[0] == "EXPLODE"


def test_user_programs_join_and_leave_retrieval(small_library: Path) -> None:
    store = LibraryStore(LibrarySources(files=(small_library,)))
    store.load_sync()
    catalog = Catalog(store)
    program = Command(
        name="DRAWSTAIR",
        description="画楼梯踏步：按踏步数自动生成楼梯",
        type="user_program",
        source="user_codes",
        id=7,
    )
    assert all(h.entry.name != "DRAWSTAIR" for h in catalog.search("画楼梯", 5))
    catalog.put_user_program(program)
    assert catalog.search("画楼梯", 5)[0].entry.name == "DRAWSTAIR"
    assert len(catalog) == len(store.current.commands) + 1
    assert catalog.remove_user_program(7)
    assert all(h.entry.name != "DRAWSTAIR" for h in catalog.search("画楼梯", 5))


# ---- pinyin-typo tolerance ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("syllable", "folded"),
    [("zhen", "zen"), ("chong", "cong"), ("shen", "sen"), ("nan", "lan"), ("bang", "ban"), ("feng", "fen")],
)
def test_fuzzy_pairs_of_southern_speakers_fold_together(syllable: str, folded: str) -> None:
    assert fuzzy(syllable) == folded
    assert fuzzy("ming") == fuzzy("min") and fuzzy("zi") == "zi"


def test_readings_are_toneless_and_keep_every_common_reading_of_a_polyphone() -> None:
    preload_sounds()
    assert readings("偏") == ("pian",)
    assert {"bian", "pian"} <= set(readings("便"))
    assert readings("a") == () and readings("，") == ()
    assert set(pair_keys("便", "宜")) & set(pair_keys("偏", "移"))


def test_an_exact_character_match_outranks_a_sound_alike() -> None:
    commands = lib(
        ("OFFSET", "偏移：按距离复制平行线 offset", "O", "basic"),
        ("CHEAP", "便宜：价格低的工具", "", "basic"),
        ("CIRCLE", "圆：画圆 circle", "C", "basic"),
    )
    index = build_index(commands)
    assert rank([index], "偏移")[0] == "OFFSET"
    assert rank([index], "便宜")[0] == "CHEAP"
    # without the sound-alike entry, the slip still finds the command it sounds like
    assert rank([build_index([commands[0], commands[2]])], "便宜")[0] == "OFFSET"


def test_a_typed_pair_the_corpus_knows_is_not_replaced_by_its_sound() -> None:
    grid, week = lib(("GRID", "轴网：画轴网", "", "basic"), ("WEEK", "周往", "", "basic"))
    assert rank([build_index([grid])], "周往") == ["GRID"]  # zhou-wang: a slip for 轴网
    assert rank([build_index([grid, week])], "周往") == ["WEEK"]  # a term of this corpus


def test_user_programs_are_found_by_sound_and_forgotten_on_removal() -> None:
    preload_sounds()  # the library's index does this when the service loads it
    index: SearchIndex[Command] = SearchIndex(tie_key=lambda c: c.key)
    program = lib(("ZXPY", "轴线偏移：按轴网间距偏移轴线", "", "user_program"))[0]
    index.add(program.id, program, document_features(program.name, program.aliases, program.description))
    assert rank([index], "轴线便宜") == ["ZXPY"]
    index.remove(program.id)
    assert rank([index], "轴线便宜") == []


def test_sound_alike_concepts_skip_stretches_with_particles() -> None:
    preload_sounds()
    assert "trim" in sound_concepts(normalize("把多余的线修建掉"))
    assert "isolate" not in sound_concepts(normalize("一个尺寸"))  # 个尺 is not 隔离


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    from cadchat.config import BUNDLED_LIBRARY_NAMES, bundled_library_dir

    store = LibraryStore(
        LibrarySources(files=tuple(bundled_library_dir() / n for n in BUNDLED_LIBRARY_NAMES))
    )
    store.load_sync()
    return Catalog(store)


@pytest.mark.parametrize(
    ("need", "expected"),
    [
        ("这条线便宜500", {"OFFSET"}),  # 偏移
        ("把线眼神过去", {"EXTEND"}),  # 延伸
        ("图快插进来", {"INSERT"}),  # 图块
    ],
)
def test_pinyin_slips_find_the_intended_command(bundled: Catalog, need: str, expected: set[str]) -> None:
    assert bundled.search(need, 1)[0].entry.name in expected


def test_a_pinyin_slip_ranks_the_command_family_near_the_top(bundled: Catalog) -> None:
    assert "ARRAY" in [h.entry.name for h in bundled.search("真列十个", 3)]  # 阵列


# ---- near neighbours ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "expected"),
    [
        ("给区域填充图案", "HATCH"),  # not the Express SUPERHATCH: nothing only it does is named
        ("用图片当填充图案", "SUPERHATCH"),  # ... unless the need names it
        ("两个实体合并成一个", "UNION"),  # the object decides between JOIN and UNION
        ("两条线合并成一条", "JOIN"),
        ("merge two solids", "UNION"),
        ("join two lines into one", "JOIN"),
        ("bevel this corner", "CHAMFER"),
        ("round the corner", "FILLET"),
        ("把块炸开", "EXPLODE"),
        ("炸开块但保留属性值", "BURST"),  # EXPLODE's "保留属性文字用BURST" is about BURST
        ("bevel this corner instead of rounding it", "CHAMFER"),  # the contrast is not the need
        ("加长到指定总长度", "LENGTHEN"),  # EXTEND's "指定长度用LENGTHEN" is about LENGTHEN
    ],
)
def test_near_neighbours_are_told_apart(bundled: Catalog, need: str, expected: str) -> None:
    assert bundled.search(need, 1)[0].entry.name == expected


@pytest.mark.parametrize(
    ("need", "expected"),
    [
        ("save as", "SAVEAS"),  # two words, one name
        ("line weight", "LWEIGHT"),  # a short form of a word, then a word
        ("continue dimension", "DIMCONTINUE"),  # in either order
        ("user coordinate system", "UCS"),  # initials
    ],
)
def test_english_words_that_spell_a_command_name_find_it(bundled: Catalog, need: str, expected: str) -> None:
    assert bundled.search(need, 1)[0].entry.name == expected


def test_compound_names_are_short_forms_not_inflections_or_stop_words() -> None:
    assert compound_names(["save", "as"])["saveas"] == 1.0
    assert "dimcontinue" in compound_names(["continue", "dimension"])
    assert "ucs" in compound_names(["user", "coordinate", "system"])
    assert "regen" in compound_names(["regenerate"])
    assert "point" not in compound_names(["pointing"])  # an inflection, not a short form
    sentence = compound_names(["put", "a", "line", "of", "text", "saying", "a", "a"])
    assert "aa" not in sentence and "puta" not in sentence


def test_contrast_clauses_are_dropped_from_a_need() -> None:
    assert drop_contrast("bevel this corner instead of rounding it").split() == ["bevel", "this", "corner"]
    assert "改坐标" not in drop_contrast(normalize("拖回来看看，不要改坐标"))
    # a negation that opens no clause is part of the need: unwanted lines, text that must stay
    assert drop_contrast("不要的线删掉") == "不要的线删掉"
    assert drop_contrast(normalize("炸开块，属性文字别没了")) == normalize("炸开块，属性文字别没了")
    assert drop_contrast("pan without moving anything").split() == ["pan"]
    assert "extend" not in drop_contrast("make it longer, there is nothing to extend it to")
    assert drop_contrast("snap is not grabbing endpoints") == "snap is not grabbing endpoints"


def test_english_verbs_are_read_with_their_particle() -> None:
    assert read_phrasal_verbs("turn this profile into a solid") == "convert this profile into a solid"
    assert read_phrasal_verbs("break this block back into lines") == "explode this block back into lines"
    assert read_phrasal_verbs("break it apart") == "explode it apart"
    assert read_phrasal_verbs("turn the block 45 degrees") == "turn the block 45 degrees"
    assert read_phrasal_verbs("break this line at the corner") == "break this line at the corner"
    assert "rotate" not in concepts("", words(read_phrasal_verbs("turn the lines into a polyline")))


def test_clauses_about_other_commands_are_not_the_commands_own_words() -> None:
    description = "分解：把块炸成基本对象（炸开块；保留属性文字用BURST）explode"
    assert own_text(description) == "分解：把块炸成基本对象（炸开块；）explode"
    features = document_features("EXPLODE", ("X",), description)
    assert "保留" not in features and "属性" not in features and "c:explode" in features


def test_concepts_only_the_explanation_mentions_weigh_less_than_named_ones() -> None:
    features = document_features("XLINE", ("XL",), "构造线：绘制两端无限延伸的直线（无限长线、辅助线）xline")
    assert 0 < features["c:extend"] < features["c:construction"]


def test_a_legacy_command_ranks_below_its_successor_on_an_equal_match() -> None:
    old, new = lib(
        ("OLDCMD", "图层工具：旧式命令，管理图层", "O", "basic"),
        ("NEWCMD", "图层工具：管理图层", "N", "basic"),
    )
    assert command_prior(old) < command_prior(new)
    assert rank([build_index([old, new])], "图层工具")[0] == "NEWCMD"


def test_numbers_join_the_characters_around_them_and_units_name_concepts() -> None:
    assert grams_across_numbers(runs("排成4行6列")) == ["成行", "行列"]
    assert "行列" in analyze_query("柱子4行6列").features
    assert "area" in concepts(normalize("这个房间多少平方"), [])
    assert "query" not in concepts(normalize("再加长多少"), [])  # 多少 asks, it does not inquire


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("往后标到每根线", {"dimension"}),  # after a direction, before a complement
        ("整张图往右挪2000", {"move"}),  # before an amount
        ("这个平面要转90度", {"rotate"}),
        ("剪掉", {"trim"}),  # first
        ("连着往后标，一个接一个", {"dimension"}),  # the last word of its clause
        ("往右转", {"rotate"}),
        ("转pdf", set()),  # a word, not the clause's end, follows
        ("坐标在原点", set()),  # 标 of 坐标 is no verb
        ("转换成pdf", set()),  # nor 转 of 转换
        ("标高", set()),
    ],
)
def test_one_verb_character_says_an_operation_only_as_a_verb(text: str, expected: set[str]) -> None:
    assert verb_concepts(normalize(text)) == expected


def test_a_concept_the_official_name_says_decides_a_tie() -> None:
    move = document_features("MOVE", ("M",), "移动：把对象移到另一个位置（挪动）move")
    text_move = document_features("DIMTEDIT", (), "编辑标注文字：移动标注文字（标注数字挪位置）dimtedit")
    assert move["c:move"] > text_move["c:move"]
    index = build_index(
        lib(("DIMTEDIT", "编辑标注文字：标注数字挪位置", "", "basic"), ("MOVE", "移动：挪动", "M", "basic"))
    )
    assert search([index], analyze_query("门往左挪300"), 2, lambda c: c.key)[0].entry.name == "MOVE"


def test_a_distance_the_need_dimensions_is_no_inquiry() -> None:
    assert (
        "c:distance" not in analyze_query("put a dimension showing the distance between the columns").features
    )
    assert "c:distance" not in analyze_query("标一下两个孔的距离").features
    assert "c:distance" in analyze_query("两点距离是多少").features


def test_action_and_object_pair_is_a_feature_of_both_sides() -> None:
    assert concept_pairs({"join", "solid3d"}) == ["cp:join+solid3d"]
    assert "cp:join+solid3d" in analyze_query("两个实体合并成一个").features
    assert "cp:join+solid3d" in document_features("UNION", (), "并集：把多个实体合并为一个 union")


# ---- the labelled sets (benchmarks/retrieval_eval.py prints the same numbers) --------------


@pytest.mark.parametrize(
    ("label", "min_hit1", "min_hit3"),
    [("dev", 0.87, 0.96), ("holdout", 0.85, 0.95), ("blind", 0.90, 0.96), ("blind typo", 0.90, 0.96)],
)
def test_labelled_sets_stay_at_their_measured_level(
    bundled: Catalog, label: str, min_hit1: float, min_hit3: float
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import retrieval_eval

    _, path, kind = next(s for s in retrieval_eval.SETS if s[0] == label)
    report = retrieval_eval.evaluate(bundled, retrieval_eval.read_cases(path, kind))
    assert not report.unknown_labels
    assert report.hit1 >= min_hit1 and report.hit3 >= min_hit3, (report.hit1, report.hit3)
