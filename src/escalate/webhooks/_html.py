"""The text of an HTML email body, read in time linear in its length.

Anyone can email the parse address, and SendGrid posts up to 30 MB of HTML.
The stdlib's ``HTMLParser`` re-reads the rest of the document for every
construct left unterminated (``"<!--" * n``, ``"<a "`` * n, ``'<a b="'`` * n,
``"<!"``, ``"<?"``...): 160 KB of ``<!--`` took 14 s on 3.11, and its later
releases fix some shapes and not others. So the tokenizer is ours: the one
``HTMLParser`` of CPython 3.11 runs (``feed`` then ``close``, ``convert_charrefs``),
with the same regular expressions, in one pass that never reads a stretch twice:

- the terminator of a construct (``>``, ``-->``, ``]]>``, ``</script>``...) is
  looked for once per pattern and remembered: a search from a later position
  reuses the answer while it is still ahead (none found stays none found);
- a construct without its terminator is text up to the next ``>`` (or the next
  ``<`` when no ``>`` follows), as ``HTMLParser.close`` reads it; a start tag
  whose attributes ran past that ``>`` (a ``>`` inside a quoted value, then a
  quote never closed) is text up to where its attributes ended, never re-read.

On any document whose constructs are terminated (every real mail client's
output) the text is the one ``HTMLParser`` gives; ``tests/webhooks/test_html.py``
checks that on generated HTML. Where ``HTMLParser`` 3.11 raised ``AssertionError``
(``<![`` without a known keyword) the construct is a bogus comment, as HTML has
it, and a decimal character reference too long for ``int`` is U+FFFD, as any
out-of-range one is.

At most ``MAX_HTML_CHARS`` of a body are read: see ``html_text``.
"""

from __future__ import annotations

import re
from html import unescape

__all__ = ["MAX_HTML_CHARS", "html_text"]

#: How much of an HTML body is read (characters): the reply's own words sit at its
#: top, under a head of a few KB of style (Outlook's: up to ~100 KB); the rest is
#: the quoted thread, which ``strip_quoted`` cuts anyway. Reading this much takes
#: under a second whatever the markup. What lies after it is not
#: read, and the cut never makes text the customer did not write (``html_text``).
MAX_HTML_CHARS = 1_000_000

