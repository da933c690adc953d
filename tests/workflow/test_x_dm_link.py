"""The X DM link survives X's autolinker whole: the prefilled text keeps its last character."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from escalate.testing import FakeClock, RecordingPublisher
from escalate.workflow import x_dm_link
from tests.conftest import make_thread
from tests.workflow.conftest import MakeEsc

# twitter-text's validUrlQueryChars and validUrlQueryEndingChars: a link's query
# runs over the first set and ends on the last character of the second.
_QUERY = re.compile(r"\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/]", re.I)

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)


def linked_query(sentence: str) -> str:
    """The query of the first link X would make of ``sentence``."""
    match = _QUERY.search(sentence)
    assert match is not None
    return match.group()


@given(texts)
def test_the_whole_link_is_linked_and_gives_the_text_back(text: str) -> None:
    """In a reply, "(link) with..." links the whole query, which decodes to the text exactly."""
    link = x_dm_link("783214", text)
    query = urlsplit(link).query
    assert linked_query(f"send us a DM ({link}) with the best phone") == f"?{query}"
    assert "+" not in link  # a space is %20: no reader can take it for a plus
    assert parse_qs(query, keep_blank_values=True) == {
        "recipient_id": ["783214"],
        "text": [text],
    }


def test_the_default_prefill_keeps_its_trailing_space(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """ "you can reach me at " ends in a space, so the number typed after it stands apart."""
    handoff = make_esc(x_recipient_id="783214").open(make_thread(clock))
    query = linked_query(publisher.replies[0].text)
    (prefill,) = parse_qs(query[1:])["text"]
    assert prefill == f"Case {handoff.reference}: you can reach me at "
