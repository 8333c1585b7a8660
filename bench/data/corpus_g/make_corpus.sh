#!/usr/bin/env bash
# Rebuild bench/data/corpus_g/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_g/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_g/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" python3-doc git-doc sqlite3-doc manpages-zh

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "Descriptor HowTo Guide" (python3-doc: howto/descriptor.html) -> PDF
#    (LibreOffice).
clean_html "$WORK/py-descriptor.html" en "$PYDOC/howto/descriptor.html"
soffice_convert "$WORK/py-descriptor.html" pdf en-python-descriptor-howto.pdf

# 2. Python 3.11 "Socket Programming HOWTO" and "An introduction to the ipaddress module"
#    (howto/sockets.html, howto/ipaddress.html) -> one HTML -> DOCX (pandoc).
clean_html "$WORK/py-sockets-ipaddress.html" en "$PYDOC/howto/sockets.html" "$PYDOC/howto/ipaddress.html"
pandoc -f html -t docx "$WORK/py-sockets-ipaddress.html" -o "$OUT/en-python-sockets-ipaddress-howto.docx"

# 3. Git "git-bisect(1)" and "git-worktree(1)" manual pages (git-doc: git-bisect.html,
#    git-worktree.html) -> one HTML -> PDF (LibreOffice).
clean_html "$WORK/git-bisect-worktree.html" en "$GITDOC/git-bisect.html" "$GITDOC/git-worktree.html"
soffice_convert "$WORK/git-bisect-worktree.html" pdf en-git-bisect-worktree.pdf

# 4. SQLite "File Locking And Concurrency In SQLite Version 3" (sqlite3-doc: lockingv3.html)
#    -> DOCX (pandoc).
clean_html "$WORK/sqlite-locking.html" en /usr/share/doc/sqlite3/lockingv3.html
pandoc -f html -t docx "$WORK/sqlite-locking.html" -o "$OUT/en-sqlite-locking-v3.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. manpages-zh: ssh(1) -> pandoc man -> HTML -> PDF (LibreOffice, Noto CJK).
man_to_html "$WORK/man-ssh.html" "$MANZH"/man1/ssh.1.gz
soffice_convert "$WORK/man-ssh.html" pdf zh-man-ssh.pdf

# 6. manpages-zh: fdisk(8), df(1), du(1) -> one HTML -> PDF (LibreOffice, Noto CJK).
man_to_html "$WORK/man-disk.html" "$MANZH"/man8/fdisk.8.gz "$MANZH"/man1/df.1.gz "$MANZH"/man1/du.1.gz
soffice_convert "$WORK/man-disk.html" pdf zh-man-fdisk-df-du.pdf

# 7. manpages-zh: ls(1), ln(1), chown(1) -> one HTML -> DOCX (pandoc).
man_to_html "$WORK/man-files.html" "$MANZH"/man1/ls.1.gz "$MANZH"/man1/ln.1.gz "$MANZH"/man1/chown.1.gz
pandoc -f html -t docx "$WORK/man-files.html" -o "$OUT/zh-man-ls-ln-chown.docx"

# 8. manpages-zh: diff(1), vim(1) -> one HTML -> DOCX (pandoc).
man_to_html "$WORK/man-diff-vim.html" "$MANZH"/man1/diff.1.gz "$MANZH"/man1/vim.1.gz
pandoc -f html -t docx "$WORK/man-diff-vim.html" -o "$OUT/zh-man-diff-vim.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
