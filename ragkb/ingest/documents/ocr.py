"""Read the text of page images (scans, photos, image-only PDF pages) offline.

Two engines: RapidOCR (PP-OCR detection and recognition models for Chinese and English,
shipped inside its wheel, run on onnxruntime; the default, chosen by bench/ocr.py) and
Debian's Tesseract (`tesseract-ocr`, `tesseract-ocr-chi-sim`), run as a program. Both work
without a network. An engine loads once per process: the parsing child keeps it.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median
from typing import TYPE_CHECKING, Any, Protocol

from ragkb.language import CJK

if TYPE_CHECKING:
    from PIL.Image import Image

ENGINES = ("rapidocr", "tesseract")
TESSERACT_LANGUAGES = ("eng", "chi_sim")
# Longest side a page is rendered or an image is read at: a poster-sized page at 200 dpi
# would otherwise need gigabytes; the recognisers work on text lines, not on the whole page.
MAX_SIDE_PX = 4000
# RapidOCR's detector keeps boxes it is this sure of; its recogniser's lines below this
# confidence are noise (specks, stamps, textures read as letters).
_MIN_LINE_SCORE = 0.5
# A gap between lines taller than this share of the median line height starts a paragraph.
_PARAGRAPH_GAP = 0.6
# Boxes whose vertical centres are closer than this share of their height are one line.
_SAME_LINE = 0.5
_CJK_CHAR = rf"[{CJK}\u3000-\u303f\uff00-\uffef]"  # with CJK punctuation and full-width forms
_CJK_EDGE_RE = re.compile(_CJK_CHAR)
_CJK_SPACE_RE = re.compile(rf"(?<={_CJK_CHAR}) +(?={_CJK_CHAR})")

log = logging.getLogger(__name__)

OnPage = Callable[[int, int], None]  # (pages read so far, pages to read) for progress


class OcrUnavailable(RuntimeError):
    """The chosen OCR engine cannot run here (not installed, a language pack missing)."""


class OcrEngine(Protocol):
    """Turns one page image into its text: lines in reading order, paragraphs apart."""

    name: str

    def read(self, image: Image) -> str: ...
    def describe(self) -> dict[str, Any]: ...  # engine, models and languages, for doctor


@dataclass(frozen=True, slots=True)
class TextBox:
    """A recognised run of text and its upright rectangle on the page, in pixels."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


class RapidOcrEngine:
    """PP-OCR through RapidOCR; the models are the ones inside the rapidocr wheel."""

    name = "rapidocr"

    def __init__(self, *, threads: int = 0) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise OcrUnavailable("rapidocr is not installed (pip install rapidocr)") from exc
        logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
        params: dict[str, Any] = {
            "Global.log_level": "critical",
            # The 0/180-degree line classifier turns some long upright lines upside down
            # (measured: "At Northwind Logistics ..." read as "Ar res rs s ..."); pages
            # arrive upright or a few degrees off, which detection handles by itself.
            "Global.use_cls": False,
        }
        if threads > 0:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        self._engine = RapidOCR(params=params)

    def read(self, image: Image) -> str:
        """Return IMAGE's text, lines grouped into paragraphs."""
        import numpy as np

        result = self._engine(np.asarray(image.convert("RGB"))[:, :, ::-1])  # it wants BGR
        if result.boxes is None or result.txts is None:
            return ""
        kept = [
            (text.strip(), [(float(x), float(y)) for x, y in points])
            for points, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
            if score >= _MIN_LINE_SCORE and text.strip()
        ]
        return layout_text(upright_boxes(kept))

    def describe(self) -> dict[str, Any]:
        """Say which models RapidOCR runs and which languages they read."""
        from importlib.metadata import version

        config = self._engine.cfg

        def model(part: Any) -> str:
            value = lambda key: getattr(part.get(key), "value", part.get(key))  # noqa: E731
            return f"{value('ocr_version')} {value('model_type')} {value('task_type')}"

        return {
            "engine": f"rapidocr {version('rapidocr')} (onnxruntime)",
            "models": [model(config.Det), model(config.Rec)],
            "languages": ["Chinese", "English"],  # PP-OCR's "ch" models read both
        }


class TesseractEngine:
    """Tesseract 5 run as a program, with the English and simplified Chinese models."""

    name = "tesseract"

    def __init__(self, *, threads: int = 0) -> None:
        self._program = shutil.which("tesseract")
        if self._program is None:
            raise OcrUnavailable(
                "tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"
            )
        listed = subprocess.run(
            [self._program, "--list-langs"], capture_output=True, text=True, timeout=30
        ).stdout.split()
        self._languages = [lang for lang in TESSERACT_LANGUAGES if lang in listed]
        if not self._languages:
            raise OcrUnavailable("tesseract has neither its English nor its Chinese model")
        # Tesseract's OpenMP threads fight over a few cores: one thread read a page in 2.3 s
        # against 14.3 s with its default on 2 cores (bench/README.md, OCR), the text the same.
        self._env = {"OMP_THREAD_LIMIT": str(threads or 1)}

    def read(self, image: Image) -> str:
        """Return IMAGE's text as Tesseract lays it out, with CJK characters rejoined."""
        import io
        import os

        buffer = io.BytesIO()
        image.convert("L").save(buffer, format="PNG")
        env = {**os.environ, **self._env}
        done = subprocess.run(
            [self._program or "tesseract", "stdin", "stdout", "-l", "+".join(self._languages)],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=600,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode(errors="replace").strip()[:200])
        # Tesseract puts a space between every two Chinese characters.
        return _CJK_SPACE_RE.sub("", done.stdout.decode(errors="replace")).strip()

    def describe(self) -> dict[str, Any]:
        """Say which Tesseract runs and which of its language models it uses."""
        first = subprocess.run(
            [self._program or "tesseract", "--version"], capture_output=True, text=True, timeout=30
        ).stdout.split("\n", 1)[0]
        return {"engine": first.strip(), "models": self._languages, "languages": self._languages}


