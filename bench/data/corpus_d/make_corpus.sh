#!/usr/bin/env bash
# Rebuild bench/data/corpus_d/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_d/make_corpus.sh
#   SKIP_APT=1 bench/data/corpus_d/make_corpus.sh   # packages already installed: no apt-get
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# prepare_corpus (scratch folder, packages, docs folder, the shared pandoc filter),
# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"
prepare_corpus "$HERE" \
    python3-doc sqlite3-doc debian-policy debian-faq-zh-cn debian-reference-zh-cn manpages-zh qpdf

POLICY=/usr/share/doc/debian-policy/policy.html
FAQ=/usr/share/doc/debian/FAQ/zh-cn
REF=/usr/share/doc/debian-reference-common/docs

# --- English ---------------------------------------------------------------------------------

# 1. Python 3.11 "Unicode HOWTO" (python3-doc: howto/unicode.html), Sphinx navigation stripped
#    -> PDF (LibreOffice).
clean_html "$WORK/py-unicode.html" en "$PYDOC/howto/unicode.html"
soffice_convert "$WORK/py-unicode.html" pdf en-python-unicode-howto.pdf

# 2. Python 3.11 library reference "json — JSON encoder and decoder" (python3-doc:
#    library/json.html) -> DOCX (pandoc).
clean_html "$WORK/py-json.html" en "$PYDOC/library/json.html"
pandoc -f html -t docx "$WORK/py-json.html" -o "$OUT/en-python-json-module.docx"

# 3. Debian Policy Manual, chapter 9 "The Operating System" (debian-policy:
#    policy.html/ch-opersys.html) -> PDF (LibreOffice).
clean_html "$WORK/policy-opersys.html" en "$POLICY/ch-opersys.html"
soffice_convert "$WORK/policy-opersys.html" pdf en-debian-policy-operating-system.pdf

# 4. SQLite "SQLite Foreign Key Support" (sqlite3-doc: foreignkeys.html) -> DOCX (pandoc).
clean_html "$WORK/sqlite-fk.html" en /usr/share/doc/sqlite3/foreignkeys.html
pandoc -f html -t docx "$WORK/sqlite-fk.html" -o "$OUT/en-sqlite-foreign-keys.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. Debian FAQ (zh-cn), chapters 5 "Debian 系统中可用的软件" and 6 "Debian 档案库"
#    (software, ftparchives) -> PDF (LibreOffice, Noto CJK fonts embedded).
clean_html "$WORK/faq-software-archives.html" zh-CN "$FAQ/software.zh-cn.html" \
    "$FAQ/ftparchives.zh-cn.html"
soffice_convert "$WORK/faq-software-archives.html" pdf zh-debian-faq-software-archives.pdf

# 6. Debian Reference (zh-cn), chapter 6 "网络应用" (debian-reference-zh-cn: ch06.zh-cn.html),
#    sections 6.1-6.4 (web browsers, mail, SSH, printing); sections 6.5-6.7 (tables of other
#    servers and clients, daemon diagnosis) cut off with python -> DOCX (pandoc).
python3 - "$REF/ch06.zh-cn.html" "$WORK/ref-ch06-1-4.src.html" <<'PY'
import sys
html = open(sys.argv[1], encoding="utf-8").read()
head = html.index('<a id="_other_network_application_servers"/>')
start = html.rindex('<div class="section">', 0, head)
end = html.index('<div class="navfooter">')
open(sys.argv[2], "w", encoding="utf-8").write(html[:start] + html[end:])
PY
clean_html "$WORK/ref-network-apps.html" zh-CN "$WORK/ref-ch06-1-4.src.html"
pandoc -f html -t docx "$WORK/ref-network-apps.html" -o "$OUT/zh-debian-reference-network-apps.docx"

# 7. manpages-zh: find(1) xargs(1) -> pandoc man -> HTML -> PDF (LibreOffice, Noto CJK).
man_to_html "$WORK/man-find.html" "$MANZH"/man1/find.1.gz "$MANZH"/man1/xargs.1.gz
soffice_convert "$WORK/man-find.html" pdf zh-man-find-xargs.pdf

# 8. manpages-zh: grep(1) sed(1) -> pandoc man -> HTML -> DOCX (pandoc).
man_to_html "$WORK/man-grep-sed.html" "$MANZH"/man1/grep.1.gz "$MANZH"/man1/sed.1.gz
pandoc -f html -t docx "$WORK/man-grep-sed.html" -o "$OUT/zh-man-grep-sed.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
