"""Names a learner supplied (class names, file names, zip entries, folder names) shown as text, never as markup.

Streamlit reads Markdown (and its own ``:red[...]``, ``$...$`` and ``:emoji:`` extensions) in ``st.markdown``,
alerts, captions and image captions, widget labels, radio, pills and segmented-control options: a class name
holding ``![x](http://...)`` would make the browser fetch that URL. ``plain()`` is the one place such a name
becomes safe to put into any of them.

No well-kept library escapes for Streamlit's Markdown (``html.escape`` leaves ``[`` and ``!``; Markdown
libraries render rather than escape), and CommonMark's own rule makes it short: a backslash before any ASCII
punctuation character shows that character literally (spec section 2.4). GitHub-flavoured Markdown also turns a
bare ``http://``, ``www.`` or e-mail address in plain text into a link after escapes are resolved (seen in
Chromium): an invisible word joiner (U+2060) inside ``http:``, ``www.`` and after ``@`` stops that.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")  # a line break would start a new Markdown block
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=:)|(?<=http)(?=:)|(?<=ftp)(?=:)|(?<=www)(?=\.)|(?<=@)")
WORD_JOINER = "\u2060"


def plain(name: object) -> str:
    """``name`` as literal text inside Markdown: every ASCII punctuation mark escaped, line breaks made spaces,
    and web and e-mail addresses kept from becoming links."""
    text = _AUTOLINK.sub(WORD_JOINER, _BREAKS.sub(" ", str(name)))
    return _PUNCTUATION.sub(r"\\\1", text)
