# Conversion steps shared by the corpora's make_corpus.sh scripts (sourced, not run).
#
# The caller sets WORK (a scratch folder holding its strip-nav.lua filter) and OUT (the docs
# folder) before calling these: prepare_corpus does, for the corpora that share strip-nav.lua.

# Where Debian 12 puts the documentation the corpora are made from.
PYDOC=/usr/share/doc/python3-doc/html
GITDOC=/usr/share/doc/git-doc
SQLDOC=/usr/share/doc/sqlite3
MANZH=/usr/share/man/zh_CN

# A corpus script's start: a scratch folder WORK (removed on exit), the packages unless
# SKIP_APT=1, an emptied docs folder OUT and the shared pandoc filter in WORK.
prepare_corpus() {  # $1 the corpus folder, $2... the Debian packages its documents come from
    local here="$1"; shift
    OUT="$here/docs"
    WORK="$(mktemp -d "/tmp/ragkb-$(basename "$here").XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
    if [ "${SKIP_APT:-}" != 1 ]; then
        apt-get update
        apt-get install -y --no-install-recommends "$@" \
            pandoc libreoffice-writer-nogui fonts-noto-cjk poppler-utils python3
    fi
    mkdir -p "$OUT"
    rm -f "$OUT"/*.pdf "$OUT"/*.docx
    # The pandoc filter that drops navigation, menus, sidebars and footers.
    cp "$here/../strip-nav.lua" "$WORK/strip-nav.lua"
}

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
