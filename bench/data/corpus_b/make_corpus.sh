#!/usr/bin/env bash
# Rebuild bench/data/corpus_b/docs/ from Debian 12 (bookworm) packages.
#
# English: chapters of the Python 3.11 documentation (python3.11-doc, Sphinx HTML).
# Chinese: section ranges of Debian Reference chapters 1, 2, 9, 10 (debian-reference-zh-cn,
# DocBook HTML). No chapter appears in both languages; chapters 3, 4, 5, 7, 8 of the Debian
# Reference are deliberately not used (bench/data/external uses them).
# Rerunning gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/corpus_b/make_corpus.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/docs"
WORK="$(mktemp -d /tmp/ragkb-corpus-b.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

apt-get update
apt-get install -y --no-install-recommends \
    python3.11-doc debian-reference-zh-cn \
    pandoc libreoffice-writer-nogui fonts-noto-cjk qpdf poppler-utils

mkdir -p "$OUT"
rm -f "$OUT"/*.pdf "$OUT"/*.docx

PYDOC=/usr/share/doc/python3.11/html
REF=/usr/share/debian-reference

# Pandoc filter for Sphinx HTML: keep only <div class="body" role="main"> (drops the related/
# sidebar/footer navigation) and drop the "¶" header links.
cat > "$WORK/sphinx-body.lua" <<'LUA'
function Pandoc(doc)
  local body = nil
  doc:walk({Div = function(el)
    if body == nil and el.classes:includes("body") then body = el.content end
  end})
  return pandoc.Pandoc(body or doc.blocks, doc.meta)
end
function Link(el)
  if el.classes:includes("headerlink") then return {} end
end
LUA

# Pandoc filter for DocBook HTML: drop navigation bars and tables of contents; when the
# environment variable KEEP lists section numbers (e.g. "1.1 1.2"), keep only those top-level
# sections of the chapter (plus the chapter title).
cat > "$WORK/docbook.lua" <<'LUA'
local drop = {navheader = true, navfooter = true, toc = true}
local keep = {}
for n in string.gmatch(os.getenv("KEEP") or "", "%S+") do keep[n] = true end
local function section_number(div)
  local h = nil
  div:walk({Header = function(el) if h == nil then h = pandoc.utils.stringify(el) end end})
  return h and string.match(h, "^(%d+%.%d+)%.") or nil
end
function Div(el)
  for _, c in ipairs(el.classes) do
    if drop[c] then return {} end
  end
  if next(keep) ~= nil and el.classes:includes("section") then
    local n = section_number(el)
    -- only top-level sections (n.m) are judged; deeper ones live inside kept ones
    if n ~= nil and not keep[n] then return {} end
  end
end
LUA

# HTML -> cleaned standalone HTML (pandoc + filter) -> PDF or DOCX with LibreOffice Writer.
soffice_convert() {  # $1 source html, $2 lua filter, $3 format (pdf|docx), $4 output name, $5 lang
    local base="$WORK/$(basename "${4%.*}")"
    pandoc -f html -t html5 --standalone --lua-filter "$WORK/$2" -M lang="$5" \
        "$1" -o "$base.html"
    local filter="writer_pdf_Export"
    [ "$3" = docx ] && filter="MS Word 2007 XML"
    soffice --headless --infilter="HTML (StarWriter)" \
        --convert-to "$3:$filter" --outdir "$WORK" "$base.html"
    mv "$base.$3" "$OUT/$4"
}

# HTML -> DOCX directly with pandoc.
pandoc_docx() {  # $1 source html, $2 lua filter, $3 output name, $4 title
    pandoc -f html -t docx --lua-filter "$WORK/$2" --metadata title="$4" "$1" -o "$OUT/$3"
}

# 1. English PDF: Python HOWTO "Sorting HOW TO" (howto/sorting.html), LibreOffice.
soffice_convert "$PYDOC/howto/sorting.html" sphinx-body.lua pdf python-sorting-howto.en.pdf en-US
# 2. English PDF: Python HOWTO "Logging HOWTO" (howto/logging.html), LibreOffice.
soffice_convert "$PYDOC/howto/logging.html" sphinx-body.lua pdf python-logging-howto.en.pdf en-US
# 3. English DOCX: Python tutorial ch. 8 "Errors and Exceptions" (tutorial/errors.html), pandoc.
pandoc_docx "$PYDOC/tutorial/errors.html" sphinx-body.lua python-tutorial-errors.en.docx \
    "The Python Tutorial: Errors and Exceptions"
# 4. English DOCX: Python HOWTO "Argparse Tutorial" (howto/argparse.html), LibreOffice.
soffice_convert "$PYDOC/howto/argparse.html" sphinx-body.lua docx python-argparse-tutorial.en.docx en-US

# 5. Chinese PDF: Debian Reference ch. 1 "GNU/Linux 教程", sections 1.1-1.4, LibreOffice;
#    the CJK glyphs come from fonts-noto-cjk, embedded as subsets.
KEEP="1.1 1.2 1.3 1.4" soffice_convert "$REF/ch01.zh-cn.html" docbook.lua pdf \
    debian-reference-gnu-linux-tutorial.zh-cn.pdf zh-CN
# 6. Chinese PDF: Debian Reference ch. 9 "系统技巧", sections 9.1-9.4, LibreOffice.
KEEP="9.1 9.2 9.3 9.4" soffice_convert "$REF/ch09.zh-cn.html" docbook.lua pdf \
    debian-reference-system-tips.zh-cn.pdf zh-CN
# 7. Chinese DOCX: Debian Reference ch. 2 "Debian 软件包管理", sections 2.1-2.3, pandoc.
KEEP="2.1 2.2 2.3" pandoc_docx "$REF/ch02.zh-cn.html" docbook.lua \
    debian-reference-package-management.zh-cn.docx "Debian 参考手册 第 2 章 Debian 软件包管理（2.1–2.3 节）"
# 8. Chinese DOCX: Debian Reference ch. 10 "数据管理", sections 10.1-10.3, LibreOffice.
KEEP="10.1 10.2 10.3" soffice_convert "$REF/ch10.zh-cn.html" docbook.lua docx \
    debian-reference-data-management.zh-cn.docx zh-CN

ls -l "$OUT"
for f in "$OUT"/*.pdf; do printf '%s: %s pages\n' "$(basename "$f")" "$(pdfinfo "$f" | awk '/^Pages:/ {print $2}')"; done
du -sh "$OUT"
