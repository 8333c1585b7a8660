#!/usr/bin/env bash
# Rebuild bench/data/corpus_h/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_h/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_h/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" python3-doc git-doc sqlite3-doc manpages-zh

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "Curses Programming with Python" (python3-doc: howto/curses.html) -> PDF
#    (LibreOffice).
clean_html "$WORK/py-curses.html" en "$PYDOC/howto/curses.html"
soffice_convert "$WORK/py-curses.html" pdf en-python-curses-howto.pdf

# 2. Python 3.11 "Annotations Best Practices" and "Instrumenting CPython with DTrace and
#    SystemTap" (howto/annotations.html, howto/instrumentation.html) -> one HTML -> DOCX (pandoc).
clean_html "$WORK/py-annotations-instrumentation.html" en \
    "$PYDOC/howto/annotations.html" "$PYDOC/howto/instrumentation.html"
pandoc -f html -t docx "$WORK/py-annotations-instrumentation.html" \
    -o "$OUT/en-python-annotations-instrumentation.docx"

# 3. Git "git-tag(1)" and "git-cherry-pick(1)" manual pages (git-doc: git-tag.html,
#    git-cherry-pick.html) -> one HTML -> PDF (LibreOffice).
clean_html "$WORK/git-tag-cherry-pick.html" en "$GITDOC/git-tag.html" "$GITDOC/git-cherry-pick.html"
soffice_convert "$WORK/git-tag-cherry-pick.html" pdf en-git-tag-cherry-pick.pdf

# 4. SQLite "SQLite's Use Of Temporary Disk Files" and "SQLite Autoincrement" (sqlite3-doc:
#    tempfiles.html, autoinc.html) -> one HTML -> DOCX (pandoc).
clean_html "$WORK/sqlite-tempfiles-autoinc.html" en "$SQLDOC/tempfiles.html" "$SQLDOC/autoinc.html"
pandoc -f html -t docx "$WORK/sqlite-tempfiles-autoinc.html" -o "$OUT/en-sqlite-tempfiles-autoinc.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. manpages-zh: hdparm(8) -> pandoc man -> HTML -> PDF (LibreOffice, Noto CJK).
man_to_html "$WORK/man-hdparm.html" "$MANZH"/man8/hdparm.8.gz
soffice_convert "$WORK/man-hdparm.html" pdf zh-man-hdparm.pdf

# 6. manpages-zh: cp(1), mv(1), rm(1), dd(1) -> one HTML -> PDF (LibreOffice, Noto CJK).
man_to_html "$WORK/man-copy.html" "$MANZH"/man1/cp.1.gz "$MANZH"/man1/mv.1.gz \
    "$MANZH"/man1/rm.1.gz "$MANZH"/man1/dd.1.gz
soffice_convert "$WORK/man-copy.html" pdf zh-man-cp-mv-rm-dd.pdf

# 7. manpages-zh: logind.conf(5), loginctl(1) -> one HTML -> DOCX (pandoc).
man_to_html "$WORK/man-logind.html" "$MANZH"/man5/logind.conf.5.gz "$MANZH"/man1/loginctl.1.gz
pandoc -f html -t docx "$WORK/man-logind.html" -o "$OUT/zh-man-logind-loginctl.docx"

# 8. manpages-zh: date(1), at(1), timedatectl(1) -> one HTML -> DOCX (pandoc).
man_to_html "$WORK/man-time.html" "$MANZH"/man1/date.1.gz "$MANZH"/man1/at.1.gz \
    "$MANZH"/man1/timedatectl.1.gz
pandoc -f html -t docx "$WORK/man-time.html" -o "$OUT/zh-man-date-at-timedatectl.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