@functools.cache
def ocr_engine(name: str, *, threads: int = 0) -> OcrEngine:
    """Return the engine NAME, loaded once per process; raise OcrUnavailable if it cannot run."""
    if name == "rapidocr":
        return RapidOcrEngine(threads=threads)
    if name == "tesseract":
        return TesseractEngine(threads=threads)
    raise OcrUnavailable(f"unknown OCR engine {name!r} (one of {', '.join(ENGINES)})")


def upright_boxes(lines: list[tuple[str, list[tuple[float, float]]]]) -> list[TextBox]:
    """Turn (text, four corners) into upright boxes, undoing the page's skew first.

    A scan turned 2 degrees gives a 1000-pixel line a bounding rectangle 35 pixels taller
    than the line: rectangles of neighbouring lines then overlap and would merge into one
    line (measured: CER 0.11-0.14 on turned English pages, almost all of it reading order).
    The skew is the median slope of the lines' top edges; every corner is turned back by it.
    """
    slopes = [
        math.atan2(c[1][1] - c[0][1], c[1][0] - c[0][0])
        for _, c in lines
        if len(c) == 4 and c[1][0] - c[0][0] > 3 * abs(c[3][1] - c[0][1])  # long lines only
    ]
    skew = median(slopes) if slopes else 0.0
    cos, sin = math.cos(-skew), math.sin(-skew)
    boxes = []
    for text, corners in lines:
        xs = [x * cos - y * sin for x, y in corners]
        ys = [x * sin + y * cos for x, y in corners]
        boxes.append(TextBox(text, min(xs), min(ys), max(xs), max(ys)))
    return boxes


def layout_text(boxes: list[TextBox]) -> str:
    """Join recognised text boxes into lines (left to right) and paragraphs (top to bottom).

    Two columns separated by an empty gutter are read one after the other.
    """
    if not boxes:
        return ""
    columns = _columns(boxes)
    return "\n\n".join(_column_text(column) for column in columns if column)


def _columns(boxes: list[TextBox]) -> list[list[TextBox]]:
    """Split BOXES at a vertical gutter in the middle of the page that no box crosses."""
    left = min(b.left for b in boxes)
    right = max(b.right for b in boxes)
    width = right - left
    if width <= 0 or len(boxes) < 6:
        return [boxes]
    steps = 100
    covered = [0] * steps
    for box in boxes:
        first = int((box.left - left) / width * (steps - 1))
        last = int((box.right - left) / width * (steps - 1))
        for i in range(first, last + 1):
            covered[i] += 1
    # A gutter: several empty steps between 30 % and 70 % of the text's width.
    empty = [i for i in range(30, 70) if covered[i] == 0]
    if len(empty) < 2:
        return [boxes]
    cut = left + (empty[len(empty) // 2] / (steps - 1)) * width
    first_column = [b for b in boxes if b.right <= cut]
    second_column = [b for b in boxes if b.left >= cut]
    if min(len(first_column), len(second_column)) < 3:  # a label beside a figure, not columns
        return [boxes]
    return [first_column, second_column]


def _column_text(boxes: list[TextBox]) -> str:
    lines: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: (b.top, b.left)):
        if lines:
            line = lines[-1]
            middle = median(b.middle for b in line)
            height = max(b.height for b in line)
            if abs(box.middle - middle) <= _SAME_LINE * max(height, box.height):
                line.append(box)
                continue
        lines.append([box])
    heights = [max(b.height for b in line) for line in lines]
    typical = median(heights)
    out: list[str] = []
    previous_bottom: float | None = None
    for line in lines:
        line.sort(key=lambda b: b.left)
        text = _join_words([b.text for b in line])
        top = min(b.top for b in line)
        if previous_bottom is not None:
            out.append("\n\n" if top - previous_bottom > _PARAGRAPH_GAP * typical else "\n")
        out.append(text)
        previous_bottom = max(b.bottom for b in line)
    return "".join(out)


def _join_words(parts: list[str]) -> str:
    """Join boxes of one line: with a space, except between two CJK characters."""
    text = parts[0]
    for part in parts[1:]:
        cjk = _CJK_EDGE_RE.match(text[-1]) and _CJK_EDGE_RE.match(part[0])
        text += part if cjk else " " + part
    return text
