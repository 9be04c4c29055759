"""Names a learner supplied (class names, file names, zip entries, folder names) shown as text, never as markup.

Streamlit reads Markdown (and its own ``:red[...]``, ``$...$`` and ``:emoji:`` extensions) in ``st.markdown``,
alerts, captions, widget labels and radio options: a class name holding ``![x](http://...)`` would make the
browser fetch that URL. ``plain()`` is the one place such a name becomes safe to put into any of them.

No well-kept library escapes for Streamlit's Markdown (``html.escape`` leaves ``[`` and ``!``; Markdown
libraries render rather than escape), and CommonMark's own rule makes it short: a backslash before any ASCII
punctuation character shows that character literally (spec section 2.4).
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")  # a line break would start a new Markdown block


def plain(name: object) -> str:
    """``name`` as literal text inside Markdown: every ASCII punctuation mark escaped, line breaks made spaces."""
    return _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(name)))
