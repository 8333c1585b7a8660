"""Reset deletes a knowledge base for good, and the same object can build it again."""

from __future__ import annotations

import pytest

from ragkb.config import load_settings
from ragkb.kb import KnowledgeBase


@pytest.mark.slow
def test_reset_then_ingest_on_the_same_object_writes_a_live_store(make_text_file) -> None:
    first = make_text_file("first.md", "# First\n\nThe first file talks about apples.\n")
    second = make_text_file("second.md", "# Second\n\nThe second file talks about bananas.\n")
    kb = KnowledgeBase(load_settings({}))
    kb.ingest([str(first)])
    kb.reset()
    assert not kb.exists()
    assert kb.ingest([str(second)]).added == (str(second),)
    assert kb.search("bananas", k=1)[0].source == str(second)
    fresh = KnowledgeBase(load_settings({}))  # another process would see the same
    assert fresh.parts.vectors.count() == fresh.parts.catalog.chunk_count() > 0
    assert [h.source for h in fresh.search("apples bananas", k=5)] == [str(second)]
