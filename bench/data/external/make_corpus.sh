#!/usr/bin/env bash
# Rebuild bench/data/external/docs/ from Debian 12 (bookworm) packages.
#
# Every document is real text shipped by a Debian package; this script documents where each
# file came from and how it was converted. It needs root (apt-get) and is not run in CI.
# Rerunning it gives the same text, though PDF/DOCX bytes differ (timestamps, font subsets).
#
#   sudo bench/data/external/make_corpus.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/docs"
WORK="$(mktemp -d /tmp/ragkb-corpus.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

apt-get update
apt-get install -y --no-install-recommends \
    libtasn1-doc shared-mime-info maint-guide debian-reference-en debian-reference-zh-cn \
    debian-faq debian-faq-zh-cn manpages-zh \
    pandoc libreoffice-writer-nogui fonts-noto-cjk qpdf poppler-utils

mkdir -p "$OUT"
rm -f "$OUT"/*.pdf "$OUT"/*.docx

REF=/usr/share/debian-reference
FAQ=/usr/share/doc/debian/FAQ

# Pandoc filter: drop DocBook navigation bars and per-chapter tables of contents from the HTML.
cat > "$WORK/strip-nav.lua" <<'LUA'
local drop = {navheader = true, navfooter = true, toc = true}
function Div(el)
  for _, c in ipairs(el.classes) do
    if drop[c] then return {} end
  end
end
LUA
# Pandoc filter: keep only the legal notice (permission text) of a DocBook index page.
cat > "$WORK/legal-only.lua" <<'LUA'
function Pandoc(doc)
  local keep = {}
  doc:walk({Div = function(el)
    if el.classes:includes("legalnotice") then
      for _, b in ipairs(el.content) do table.insert(keep, b) end
    end
  end})
  return pandoc.Pandoc(keep, doc.meta)
end
LUA

# HTML chapter -> cleaned standalone HTML (pandoc) -> PDF or DOCX with LibreOffice Writer.
soffice_convert() {  # $1 source html, $2 format (pdf|docx), $3 output file name, $4 language
    local base="$WORK/$(basename "${3%.*}")"
    pandoc -f html -t html5 --standalone --lua-filter "$WORK/strip-nav.lua" -M lang="$4" \
        "$1" -o "$base.html"
    local filter="writer_pdf_Export"
    [ "$2" = docx ] && filter="MS Word 2007 XML"
    soffice --headless --infilter="HTML (StarWriter)" \
        --convert-to "$2:$filter" --outdir "$WORK" "$base.html"
    mv "$base.$2" "$OUT/$3"
}

# DocBook FAQ chapters -> DOCX with pandoc, followed by the FAQ's own licence notice (required by it).
faq_docx() {  # $1 index html, $2 licence heading, $3 title, $4 output file, $5... chapters
    local index="$1" heading="$2" title="$3" out="$4"
    shift 4
    pandoc -f html -t html5 --lua-filter "$WORK/legal-only.lua" "$index" -o "$WORK/legal.html"
    {   printf '<h1>%s</h1>\n<p>' "$heading"
        perl -0ne 'print $1 if m{<p class="copyright">(.*?)</p>}s' "$index"
        printf '</p>\n'
        cat "$WORK/legal.html"
    } > "$WORK/legal2.html"
    pandoc -f html -t docx --lua-filter "$WORK/strip-nav.lua" --metadata title="$title" \
        "$@" "$WORK/legal2.html" -o "$OUT/$out"
}

# 1-3. English PDFs shipped as PDFs (texinfo/pdfTeX, LaTeX, DocBook/dblatex): copied unchanged.
cp /usr/share/doc/libtasn1-doc/libtasn1.pdf "$OUT/libtasn1-manual.en.pdf"
cp /usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf "$OUT/shared-mime-info-spec.en.pdf"
cp /usr/share/doc/maint-guide/maint-guide.en.pdf "$OUT/debian-new-maintainers-guide.en.pdf"

# 4. English PDF: Debian Reference ch. 5 "Network setup", HTML -> PDF with LibreOffice.
soffice_convert "$REF/ch05.en.html" pdf debian-reference-network-setup.en.pdf en-US

# 5. English DOCX: Debian FAQ ch. 7-9 (package basics, package tools, keeping up to date)
#    plus the FAQ's licence notice, HTML -> DOCX with pandoc.
faq_docx "$FAQ/index.en.html" "Copyright and license" "The Debian GNU/Linux FAQ: Debian packages" \
    debian-faq-packages.en.docx \
    "$FAQ/pkg-basics.en.html" "$FAQ/pkgtools.en.html" "$FAQ/uptodate.en.html"

# 6. English DOCX: Debian Reference ch. 8 "I18N and L10N", HTML -> DOCX with LibreOffice.
soffice_convert "$REF/ch08.en.html" docx debian-reference-i18n-l10n.en.docx en-US

# 7. Chinese PDF: Debian Reference (zh-CN, XeLaTeX/dblatex build) ch. 3 "系统初始化" and
#    ch. 4 "认证和访问控制": pages 100-118 of the shipped PDF, cut out with qpdf.
qpdf "$REF/debian-reference.zh-cn.pdf" --pages . 100-118 -- \
    "$OUT/debian-reference-init-auth.zh-cn.pdf"

# 8. Chinese PDF: Debian Reference ch. 7 "GUI（图形用户界面）系统", HTML -> PDF with LibreOffice;
#    the CJK glyphs come from fonts-noto-cjk (Noto Serif/Sans CJK), embedded as subsets.
soffice_convert "$REF/ch07.zh-cn.html" pdf debian-reference-gui.zh-cn.pdf zh-CN

# 9. Chinese DOCX: Debian FAQ (zh-CN) ch. 1-4 (定义和概览, 获取和安装, 选择发行版, 兼容性)
#    plus the translated licence notice, HTML -> DOCX with pandoc.
faq_docx "$FAQ/zh-cn/index.zh-cn.html" "版权声明" "Debian GNU/Linux 常见问题（FAQ）：基础" \
    debian-faq-basics.zh-cn.docx \
    "$FAQ/zh-cn/basic-defs.zh-cn.html" "$FAQ/zh-cn/getting-debian.zh-cn.html" \
    "$FAQ/zh-cn/choosing.zh-cn.html" "$FAQ/zh-cn/compatibility.zh-cn.html"

# 10. Chinese DOCX: manpages-zh pages tar(1), gzip(1), bzip2(1), cpio(1), man -> DOCX with
#     pandoc; each page becomes a Heading 1 with its own sections one level below.
: > "$WORK/man.md"
for page in tar gzip bzip2 cpio; do
    printf '# %s(1)\n\n' "$page" >> "$WORK/man.md"
    zcat "/usr/share/man/zh_CN/man1/$page.1.gz" \
        | pandoc -f man -t markdown --shift-heading-level-by=1 >> "$WORK/man.md"
    printf '\n\n' >> "$WORK/man.md"
done
pandoc -f markdown -t docx --metadata title="归档与压缩命令手册页（manpages-zh）" \
    "$WORK/man.md" -o "$OUT/manpages-zh-archiving.zh-cn.docx"

ls -l "$OUT"
for f in "$OUT"/*.pdf; do printf '%s: %s pages\n' "$(basename "$f")" "$(pdfinfo "$f" | awk '/^Pages:/ {print $2}')"; done
du -sh "$OUT"
