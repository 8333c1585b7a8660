"""Drop a model's echo of the prompt's question line from the start of its streamed answer."""

from __future__ import annotations

# The labels the prompts put before the question (prompting.PromptStyle.question_label).
QUESTION_LABELS = ("Question:", "问题：", "问题:")
_MAX_ECHO_CHARS = 400  # a first line longer than this is kept, whatever it starts with


class EchoFilter:
    """Hold back the start of a streamed answer until it is clear whether its first line
    repeats the question's label and question ("Question: What does ffi_prep_cif do?", as the
    bundled 135M model sometimes writes); drop that line, pass everything else through."""

    def __init__(self) -> None:
        self._buffer = ""
        self._decided = False

    def feed(self, text: str) -> str:
        """Take streamed TEXT; return what can be shown now."""
        if self._decided:
            return text
        self._buffer += text
        head = self._buffer.lstrip()
        if not head:
            return ""
        labelled = any(head.startswith(label) for label in QUESTION_LABELS)
        if not labelled and any(label.startswith(head) for label in QUESTION_LABELS):
            return ""  # "Ques": it may still become the label
        if labelled and "\n" not in head and len(head) <= _MAX_ECHO_CHARS:
            return ""  # the echoed line is not finished yet
        self._decided = True
        out, self._buffer = self._buffer, ""
        if labelled and "\n" in head:
            return head.split("\n", 1)[1].lstrip()
        return out

    def flush(self) -> str:
        """Return what is held back at the end of the stream (an answer that is only the
        echo is kept: dropping it would leave nothing to read or check)."""
        out, self._buffer, self._decided = self._buffer, "", True
        return out
