-- Pandoc filter for the corpora' make_corpus.sh scripts (corpus_d onwards; copied into each
-- script's $WORK, where convert.sh's clean_html reads it): drop navigation bars, menus,
-- sidebars, footers and tables of contents (DocBook, Sphinx, asciidoc and sqlite.org HTML), and
-- the Sphinx "¶" header links.
local drop = {navheader = true, navfooter = true, toc = true, menu = true, mainmenu = true,
              submenu = true, searchmenu = true, tagline = true, fancy_toc = true,
              ["fancy-toc1"] = true, ["fancy-toc2"] = true, ["fancy-toc3"] = true,
              nosearch = true, related = true, sphinxsidebar = true, footer = true,
              ["menu-wrapper"] = true, ["mobile-nav"] = true, ["inline-search"] = true}
function Div(el)
  for _, c in ipairs(el.classes) do
    if drop[c] then return {} end
  end
end
function Link(el)
  for _, c in ipairs(el.classes) do
    if c == "headerlink" then return {} end
  end
end
