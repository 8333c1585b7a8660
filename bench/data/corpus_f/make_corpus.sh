#!/usr/bin/env bash
# Rebuild bench/data/corpus_f/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_f/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_f/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" python3-doc git-doc sqlite3-doc manpages-zh

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "Functional Programming HOWTO" (python3-doc: howto/functional.html) -> PDF
#    (LibreOffice).
clean_html "$WORK/py-functional.html" en "$PYDOC/howto/functional.html"
soffice_convert "$WORK/py-functional.html" pdf en-python-functional-howto.pdf

# 2. Python 3.11 "HOWTO Fetch Internet Resources Using The urllib Package" (howto/urllib2.html)
#    -> DOCX (pandoc).
clean_html "$WORK/py-urllib.html" en "$PYDOC/howto/urllib2.html"
pandoc -f html -t docx "$WORK/py-urllib.html" -o "$OUT/en-python-urllib-howto.docx"

# 3. Git "git-stash(1)" and "gitignore(5)" manual pages (git-doc: git-stash.html, gitignore.html)
#    -> one HTML -> PDF (LibreOffice).
clean_html "$WORK/git-stash-gitignore.html" en "$GITDOC/git-stash.html" "$GITDOC/gitignore.html"
soffice_convert "$WORK/git-stash-gitignore.html" pdf en-git-stash-gitignore.pdf

# 4. SQLite "Query Planning" (sqlite3-doc: queryplanner.html; its figures are images, of which
#    only the captions remain) -> DOCX (pandoc).
clean_html "$WORK/sqlite-queryplanner.html" en /usr/share/doc/sqlite3/queryplanner.html
pandoc -f html -t docx "$WORK/sqlite-queryplanner.html" -o "$OUT/en-sqlite-query-planning.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. manpages-zh: systemctl(1) -> pandoc man -> HTML -> PDF (LibreOffice, Noto CJK).
man_to_html "$WORK/man-systemctl.html" "$MANZH"/man1/systemctl.1.gz
soffice_convert "$WORK/man-systemctl.html" pdf zh-man-systemctl.pdf

# 6. manpages-zh: tcpdump(8) -> PDF (LibreOffice, Noto CJK).
man_to_html "$WORK/man-tcpdump.html" "$MANZH"/man8/tcpdump.8.gz
soffice_convert "$WORK/man-tcpdump.html" pdf zh-man-tcpdump.pdf

# 7. manpages-zh: file-hierarchy(7) daemon(7) -> one HTML -> DOCX (pandoc).
man_to_html "$WORK/man-hier-daemon.html" "$MANZH"/man7/file-hierarchy.7.gz "$MANZH"/man7/daemon.7.gz
pandoc -f html -t docx "$WORK/man-hier-daemon.html" -o "$OUT/zh-man-file-hierarchy-daemon.docx"

# 8. manpages-zh: iptables(8) -> DOCX (pandoc).
man_to_html "$WORK/man-iptables.html" "$MANZH"/man8/iptables.8.gz
pandoc -f html -t docx "$WORK/man-iptables.html" -o "$OUT/zh-man-iptables.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
