"""The HTML reading escalate shipped before ``webhooks/_html.py``: the stdlib's
``HTMLParser`` with the text handler of old ``webhooks/_mail.py``, kept as the
reference the new reader must agree with (and must beat on hostile input)."""

from __future__ import annotations

from html import parser
from html.parser import HTMLParser

#: What the old ``html_text`` swallowed; ``AssertionError`` (``<![ x``) escaped it.
_SWALLOWED = (ValueError, LookupError, IndexError, AttributeError, TypeError, RecursionError)


class _Text(HTMLParser):
    _SKIP = frozenset({"blockquote", "script", "style", "title"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: dict[str, int] = dict.fromkeys(self._SKIP, 0)
        self.in_head = False
        self.rescanned = False  # see ``check_for_whole_start_tag``

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head = False
            self.open["title"] = 0
        elif tag in self._SKIP:
            self.open[tag] += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        elif tag in self._SKIP:
            self.open[tag] = max(0, self.open[tag] - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not (self.in_head or any(self.open.values())):
            self.parts.append(data)

    def check_for_whole_start_tag(self, i: int) -> int:
        """Note the one case the new reader reads differently on purpose: an
        unterminated start tag whose attributes ran past the next ``>`` (inside a
        quoted value). HTMLParser goes back to that ``>``; the new reader does not."""
        end = super().check_for_whole_start_tag(i)
        if end < 0:
            gt = self.rawdata.find(">", i + 1)
            located = parser.locatestarttagend_tolerant.match(self.rawdata, i)  # type: ignore[attr-defined]
            if gt >= 0 and located is not None and located.end() > gt + 1:
                self.rescanned = True
        return end


def old_html_text(html: str) -> tuple[str, bool]:
    """The old text of ``html``, and whether the input hit the case noted above.

    Raises:
        AssertionError: where the old code raised it (a 500 for the webhook).
    """
    reader = _Text()
    try:
        reader.feed(html)
        reader.close()
    except _SWALLOWED:
        pass
    return "".join(reader.parts), reader.rescanned
