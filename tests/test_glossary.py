"""The Chinese interface speaks the lesson's language: one term per concept, the one lesson-zh.md uses.

Wherever an English entry names a concept of the glossary (the catalogues' ``[term]`` table), its Chinese
entry must use that concept's term; variants a translator might reach for instead are refused everywhere.
"""

import json
import re

from core.models.class_names import ASSETS
from ui.i18n import catalogue

# The English words that name each glossary concept, as they appear in the English catalogue.
CONCEPTS = {
    "term.transfer_learning": r"transfer learning",
    "term.pretrained_model": r"pretrained (model|network)",
    "term.feature_extractor": r"feature extractor",
    "term.feature_map": r"feature maps?\b",
    "term.classifier": r"\bclassifier\b",
    "term.fine_tuning": r"fine-?tun",
    "term.adversarial_attack": r"adversarial attack",
    "term.accuracy": r"\baccuracy\b",
    "term.epoch": r"\bepochs?\b",
    "term.validation_set": r"validation (set|photos)",
    "term.backbone": r"\bbackbones?\b",
    "term.camera": r"\bcamera\b",
    "term.centre_crop": r"centre[- ]crop",
    "term.total_variation": r"total variation",
    "term.computer": r"\bcomputer\b",
    "term.press": r"\bpress\b",
}
# Counting forms of a term that read naturally in a sentence ("第 2 轮" for epoch 2).
COUNTING_FORMS = {"term.epoch": ("轮",)}
# Oxford-IIIT Pet breeds that ImageNet names differently (lower-case ImageNet names).
SAME_BREED = {"leonberger": "leonberg", "wheaten_terrier": "soft-coated wheaten terrier",
              "japanese_chin": "japanese spaniel", "scottish_terrier": "scotch terrier",
              "staffordshire_bull_terrier": "staffordshire bullterrier", "basset_hound": "basset",
              "german_shorthaired": "german short-haired pointer", "Persian": "persian cat",
              "Siamese": "siamese cat"}
# Words for the same concepts that the lesson does not use.
VARIANTS = ("转移学习", "迁移训练", "预先训练", "精调", "微调整", "对抗攻击", "敌对", "准确度", "精确率", "纪元",
            "时期", "时代", "特征映射", "特征抽取", "骨干网络",
            "相机", "视角", "居中裁剪", "计算机", "按下", "按**", "训练精度")


def test_each_concept_is_named_by_the_lessons_term_in_chinese():
    english, chinese = catalogue("en"), catalogue("zh")
    misses = {}
    for term_key, pattern in CONCEPTS.items():
        forms = (chinese[term_key], *COUNTING_FORMS.get(term_key, ()))
        for key, text in english.items():
            if key.startswith("term.") or not re.search(pattern, text, re.IGNORECASE):
                continue
            if not any(form in chinese[key] for form in forms):
                misses[key] = f"{text!r} -> {chinese[key]!r} lacks {forms[0]}"
    assert misses == {}


def test_no_entry_uses_a_word_the_lesson_does_not():
    found = {key: text for key, text in catalogue("zh").items() for word in VARIANTS
             if word in text.replace("对抗性攻击", "")}
    assert found == {}


def test_the_glossary_is_the_lessons():
    chinese = catalogue("zh")
    assert chinese["term.transfer_learning"] == "迁移学习"
    assert chinese["term.adversarial_attack"] == "对抗性攻击"  # lesson-zh.md's word, not 对抗攻击
    assert chinese["term.feature_extractor"] == "特征提取器"
    assert chinese["term.pretrained_model"] == "预训练模型"
    assert chinese["term.backbone"] == "主干网络"
    assert chinese["term.camera"] == "摄像头"
    assert chinese["term.centre_crop"] == "中心裁剪"
    assert chinese["term.total_variation"] == "总变差"
    assert chinese["term.computer"] == "电脑"
    assert chinese["term.press"] == "点击"


def test_the_lessons_feature_extractor_is_said_where_the_lab_teaches_it():
    chinese = catalogue("zh")
    assert "特征提取器" in chinese["transfer.intro"]
    assert "变化损失" in chinese["ideal.total_variation"]  # the lesson's name, beside the usual one


def test_a_dog_breed_has_one_chinese_name_in_both_class_lists():
    """The breeds that are also ImageNet classes read the same on every page (Leonberger, wheaten terrier...)."""
    imagenet = {row["name"].lower(): row["zh"] for row in json.loads(
        (ASSETS / "imagenet_classes_zh.json").read_text(encoding="utf-8"))}
    breeds = json.loads((ASSETS / "pet_breeds_zh.json").read_text(encoding="utf-8"))
    same_breed = {name: name.replace("_", " ") for name in breeds} | SAME_BREED
    differ = {breed: (breeds[breed], imagenet[name]) for breed, name in same_breed.items()
              if name in imagenet and breeds[breed] != imagenet[name]}
    assert differ == {}
    assert catalogue("zh")["widgets.sample_leonberger"] == breeds["leonberger"]
