#!/usr/bin/env bash
# Rebuild bench/data/corpus_j/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_j/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_j/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" python3-doc git-doc sqlite3-doc manpages-zh

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "functools — Higher-order functions and operations on callable objects"
#    (python3-doc: library/functools.html) -> PDF (LibreOffice).
clean_html "$WORK/py-functools.html" en "$PYDOC/library/functools.html"
soffice_convert "$WORK/py-functools.html" pdf en-python-functools.pdf

# 2. Python 3.11 "shutil — High-level file operations" (library/shutil.html) -> DOCX (pandoc).
clean_html "$WORK/py-shutil.html" en "$PYDOC/library/shutil.html"
pandoc -f html -t docx "$WORK/py-shutil.html" -o "$OUT/en-python-shutil.docx"

# 3. Git "git-revert(1)", "git-rm(1)" and "git-clean(1)" manual pages (git-doc: git-revert.html,
#    git-rm.html, git-clean.html) -> one HTML -> PDF (LibreOffice).
clean_html "$WORK/git-revert-rm-clean.html" en "$GITDOC/git-revert.html" "$GITDOC/git-rm.html" \
    "$GITDOC/git-clean.html"
soffice_convert "$WORK/git-revert-rm-clean.html" pdf en-git-revert-rm-clean.pdf

# 4. SQLite "SQLite Frequently Asked Questions" (sqlite3-doc: faq.html) -> DOCX (pandoc).
clean_html "$WORK/sqlite-faq.html" en "$SQLDOC/faq.html"
pandoc -f html -t docx "$WORK/sqlite-faq.html" -o "$OUT/en-sqlite-faq.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. manpages-zh: epoll(7), fifo(7), unix(7) -> pandoc man -> HTML -> PDF (LibreOffice,
#    Noto CJK).
man_to_html "$WORK/man-ipc.html" "$MANZH"/man7/epoll.7.gz "$MANZH"/man7/fifo.7.gz \
    "$MANZH"/man7/unix.7.gz
soffice_convert "$WORK/man-ipc.html" pdf zh-man-epoll-fifo-unix.pdf

# 6. manpages-zh: localectl(1), locale.conf(5), vconsole.conf(5), systemd-firstboot(1) -> one
#    HTML -> PDF.
man_to_html "$WORK/man-locale.html" "$MANZH"/man1/localectl.1.gz "$MANZH"/man5/locale.conf.5.gz \
    "$MANZH"/man5/vconsole.conf.5.gz "$MANZH"/man1/systemd-firstboot.1.gz
soffice_convert "$WORK/man-locale.html" pdf zh-man-localectl-locale-firstboot.pdf

# 7. manpages-zh: xxd(1), od(1) -> one HTML -> DOCX (pandoc).
man_to_html "$WORK/man-hexdump.html" "$MANZH"/man1/xxd.1.gz "$MANZH"/man1/od.1.gz
pandoc -f html -t docx "$WORK/man-hexdump.html" -o "$OUT/zh-man-xxd-od.docx"

# 8. manpages-zh: systemd-delta(1), systemd-detect-virt(1), systemd-escape(1), systemd-cat(1)
#    -> one HTML -> DOCX.
man_to_html "$WORK/man-sdtools.html" "$MANZH"/man1/systemd-delta.1.gz \
    "$MANZH"/man1/systemd-detect-virt.1.gz "$MANZH"/man1/systemd-escape.1.gz \
    "$MANZH"/man1/systemd-cat.1.gz
pandoc -f html -t docx "$WORK/man-sdtools.html" -o "$OUT/zh-man-systemd-delta-virt-escape-cat.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
