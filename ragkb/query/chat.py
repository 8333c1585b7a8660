"""Conversation state: history and follow-up rewriting. No terminal I/O here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ragkb.language import keyword_tokens
from ragkb.query.prompting import Turn

# Words that make a question lean on the previous one.
_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|they|them|their|this|that|these|those|he|she|his|her|one|ones)\b"
    r"|^\s*(and|also|what about|how about|but|so|then)\b"
    r"|[它其该此]|这个|那个|这些|那些|^\s*(那|还有|另外|然后)",
    re.IGNORECASE,
)
MAX_REWRITE_TOKENS = 48
# A rewrite only puts the subject back: it may bring at most this many words that neither the
# previous query nor the question has. A small model copies its last answer instead ("The
# inverter is designed to operate between -25 and 60 degrees ...", a new-user trial).
MAX_NEW_REWRITE_WORDS = 2
_FILLER = frozenset({"about", "also", "more", "else", "还有", "另外", "然后", "呢"})

Rewrite = Callable[[list[Turn], str], str]


def is_follow_up(question: str) -> bool:
    """Return whether QUESTION refers back to the conversation."""
    return bool(_FOLLOW_UP.search(question)) or len(keyword_tokens(question)) <= 2


@dataclass(slots=True)
class ChatSession:
    """The turns of one conversation and the standalone query of the latest question."""

    history: list[Turn] = field(default_factory=list)
    last_query: str | None = None

    def standalone_query(
        self,
        question: str,
        rewrite: Rewrite | None = None,
        *,
        stands_alone: Callable[[str], bool] | None = None,
    ) -> str:
        """Return a retrieval query for QUESTION that stands on its own.

        A follow-up is rewritten by the model when it can; the rewrite is kept only if it
        still names something from the previous question and adds little of its own, else
        the previous query is prepended, so retrieval never loses the subject. A short
        question with no word that points back may name a new subject of its own ("What is
        HNSW?", 向量检索是什么？): when STANDS_ALONE says it finds an answer by itself, it is
        taken as it is.
        """
        if not self.history or not is_follow_up(question):
            return question
        if stands_alone is not None and not _FOLLOW_UP.search(question) and stands_alone(question):
            return question
        previous = self.last_query or self.history[-1].question
        if rewrite is not None:
            candidate = rewrite(self.history, question).strip().splitlines()
            text = candidate[0].strip().strip('"').strip() if candidate else ""
            subject = set(keyword_tokens(previous))
            # Words that point back (它, 它们, 该) are what a rewrite replaces: not required.
            asked = {
                w for w in keyword_tokens(question) if w not in _FILLER and not _FOLLOW_UP.search(w)
            }
            got = set(keyword_tokens(text))
            added = got - subject - set(keyword_tokens(question))
            # Keep the rewrite only if it names the subject, keeps everything asked now and
            # adds next to nothing.
            if (
                text
                and subject & got
                and asked <= got
                and len(added) <= MAX_NEW_REWRITE_WORDS
                and len(text) < 400
            ):
                return text
        return f"{previous} {question}"

    def add(self, question: str, answer: str, query: str) -> None:
        """Remember a finished turn."""
        self.history.append(Turn(question, answer))
        self.last_query = query

    def reset(self) -> None:
        """Forget the conversation."""
        self.history.clear()
        self.last_query = None
