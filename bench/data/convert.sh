# Conversion steps shared by the corpora's make_corpus.sh scripts (sourced, not run).
#
# The caller sets WORK (a scratch folder holding its strip-nav.lua filter) and OUT (the docs
# folder) before calling these.

# Cleaned HTML (one or more inputs, concatenated by pandoc) -> standalone HTML.
clean_html() {  # $1 output html, $2 language, $3... input html files
    local out="$1" lang="$2"; shift 2
    pandoc -f html -t html5 --standalone --lua-filter "$WORK/strip-nav.lua" -M lang="$lang" \
        -M title=" " "$@" -o "$out"
}

# HTML -> PDF or DOCX with LibreOffice Writer.
soffice_convert() {  # $1 html, $2 pdf|docx, $3 output file name
    local filter="writer_pdf_Export"
    [ "$2" = docx ] && filter="MS Word 2007 XML"
    soffice --headless --infilter="HTML (StarWriter)" \
        --convert-to "$2:$filter" --outdir "$WORK" "$1" >/dev/null
    mv "$WORK/$(basename "${1%.*}").$2" "$OUT/$3"
}

# Several zh_CN man pages -> one HTML (pandoc man reader, each page under its own title).
man_to_html() {  # $1 output html, $2... man page files (.gz)
    local out="$1"; shift
    local parts=()
    for m in "$@"; do
        local name; name="$(basename "$m" .gz)"
        zcat "$m" > "$WORK/$name"
        printf '<h1>%s</h1>\n' "${name%.*}($(echo "$name" | sed 's/.*\.//'))" > "$WORK/$name.head.html"
        pandoc -f man -t html5 --shift-heading-level-by=1 "$WORK/$name" -o "$WORK/$name.body.html"
        parts+=("$WORK/$name.head.html" "$WORK/$name.body.html")
    done
    pandoc -f html -t html5 --standalone -M lang=zh-CN -M title=" " "${parts[@]}" -o "$out"
}
