#!/usr/bin/env bash
# Rebuild bench/data/corpus_l/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_l/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_l/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" python3-doc git-doc sqlite3-doc manpages-zh

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "heapq — Heap queue algorithm" and "bisect — Array bisection algorithm"
#    (python3-doc: library/heapq.html, library/bisect.html) -> one HTML -> PDF (LibreOffice).
clean_html "$WORK/py-heapq-bisect.html" en "$PYDOC/library/heapq.html" "$PYDOC/library/bisect.html"
soffice_convert "$WORK/py-heapq-bisect.html" pdf en-python-heapq-bisect.pdf

# 2. Python 3.11 "textwrap — Text wrapping and filling" and "shlex — Simple lexical analysis"
#    (library/textwrap.html, library/shlex.html) -> one HTML -> DOCX (pandoc).
clean_html "$WORK/py-textwrap-shlex.html" en "$PYDOC/library/textwrap.html" "$PYDOC/library/shlex.html"
pandoc -f html -t docx "$WORK/py-textwrap-shlex.html" -o "$OUT/en-python-textwrap-shlex.docx"

# 3. Git "gitcredentials(7)", "git-credential-cache(1)" and "git-credential-store(1)" manual
#    pages (git-doc: gitcredentials.html, git-credential-cache.html, git-credential-store.html)
#    -> one HTML -> PDF (LibreOffice).
clean_html "$WORK/git-credentials.html" en "$GITDOC/gitcredentials.html" \
    "$GITDOC/git-credential-cache.html" "$GITDOC/git-credential-store.html"
soffice_convert "$WORK/git-credentials.html" pdf en-git-credentials-cache-store.pdf

# 4. SQLite "Generated Columns", "STRICT Tables" and "Clustered Indexes and the WITHOUT ROWID
#    Optimization" (sqlite3-doc: gencol.html, stricttables.html, withoutrowid.html) -> one HTML
#    -> DOCX (pandoc).
clean_html "$WORK/sqlite-gencol-strict-withoutrowid.html" en "$SQLDOC/gencol.html" \
    "$SQLDOC/stricttables.html" "$SQLDOC/withoutrowid.html"
pandoc -f html -t docx "$WORK/sqlite-gencol-strict-withoutrowid.html" \
    -o "$OUT/en-sqlite-gencol-strict-withoutrowid.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. manpages-zh: charsets(7), unicode(7), utf-8(7) -> pandoc man -> HTML -> PDF (LibreOffice,
#    Noto CJK).
man_to_html "$WORK/man-charsets.html" "$MANZH"/man7/charsets.7.gz "$MANZH"/man7/unicode.7.gz \
    "$MANZH"/man7/utf-8.7.gz
soffice_convert "$WORK/man-charsets.html" pdf zh-man-charsets-unicode-utf8.pdf

# 6. manpages-zh: zic(8), tzfile(5), zdump(8), tzselect(8) -> one HTML -> PDF.
man_to_html "$WORK/man-tz.html" "$MANZH"/man8/zic.8.gz "$MANZH"/man5/tzfile.5.gz \
    "$MANZH"/man8/zdump.8.gz "$MANZH"/man8/tzselect.8.gz
soffice_convert "$WORK/man-tz.html" pdf zh-man-zic-tzfile-zdump-tzselect.pdf

# 7. manpages-zh: quotacheck(8), quotaon(8), edquota(8), setquota(8), repquota(8) -> one HTML
#    -> DOCX (pandoc).
man_to_html "$WORK/man-quota.html" "$MANZH"/man8/quotacheck.8.gz "$MANZH"/man8/quotaon.8.gz \
    "$MANZH"/man8/edquota.8.gz "$MANZH"/man8/setquota.8.gz "$MANZH"/man8/repquota.8.gz
pandoc -f html -t docx "$WORK/man-quota.html" -o "$OUT/zh-man-quotacheck-quotaon-edquota-setquota-repquota.docx"

# 8. manpages-zh: nsswitch.conf(5) (man5/nsswitch.5), host.conf(5), resolver(5), services(5)
#    -> one HTML -> DOCX.
man_to_html "$WORK/man-nss.html" "$MANZH"/man5/nsswitch.5.gz "$MANZH"/man5/host.conf.5.gz \
    "$MANZH"/man5/resolver.5.gz "$MANZH"/man5/services.5.gz
pandoc -f html -t docx "$WORK/man-nss.html" -o "$OUT/zh-man-nsswitch-hostconf-resolver-services.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
