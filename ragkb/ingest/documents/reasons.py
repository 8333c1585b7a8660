"""Why a file could not be read, in the words a user sees."""

from __future__ import annotations

EMPTY = "empty file"
NOT_FOUND = "not found"
BROKEN_LINK = "broken symbolic link (its target does not exist, or the links go round in a loop)"
ENCRYPTED = "encrypted (password needed)"
NO_TEXT = "no extractable text"
NO_TEXT_OCR_OFF = "no extractable text (scanned? OCR is off: ocr = auto reads such pages)"
NO_TEXT_EVEN_OCR = "no text found, even by OCR (blank, or a picture without writing?)"
OCR_OFF = "an image, and OCR is off (ocr = auto reads images)"
CORRUPT_IMAGE = "corrupt or unsupported image"
CORRUPT_PDF = "corrupt or truncated PDF"
CORRUPT_DOCX = "corrupt or not a real DOCX file"
GLYPH_NAMES = "glyph names instead of text (font without a Unicode map)"
CRASHED = "the parser crashed (its process died: out of memory, or a bug in a PDF or Word library)"
UNREADABLE_FOLDER = "cannot list this folder (permission denied?); its files are kept as they are"