# HTMLParser's own expressions (CPython 3.11, html/parser.py and _markupbase.py).
_START_TAG_OPEN = re.compile(r"<[a-zA-Z]")
#: Where HTMLParser sees markup: any other "<" is text, and never inside an entity.
_MARKUP = re.compile(r"<[a-zA-Z/!?]")
#: A start tag without attributes, the most common markup: read in one match.
_PLAIN_START_TAG = re.compile(r"<([a-zA-Z][^\t\n\r\f />\x00]*)>")
_TAG_FIND = re.compile(r"([a-zA-Z][^\t\n\r\f />\x00]*)(?:\s|/(?!>))*")
_ATTR_FIND = re.compile(
    r'((?<=[\'"\s/])[^\s/>][^\s/=>]*)(\s*=+\s*'
    r'(\'[^\']*\'|"[^"]*"|(?![\'"])[^>\s]*))?(?:\s|/(?!>))*'
)
_START_TAG_END = re.compile(
    r"""
  <[a-zA-Z][^\t\n\r\f />\x00]*
  (?:[\s/]*
    (?:(?<=['"\s/])[^\s/>][^\s/=>]*
      (?:\s*=+\s*
        (?:'[^']*'
          |"[^"]*"
          |(?!['"])[^>\s]*
         )
        \s*
       )?(?:\s|/(?!>))*
     )*
   )?
  \s*
""",
    re.VERBOSE,
)
_END_TAG_FIND = re.compile(r"</\s*([a-zA-Z][-.a-zA-Z0-9:_]*)\s*>")
_DECL_NAME = re.compile(r"[a-zA-Z][-_.a-zA-Z0-9]*\s*")
_GT = re.compile(">")
#: Where a tag name ends (``_TAG_FIND``'s name).
_NAME_END = re.compile(r"[\t\n\r\f />\x00]")
_COMMENT_CLOSE = re.compile(r"--\s*>")
_MARKED_CLOSE = re.compile(r"]\s*]\s*>")
_MS_MARKED_CLOSE = re.compile(r"]\s*>")
_CDATA_ENDS = {name: re.compile(rf"</\s*{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
_MARKED = frozenset({"temp", "cdata", "ignore", "include", "rcdata"})
_MS_MARKED = frozenset({"if", "else", "endif"})
_INCOMPLETE_NEXT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ=/")
#: ``int`` refuses (or, with the limit lifted, takes quadratic time on) a long
#: decimal; eight significant digits are past U+10FFFF, which ``unescape`` reads
#: as U+FFFD.
_LONG_DECIMAL = re.compile(r"&#0*[0-9]{8,};?")


def _shorten(match: re.Match[str]) -> str:
    digits = match.group()[2:].rstrip(";").lstrip("0")
    if len(digits) >= 8:
        return "\ufffd"  # unescape takes the ";" with the reference: so does this
    return "&#" + (digits or "0") + (";" if match.group().endswith(";") else "")


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    if "&#" in text:
        text = _LONG_DECIMAL.sub(_shorten, text)
    return unescape(text)


class _Finder:
    """The first match of one terminator at or after a position, remembered.

    A match found from ``start`` is the first at or after any later position
    up to it, and no match from ``start`` means none from anywhere after: each
    stretch of the document is searched once, whatever asks.
    """

    def __init__(self, text: str, pattern: re.Pattern[str]) -> None:
        self.text = text
        self.pattern = pattern
        self.start = len(text) + 1
        self.match: re.Match[str] | None = None

    def at_or_after(self, position: int) -> re.Match[str] | None:
        if not (self.start <= position and (self.match is None or self.match.start() >= position)):
            self.start = position
            self.match = self.pattern.search(self.text, position)
        return self.match


class _Reader:
    """One pass over a document: ``HTMLParser``'s tokens, ``_Text``'s handling of them.

    The text keeps data, drops tags, and skips quoted replies (``<blockquote>``)
    and non-text elements. The head ends at ``</head>`` or at ``<body>``: HTML lets
    a page leave its ``</head>`` out (and a ``<title>`` unclosed there), and the
    reply after it must not be read as part of the head.
    """

    _SKIP = frozenset({"blockquote", "script", "style", "title"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3"})

    def __init__(self, text: str, *, cut: bool = False) -> None:
        self.text = text
        self.cut = cut  # ``text`` is the head of a longer body: what it leaves open is dropped
        self.parts: list[str] = []
        self.open: dict[str, int] = dict.fromkeys(self._SKIP, 0)
        self.skipping = 0  # the open counts' sum, plus one while in the head
        self.in_head = False
        self.cdata: str | None = None  # inside <script> or <style>: only its end tag counts
        self.gt = _Finder(text, _GT)
        self.finders: dict[re.Pattern[str], _Finder] = {}

    def finder(self, pattern: re.Pattern[str]) -> _Finder:
        found = self.finders.get(pattern)
        if found is None:
            found = self.finders[pattern] = _Finder(self.text, pattern)
        return found

    def find(self, pattern: re.Pattern[str], position: int) -> re.Match[str] | None:
        return self.finder(pattern).at_or_after(position)

    # -- what the text keeps (``_Text``'s handlers) --

    def data(self, data: str, *, escaped: bool = True) -> None:
        if not self.skipping:
            self.parts.append(_unescape(data) if escaped else data)

    def start(self, tag: str) -> None:
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head = False
            self.open["title"] = 0  # a title left open in the head ends with it
        elif tag in self._SKIP:
            self.open[tag] += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")
            return
        self.skipping = self.in_head + sum(self.open.values())

    def end(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        elif tag in self._SKIP:
            self.open[tag] = max(0, self.open[tag] - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")
            return
        self.skipping = self.in_head + sum(self.open.values())

    # -- the tokenizer (``HTMLParser.goahead``, the whole document at once) --

    def run(self) -> None:
        text, n, i = self.text, len(self.text), 0
        while i < n:
            if self.cdata is None:
                markup = _MARKUP.search(text, i)
                j = n if markup is None else markup.start()
            else:
                match = self.find(_CDATA_ENDS[self.cdata], i)
                if match is None:
                    return  # an unclosed <script> or <style> holds the rest
                j = match.start()
            if i < j:
                self.data(text[i:j], escaped=self.cdata is None)
            i = j
            if i == n:
                return
            k, scanned = self.construct(i)
            if k < 0 and self.cut:
                return  # its end may lie past the cut: never read its inside as text
            if k < 0:
                # Unterminated: text up to the next ">", as HTMLParser.close has
                # it, but never back inside what was scanned. With no ">" left no
                # markup can end, and the rest is text (HTMLParser went from "<"
                # to "<" there, re-reading the rest from each one).
                gt = self.gt.at_or_after(i + 1)
                if gt is None:
                    self.rest_as_text(i)
                    return
                k = max(gt.end(), scanned)
                self.data(text[i:k])
            i = k
        if i < n and self.cdata is None:
            self.data(text[i:])

    def rest_as_text(self, i: int) -> None:
        """The rest from ``i``, where no ``>`` is left: no markup can end, all is text.

        Text as HTMLParser gives it there: unescaped, but for a start tag whose
        name runs into a NUL (``<a\\x00``), which it gives as it came.
        """
        text, start = self.text, i
        name_ends = self.finder(_NAME_END)
        while (tag := _START_TAG_OPEN.search(text, i)) is not None:
            i = tag.start() + 1
            name_end = name_ends.at_or_after(i + 1)
            # After a quote, HTMLParser reads the NUL as an attribute's name, and on.
            if (
                name_end is not None
                and name_end.group() == "\x00"
                and text[name_end.start() - 1] not in "'\""
            ):
                self.data(text[start : tag.start()])
                self.data(text[tag.start() : name_end.start()], escaped=False)
                start = i = name_end.start()
        self.data(text[start:])

    def construct(self, i: int) -> tuple[int, int]:
        """Read the markup at ``i`` (``_MARKUP``): where it ends (-1: unterminated),
        and how far its reading looked."""
        text = self.text
        plain = _PLAIN_START_TAG.match(text, i)
        if plain is not None:
            tag = plain.group(1).lower()
            self.start(tag)
            if tag in _CDATA_ENDS:
                self.cdata = tag
            return plain.end(), plain.end()
        if _START_TAG_OPEN.match(text, i):
            return self.start_tag(i)
        if text.startswith("</", i):
            return self.end_tag(i), i
        if text.startswith("<!--", i):
            match = self.find(_COMMENT_CLOSE, i + 4)
            return (match.end() if match else -1), i
        if text.startswith("<?", i):
            match = self.gt.at_or_after(i + 2)
            return (match.end() if match else -1), i
        return self.declaration(i), i

    def start_tag(self, i: int) -> tuple[int, int]:
        text = self.text
        located = _START_TAG_END.match(text, i)
        assert located is not None  # the pattern matches any "<" + letter
        j = located.end()
        following = text[j : j + 1]
        if following == ">":
            endpos = j + 1
        elif text.startswith("/>", j):
            endpos = j + 2
        elif following == "" or following in _INCOMPLETE_NEXT:
            return -1, j
        else:
            endpos = j  # bogus: HTMLParser gives it as text, unescaped
        name = _TAG_FIND.match(text, i + 1)
        assert name is not None
        k = name.end()
        tag = name.group(1).lower()
        while k < endpos:
            attribute = _ATTR_FIND.match(text, k)
            if attribute is None:
                break
            k = attribute.end()
        rest = text[k:endpos].strip()
        if rest not in (">", "/>"):
            self.data(text[i:endpos], escaped=False)
        elif rest.endswith("/>"):
            self.start(tag)
            self.end(tag)
        else:
            self.start(tag)
            if tag in _CDATA_ENDS:
                self.cdata = tag
        return endpos, endpos

    def end_tag(self, i: int) -> int:
        text = self.text
        gt = self.gt.at_or_after(i + 1)
        if gt is None:
            return -1
        gtpos = gt.end()
        match = _END_TAG_FIND.match(text, i)
        if match is None:
            if self.cdata is not None:
                self.data(text[i:gtpos], escaped=False)
                return gtpos
            name = _TAG_FIND.match(text, i + 2)
            if name is None:
                return i + 3 if text.startswith("</>", i) else self.bogus_comment(i)
            # HTMLParser looks for ">" again after the name: the name stops before
            # any ">", so it is the one found above.
            self.end(name.group(1).lower())
            return gtpos
        tag = match.group(1).lower()
        if self.cdata is not None and tag != self.cdata:
            self.data(text[i:gtpos], escaped=False)
            return gtpos
        self.end(tag)
        self.cdata = None
        return gtpos

    def declaration(self, i: int) -> int:
        text = self.text
        if text.startswith("<![", i):
            if i + 3 == len(text):
                return -1
            name = _DECL_NAME.match(text, i + 3)
            if name is None:
                return self.bogus_comment(i)  # HTMLParser 3.11 raised AssertionError
            if name.end() == len(text):
                return -1
            keyword = name.group().strip().lower()
            if keyword in _MARKED:
                match = self.find(_MARKED_CLOSE, i + 3)
            elif keyword in _MS_MARKED:  # Outlook's <![if !supportLists]>...<![endif]>
                match = self.find(_MS_MARKED_CLOSE, i + 3)
            else:
                return self.bogus_comment(i)  # HTMLParser 3.11 raised AssertionError
            return match.end() if match else -1
        if text[i : i + 9].lower() == "<!doctype":
            match = self.gt.at_or_after(i + 9)
            return match.end() if match else -1
        return self.bogus_comment(i)

    def bogus_comment(self, i: int) -> int:
        match = self.gt.at_or_after(i + 2)
        return match.end() if match else -1


def html_text(html: str) -> str:
    """An HTML-only reply as plain text, for keyword detection: the text kept,
    the tags dropped, and every ``<blockquote>`` (where Gmail, Outlook on the web
    and Apple Mail put the earlier message) and the head left out.

    Linear in ``len(html)``. Of a longer body only the first ``MAX_HTML_CHARS``
    are read, and the text stops at the last line break they hold: markup left
    open at the cut is dropped, and so is the line the cut runs through ("STOP"
    of "STOPPED", "&not" of "&notin;" are never read).
    """
    cut = len(html) > MAX_HTML_CHARS
    reader = _Reader(html[:MAX_HTML_CHARS] if cut else html, cut=cut)
    reader.run()
    text = "".join(reader.parts)
    return text[: text.rfind("\n") + 1] if cut else text
