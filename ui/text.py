"""Names a learner supplied (class names, file names, zip entries, folder names) shown as text, never as markup.

Streamlit reads Markdown (and its own ``:red[...]``, ``$...$`` and ``:emoji:`` extensions) in ``st.markdown``,
alerts, captions and image captions, widget labels, radio, pills and segmented-control options: a class name
holding ``![x](http://...)`` would make the browser fetch that URL. ``plain()`` is the one place such a name
becomes safe to put into any of them.

No well-kept library escapes for Streamlit's Markdown (``html.escape`` leaves ``[`` and ``!``; Markdown
libraries render rather than escape), and CommonMark's own rule makes it short: a backslash before an ASCII
punctuation character shows that character literally (spec section 2.4). GitHub-flavoured Markdown also turns a
bare ``http://``, ``www.`` or e-mail address in plain text into a link after escapes are resolved (seen in
Chromium): an invisible word joiner (U+2060) inside ``http:``, ``www.`` and after ``@`` stops that.
"""

from __future__ import annotations

import html
import re

# Every character that starts Markdown inside a line (CommonMark's inline syntax, GFM's tables and
# strike-through, Streamlit's $maths$ and :colour[...]); . , / - ( ) stay as they are, so file names read as typed
# (without a [ a "(...)" is no link); a leading list, heading or quote marker is escaped below.
_INLINE = re.compile(r"""([\\`*_\[\]!<>&|~$:#{}])""")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])")
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")  # a line break would start a new Markdown block
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=:)|(?<=http)(?=:)|(?<=ftp)(?=:)|(?<=www)(?=\.)|(?<=@)")
WORD_JOINER = "\u2060"


def plain(name: object) -> str:
    """``name`` as literal text inside Markdown: the marks that start Markdown escaped, line breaks made spaces,
    and web and e-mail addresses kept from becoming links."""
    text = _INLINE.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, _BREAKS.sub(" ", str(name))))
    return _LINE_START.sub(lambda found: found[1] + found[2][:-1] + "\\" + found[2][-1], text)


def chart_text(name: object) -> str:
    """``name`` as literal text in a Plotly label: Plotly reads ``<a href>``, ``<b>``, ``<br>`` and entities there,
    so the name's own ``<``, ``>`` and ``&`` become entities (shown as typed)."""
    return html.escape(str(name), quote=False)
