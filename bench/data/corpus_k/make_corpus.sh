#!/usr/bin/env bash
# Rebuild bench/data/corpus_k/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_k/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_k/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" python3-doc git-doc sqlite3-doc manpages-zh

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "csv — CSV File Reading and Writing" (python3-doc: library/csv.html) -> PDF
#    (LibreOffice).
clean_html "$WORK/py-csv.html" en "$PYDOC/library/csv.html"
soffice_convert "$WORK/py-csv.html" pdf en-python-csv.pdf

# 2. Python 3.11 "tempfile — Generate temporary files and directories" (library/tempfile.html)
#    -> DOCX (pandoc).
clean_html "$WORK/py-tempfile.html" en "$PYDOC/library/tempfile.html"
pandoc -f html -t docx "$WORK/py-tempfile.html" -o "$OUT/en-python-tempfile.docx"

# 3. Git "git-describe(1)", "git-archive(1)" and "git-gc(1)" manual pages (git-doc:
#    git-describe.html, git-archive.html, git-gc.html) -> one HTML -> DOCX (pandoc).
clean_html "$WORK/git-describe-archive-gc.html" en "$GITDOC/git-describe.html" \
    "$GITDOC/git-archive.html" "$GITDOC/git-gc.html"
pandoc -f html -t docx "$WORK/git-describe-archive-gc.html" -o "$OUT/en-git-describe-archive-gc.docx"

# 4. SQLite "Implementation Limits For SQLite", "Isolation In SQLite" and "Memory-Mapped I/O"
#    (sqlite3-doc: limits.html, isolation.html, mmap.html) -> one HTML -> PDF (LibreOffice).
clean_html "$WORK/sqlite-limits-isolation-mmap.html" en "$SQLDOC/limits.html" \
    "$SQLDOC/isolation.html" "$SQLDOC/mmap.html"
soffice_convert "$WORK/sqlite-limits-isolation-mmap.html" pdf en-sqlite-limits-isolation-mmap.pdf

# --- Chinese ---------------------------------------------------------------------------------

# 5. manpages-zh: socket(7), tcp(7), udp(7) -> pandoc man -> HTML -> PDF (LibreOffice,
#    Noto CJK).
man_to_html "$WORK/man-net.html" "$MANZH"/man7/socket.7.gz "$MANZH"/man7/tcp.7.gz \
    "$MANZH"/man7/udp.7.gz
soffice_convert "$WORK/man-net.html" pdf zh-man-socket-tcp-udp.pdf

# 6. manpages-zh: regex(7), glob(7) -> one HTML -> PDF.
man_to_html "$WORK/man-patterns.html" "$MANZH"/man7/regex.7.gz "$MANZH"/man7/glob.7.gz
soffice_convert "$WORK/man-patterns.html" pdf zh-man-regex-glob.pdf

# 7. manpages-zh: systemd-inhibit(1), systemd-notify(1), systemd-socket-activate(1),
#    systemd-ask-password(1) -> one HTML -> DOCX (pandoc).
man_to_html "$WORK/man-sdhelpers.html" "$MANZH"/man1/systemd-inhibit.1.gz \
    "$MANZH"/man1/systemd-notify.1.gz "$MANZH"/man1/systemd-socket-activate.1.gz \
    "$MANZH"/man1/systemd-ask-password.1.gz
pandoc -f html -t docx "$WORK/man-sdhelpers.html" \
    -o "$OUT/zh-man-systemd-inhibit-notify-activate-askpw.docx"

# 8. manpages-zh: env(1), mktemp(1), truncate(1), stdbuf(1) -> one HTML -> DOCX.
man_to_html "$WORK/man-coreutils.html" "$MANZH"/man1/env.1.gz "$MANZH"/man1/mktemp.1.gz \
    "$MANZH"/man1/truncate.1.gz "$MANZH"/man1/stdbuf.1.gz
pandoc -f html -t docx "$WORK/man-coreutils.html" -o "$OUT/zh-man-env-mktemp-truncate-stdbuf.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
