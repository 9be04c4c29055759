"""The learner's language: one catalogue per language in locales/, a ``t()`` helper, and the switch.

The language lives in the session (``ui.state.language``) and in the URL (``?lang=zh``), never in a
module global: one server serves learners reading different languages at once.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import streamlit as st

from ui.state import language, set_language

LOCALES = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "en"


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    """TOML sections nest; the code names entries by their dotted path, e.g. ``app.page.home``."""
    flat = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        flat.update(_flatten(value, f"{key}.") if isinstance(value, dict) else {key: value})
    return flat


@functools.lru_cache(maxsize=len(LANGUAGES))
def catalogue(lang: str) -> dict[str, str]:
    """All entries of one language, read once per process (read-only, so sharing it is safe)."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {tuple(LANGUAGES)}, got {lang!r}")
    with open(LOCALES / f"{lang}.toml", "rb") as file:
        return _flatten(tomllib.load(file))


def translate(key: str, lang: str, **params) -> str:
    """One whole sentence of ``lang`` with its named placeholders filled, e.g. ``{epochs}``.

    Plural forms are separate entries (``path.done_one_run`` / ``path.done_runs``) chosen by the caller, not
    gettext's ``ngettext`` or Babel: English needs one and many, Chinese has no plural, and a handful of entries
    does not pay for a .po/.mo toolchain beside the two TOML catalogues."""
    return catalogue(lang)[key].format(**params)


def language_from(query_lang: str | None, session_lang: str | None, locale: str | None) -> str:
    """The URL wins (a shared link), then the learner's earlier choice, then the browser's language."""
    for candidate in (query_lang, session_lang):
        if candidate in LANGUAGES:
            return candidate
    return "zh" if (locale or "").lower().startswith("zh") else DEFAULT_LANGUAGE


def current_language() -> str:
    """This session's language; also written back to the URL, which a page switch may clear."""
    lang = language_from(st.query_params.get("lang"), language(), st.context.locale)
    set_language(lang)
    if st.query_params.get("lang") != lang:
        st.query_params["lang"] = lang
    return lang


def t(key: str, **params) -> str:
    """The entry ``key`` in this session's language, placeholders filled from ``params``."""
    return translate(key, current_language(), **params)


def language_switch_ui() -> str:
    """Sidebar switch 中文 / English; a change reruns the app in the new language, keeping the session."""
    lang = current_language()
    names = list(LANGUAGES)
    chosen = st.sidebar.radio(
        "语言 / Language", names, index=names.index(lang), format_func=LANGUAGES.get, horizontal=True
    )
    if chosen != lang:
        set_language(chosen)
        st.query_params["lang"] = chosen
        st.rerun()
    if lang != "en":
        widget_words_ui()
    return lang


# Streamlit draws its file uploader's button ("Upload") and size line ("200MB per file"), and its camera's buttons
# ("Take Photo", "Clear photo", the only one with an icon), in English with no option to change them: they show
# the catalogue's words instead.
_UPLOADER_CSS = """<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {{display: none;}}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after {{content: "{button}";}}
[data-testid="stFileUploaderDropzoneInstructions"] span {{display: none;}}
[data-testid="stFileUploaderDropzoneInstructions"] div::after {{content: "{limit}"; font-size: 0.875rem;}}
[data-testid="stCameraInputButton"] {{font-size: 0;}}
[data-testid="stCameraInputButton"]::after {{content: "{take}"; font-size: 1rem;}}
[data-testid="stCameraInputButton"]:has(span, svg)::after {{content: "{clear}";}}
</style>"""


def widget_words_ui() -> None:
    """Puts this language's words on Streamlit's own widget chrome (the uploader's and the camera's)."""
    limit = t("widgets.uploader_limit", mb=st.get_option("server.maxUploadSize"))
    st.html(_UPLOADER_CSS.format(button=t("widgets.uploader_button"), limit=limit, take=t("widgets.camera_take"),
                                 clear=t("widgets.camera_clear")))


def learner_class(name: str) -> str:
    """A class of the learner's own model as they read it: a pet breed or species (the bundled pets, Oxford-IIIT
    Pet) in their language, any other name as it was typed."""
    from core.models.class_names import breed_name

    lang = current_language()
    return breed_name(name, lang) if breed_name(name, "zh") != name else name


def numbered_class(index: int, lang: str) -> str:
    """An ImageNet class as a pick list shows it: its name in ``lang`` and its index, with that language's
    brackets (a format_func runs outside the script run, so it takes ``lang`` rather than the session's)."""
    from core.models.class_names import class_name

    return translate("widgets.class_with_index", lang, name=class_name(index, lang), index=index)
