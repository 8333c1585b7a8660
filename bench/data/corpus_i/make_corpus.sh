#!/usr/bin/env bash
# Rebuild bench/data/corpus_i/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_i/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_i/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" python3-doc git-doc sqlite3-doc manpages-zh

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "dataclasses — Data Classes" (python3-doc: library/dataclasses.html) -> PDF
#    (LibreOffice).
clean_html "$WORK/py-dataclasses.html" en "$PYDOC/library/dataclasses.html"
soffice_convert "$WORK/py-dataclasses.html" pdf en-python-dataclasses.pdf

# 2. Python 3.11 "venv — Creation of virtual environments" (library/venv.html) -> DOCX (pandoc).
clean_html "$WORK/py-venv.html" en "$PYDOC/library/venv.html"
pandoc -f html -t docx "$WORK/py-venv.html" -o "$OUT/en-python-venv.docx"

# 3. Git "git-reset(1)" and "git-restore(1)" manual pages (git-doc: git-reset.html,
#    git-restore.html) -> one HTML -> PDF (LibreOffice).
clean_html "$WORK/git-reset-restore.html" en "$GITDOC/git-reset.html" "$GITDOC/git-restore.html"
soffice_convert "$WORK/git-reset-restore.html" pdf en-git-reset-restore.pdf

# 4. SQLite "How To Corrupt An SQLite Database File" (sqlite3-doc: howtocorrupt.html) -> DOCX
#    (pandoc).
clean_html "$WORK/sqlite-howtocorrupt.html" en "$SQLDOC/howtocorrupt.html"
pandoc -f html -t docx "$WORK/sqlite-howtocorrupt.html" -o "$OUT/en-sqlite-howtocorrupt.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. manpages-zh: fsck(8), mkswap(8), badblocks(8) -> pandoc man -> HTML -> PDF (LibreOffice,
#    Noto CJK).
man_to_html "$WORK/man-disk.html" "$MANZH"/man8/fsck.8.gz "$MANZH"/man8/mkswap.8.gz \
    "$MANZH"/man8/badblocks.8.gz
soffice_convert "$WORK/man-disk.html" pdf zh-man-fsck-mkswap-badblocks.pdf

# 6. manpages-zh: resolved.conf(5), systemd-resolve(1), hostnamectl(1) -> one HTML -> PDF.
man_to_html "$WORK/man-resolve.html" "$MANZH"/man5/resolved.conf.5.gz \
    "$MANZH"/man1/systemd-resolve.1.gz "$MANZH"/man1/hostnamectl.1.gz
soffice_convert "$WORK/man-resolve.html" pdf zh-man-resolved-hostnamectl.pdf

# 7. manpages-zh: os-release(5), machine-id(5), sysctl.d(5) -> one HTML -> DOCX (pandoc).
man_to_html "$WORK/man-sysconf.html" "$MANZH"/man5/os-release.5.gz "$MANZH"/man5/machine-id.5.gz \
    "$MANZH"/man5/sysctl.d.5.gz
pandoc -f html -t docx "$WORK/man-sysconf.html" -o "$OUT/zh-man-os-release-machine-id-sysctl.docx"

# 8. manpages-zh: kill(1), killall(1), timeout(1), nice(1), nohup(1) -> one HTML -> DOCX.
man_to_html "$WORK/man-process.html" "$MANZH"/man1/kill.1.gz "$MANZH"/man1/killall.1.gz \
    "$MANZH"/man1/timeout.1.gz "$MANZH"/man1/nice.1.gz "$MANZH"/man1/nohup.1.gz
pandoc -f html -t docx "$WORK/man-process.html" -o "$OUT/zh-man-kill-timeout-nice-nohup.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
