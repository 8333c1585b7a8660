#!/usr/bin/env bash
# Rebuild bench/data/corpus_c/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package (main); this script documents where
# each file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_c/make_corpus.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/docs"
WORK="$(mktemp -d /tmp/ragkb-corpus-c.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

apt-get update
apt-get install -y --no-install-recommends \
    bash-doc git-doc sqlite3-doc manpages-zh debian-faq-zh-cn \
    pandoc libreoffice-writer-nogui fonts-noto-cjk qpdf poppler-utils python3

mkdir -p "$OUT"
rm -f "$OUT"/*.pdf "$OUT"/*.docx

FAQ=/usr/share/doc/debian/FAQ/zh-cn

# Pandoc filter: drop navigation bars, menus and tables of contents (DocBook and sqlite.org HTML).
cat > "$WORK/strip-nav.lua" <<'LUA'
local drop = {navheader = true, navfooter = true, toc = true, menu = true, mainmenu = true,
              submenu = true, searchmenu = true, tagline = true, fancy_toc = true,
              ["fancy-toc1"] = true, ["fancy-toc2"] = true, ["fancy-toc3"] = true,
              nosearch = true}
function Div(el)
  for _, c in ipairs(el.classes) do
    if drop[c] then return {} end
  end
end
LUA

# clean_html, soffice_convert and man_to_html.
# shellcheck source=../convert.sh
. "$HERE/../convert.sh"

# --- English ---------------------------------------------------------------------------------

# 1. Bash Reference Manual, section 3.5 "Shell Expansions" (printed pages 24-38 = PDF pages
#    30-44 of the PDF that bash-doc ships), cut out with qpdf.
qpdf --empty --pages /usr/share/doc/bash/bashref.pdf 30-44 -- "$OUT/en-bash-shell-expansions.pdf"

# 2. Git User Manual, chapters 1-2 ("Repositories and Branches", "Exploring Git history"),
#    cut from git-doc's user-manual.html, navigation stripped, pandoc HTML -> DOCX.
python3 - /usr/share/doc/git-doc/user-manual.html "$WORK/git-ch1-2.src.html" <<'PY'
import sys
html = open(sys.argv[1], encoding="utf-8").read()
start = html.index('<div class="chapter"><div class="titlepage"><div><div><h1 class="title"><a name="repositories-and-branches"')
end = html.index('<div class="chapter"><div class="titlepage"><div><div><h1 class="title"><a name="Developing-With-git"')
open(sys.argv[2], "w", encoding="utf-8").write(
    '<html><head><meta charset="utf-8"><title>Git User Manual</title></head><body>'
    + html[start:end] + "</body></html>")
PY
clean_html "$WORK/git-ch1-2.html" en "$WORK/git-ch1-2.src.html"
pandoc -f html -t docx "$WORK/git-ch1-2.html" -o "$OUT/en-git-user-manual-ch1-2.docx"

# 3. SQLite "Date And Time Functions" (sqlite3-doc: lang_datefunc.html) -> PDF (LibreOffice).
clean_html "$WORK/sqlite-datefunc.html" en /usr/share/doc/sqlite3/lang_datefunc.html
soffice_convert "$WORK/sqlite-datefunc.html" pdf en-sqlite-date-time-functions.pdf

# 4. SQLite "Write-Ahead Logging" (sqlite3-doc: wal.html) -> DOCX (pandoc).
clean_html "$WORK/sqlite-wal.html" en /usr/share/doc/sqlite3/wal.html
pandoc -f html -t docx "$WORK/sqlite-wal.html" -o "$OUT/en-sqlite-wal.docx"

# --- Chinese ---------------------------------------------------------------------------------

# 5. Debian FAQ (zh-cn), chapters "Debian 软件包管理系统基础" and "Debian 软件包管理工具"
#    (pkg-basics, pkgtools) -> PDF (LibreOffice, Noto CJK fonts embedded).
clean_html "$WORK/faq-packages.html" zh-CN "$FAQ/pkg-basics.zh-cn.html" "$FAQ/pkgtools.zh-cn.html"
soffice_convert "$WORK/faq-packages.html" pdf zh-debian-faq-packages.pdf

# 6. Debian FAQ (zh-cn), chapters uptodate, kernel, customizing -> DOCX (pandoc).
clean_html "$WORK/faq-system.html" zh-CN "$FAQ/uptodate.zh-cn.html" "$FAQ/kernel.zh-cn.html" \
    "$FAQ/customizing.zh-cn.html"
pandoc -f html -t docx "$WORK/faq-system.html" -o "$OUT/zh-debian-faq-upgrade-kernel-custom.docx"

# 7. manpages-zh, network tools: ping(8) ifconfig(8) route(8) netstat(8)
#    -> pandoc man -> HTML -> PDF (LibreOffice, Noto CJK fonts embedded).
man_to_html "$WORK/man-network.html" "$MANZH"/man8/ping.8.gz "$MANZH"/man8/ifconfig.8.gz \
    "$MANZH"/man8/route.8.gz "$MANZH"/man8/netstat.8.gz
soffice_convert "$WORK/man-network.html" pdf zh-man-network-tools.pdf

# 8. manpages-zh, text utilities: sort(1) uniq(1) cut(1) paste(1) head(1) tail(1) wc(1)
#    -> pandoc man -> HTML -> DOCX (pandoc).
man_to_html "$WORK/man-text.html" "$MANZH"/man1/sort.1.gz "$MANZH"/man1/uniq.1.gz \
    "$MANZH"/man1/cut.1.gz "$MANZH"/man1/paste.1.gz "$MANZH"/man1/head.1.gz \
    "$MANZH"/man1/tail.1.gz "$MANZH"/man1/wc.1.gz
pandoc -f html -t docx "$WORK/man-text.html" -o "$OUT/zh-man-text-utilities.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do echo "$(basename "$f"): $(pdfinfo "$f" | awk '/^Pages/ {print $2}') pages"; done
