#!/usr/bin/env bash
# Rebuild bench/data/corpus_e/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_e/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_e/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" \
    python3-doc git-doc sqlite3-doc debian-faq-zh-cn debian-reference-zh-cn manpages-zh

FAQ=/usr/share/doc/debian/FAQ/zh-cn
REF=/usr/share/doc/debian-reference-common/docs

# Drop the tail of a Sphinx page: everything from <section id="$3"> to the close of the page's
# top-level section (the sections after it are dropped too).
cut_sphinx_tail() {  # $1 input html, $2 output html, $3 id of the first section to drop
    python3 - "$@" <<'PY'
import sys
src, dst, first = sys.argv[1:4]
html = open(src, encoding="utf-8").read()
start = html.index(f'<section id="{first}"')
end = html.rindex('</section>')  # closes the top-level section
open(dst, "w", encoding="utf-8").write(html[:start] + html[end:])
PY
}

# Drop the tail of a DocBook chapter: the section holding anchor $3 and all after it (the
# navfooter is kept; the filter drops it).
cut_docbook_tail() {  # $1 input html, $2 output html, $3 anchor id of the first section to drop
    python3 - "$@" <<'PY'
import sys
src, dst, first = sys.argv[1:4]
html = open(src, encoding="utf-8").read()
start = html.rindex('<div class="section">', 0, html.index(f'<a id="{first}"/>'))
end = html.index('<div class="navfooter">')
open(dst, "w", encoding="utf-8").write(html[:start] + html[end:])
PY
}

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "Regular Expression HOWTO" (python3-doc: howto/regex.html), sections 1-5
#    (Introduction ... Modifying Strings); "Common Problems" and "Feedback" cut off so the file
#    stays near 20 pages; Sphinx navigation stripped -> PDF (LibreOffice).
cut_sphinx_tail "$PYDOC/howto/regex.html" "$WORK/py-regex.src.html" common-problems
clean_html "$WORK/py-regex.html" en "$WORK/py-regex.src.html"
soffice_convert "$WORK/py-regex.html" pdf en-python-regex-howto.pdf

# 2. Python 3.11 "Enum HOWTO" (python3-doc: howto/enum.html), from the start through "Derived
#    Enumerations" (IntEnum ... Others); "When to use __new__() vs. __init__()", "Finer Points",
#    "How are Enums and Flags different?", "Enum Cookbook" and "Subclassing EnumType" cut off
#    with python (the whole page prints as 28 pages) -> DOCX (pandoc).
cut_sphinx_tail "$PYDOC/howto/enum.html" "$WORK/py-enum.src.html" when-to-use-new-vs-init
clean_html "$WORK/py-enum.html" en "$WORK/py-enum.src.html"
pandoc -f html -t docx "$WORK/py-enum.html" -o "$OUT/en-python-enum-howto.docx"

# 3. Git "githooks(5)" manual page (git-doc: githooks.html) -> PDF (LibreOffice).
clean_html "$WORK/githooks.html" en "$GITDOC/githooks.html"
soffice_convert "$WORK/githooks.html" pdf en-git-githooks.pdf

# 4. SQLite "Datatypes In SQLite" (sqlite3-doc: datatype3.html) -> DOCX (pandoc).
clean_html "$WORK/sqlite-datatypes.html" en /usr/share/doc/sqlite3/datatype3.html
pandoc -f html -t docx "$WORK/sqlite-datatypes.html" -o "$OUT/en-sqlite-datatypes.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. Debian Reference (zh-cn), chapter 11 "数据转换" (debian-reference-zh-cn: ch11.zh-cn.html)
#    -> PDF (LibreOffice, Noto CJK fonts embedded).
clean_html "$WORK/ref-data-conversion.html" zh-CN "$REF/ch11.zh-cn.html"
soffice_convert "$WORK/ref-data-conversion.html" pdf zh-debian-reference-data-conversion.pdf

# 6. Debian Reference (zh-cn), chapter 12 "编程" (ch12.zh-cn.html), sections 12.1-12.4 (shell
#    scripts, interpreted and compiled languages, static analysis); 12.5-12.9 (debugging, build
#    tools, web, source translation, Debian packages) cut off with python (the whole chapter
#    prints as 30 pages) -> DOCX (pandoc).
cut_docbook_tail "$REF/ch12.zh-cn.html" "$WORK/ref-ch12-1-4.src.html" _debug
clean_html "$WORK/ref-programming.html" zh-CN "$WORK/ref-ch12-1-4.src.html"
pandoc -f html -t docx "$WORK/ref-programming.html" -o "$OUT/zh-debian-reference-programming.docx"

# 7. Debian FAQ (zh-cn), chapters 12-16 (support, contributing, redistributing, nextrelease,
#    faqinfo) -> DOCX (pandoc).
clean_html "$WORK/faq-support.html" zh-CN "$FAQ/support.zh-cn.html" "$FAQ/contributing.zh-cn.html" \
    "$FAQ/redistributing.zh-cn.html" "$FAQ/nextrelease.zh-cn.html" "$FAQ/faqinfo.zh-cn.html"
pandoc -f html -t docx "$WORK/faq-support.html" -o "$OUT/zh-debian-faq-support-contributing.docx"

# 8. manpages-zh: journalctl(1) journald.conf(5) -> pandoc man -> HTML -> PDF (LibreOffice, Noto CJK).
man_to_html "$WORK/man-journal.html" "$MANZH"/man1/journalctl.1.gz "$MANZH"/man5/journald.conf.5.gz
soffice_convert "$WORK/man-journal.html" pdf zh-man-journalctl-journald.pdf

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
