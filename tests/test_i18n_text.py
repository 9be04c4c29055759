"""The one "no English left on a Chinese page" check (tests/i18n_text.py) that every language test uses."""

from tests.i18n_text import chinese_left, english_left


def test_it_catches_an_english_sentence_a_half_translated_one_and_a_latin_only_label():
    texts = ["Validation accuracy", "训练 the head on top", "Run the attack now", "Target", "验证准确率", "攻击"]
    assert english_left(texts) == ["Validation accuracy", "训练 the head on top", "Run the attack now", "Target"]


def test_it_catches_words_that_merely_contain_lab():
    """The old transfer check skipped any text matching ``.*lab.*``: "Labels" and "available" hid there."""
    assert english_left(["Labels", "Not available offline"]) == ["Labels", "Not available offline"]


def test_proper_names_file_names_code_and_units_may_stay():
    texts = ["EfficientNet-Lite0 的嵌入", "Bengal_12.jpg · 真实：猫", "5 MB", "用 PGD 让网络把照片认成暹罗猫",
             "ε 4：50%", "然后调用 `model.predict(pixels)`", "ε（像素最多改动的级数，L∞）", "FGSM",
             "EfficientNet-Lite2", "兰伯格犬（Oxford-IIIT Pet, CC BY-SA）", "%{y}：%{x:.0%}<extra></extra>", "English"]
    assert english_left(texts) == []


def test_an_english_page_may_name_only_the_language_switch_in_chinese():
    assert chinese_left(["语言 / Language", "中文", "Top 5 ImageNet classes", "前 5 个"]) == ["前 5 个"]
