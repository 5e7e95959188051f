"""Check the built HTML for rendering faults that Sphinx does not report.

Run by scripts/docs.sh after the build (``python docs/_check_html.py
build/docs/html``); exits with status 1 and lists every fault found:

- a Markdown table that did not become a table: a paragraph whose text
  starts with ``|`` or holds a ``|---|`` separator row (a paragraph or a
  blank line inside a table ends it, and the rest renders as raw pipes);
- emphasis made from a formula: ``<em>`` whose neighbours show it came from
  a ``*`` meant as multiplication (``j*k .. j*k+k-1`` becomes
  ``j<em>k .. j</em>k+k-1``): an ``<em>`` immediately preceded or followed
  by a letter or digit;
- a cross-reference that did not resolve: Sphinx renders it as code
  without a link (``<code class="xref ...">`` outside ``<a>``);
- Markdown or reST markup left as text: a literal `` ``name`` `` or
  ``{doc}``/``{class}`` role in a paragraph, or an image whose file is
  missing.
"""
import html
import os
import re
import sys
from html.parser import HTMLParser


class _Page(HTMLParser):
    """Collects paragraph texts, and unlinked cross-references."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paragraphs, self.unlinked, self.images = [], [], []
        self._in_p = 0
        self._in_pre = 0
        self._in_a = 0
        self._in_xref = False
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "p":
            self._in_p += 1
            self._text = []
        elif tag == "pre":
            self._in_pre += 1
        elif tag == "a":
            self._in_a += 1
        elif tag == "code" and "xref" in (attrs.get("class") or "").split() and not self._in_a:
            self.unlinked.append("")
            self._in_xref = True
        elif tag == "img":
            self.images.append(attrs.get("src") or "")

    def handle_endtag(self, tag):
        if tag == "p" and self._in_p:
            self._in_p -= 1
            self.paragraphs.append("".join(self._text).strip())
        elif tag == "pre" and self._in_pre:
            self._in_pre -= 1
        elif tag == "a" and self._in_a:
            self._in_a -= 1
        elif tag == "code":
            self._in_xref = False

    def handle_data(self, data):
        if self._in_xref:
            self.unlinked[-1] += data
        if self._in_p and not self._in_pre:
            self._text.append(data)


# A row of two or more cells ("| a | b |"), or a separator row.
_TABLE_ROW = re.compile(r"^\s*\|[^|]*\|[^|]*\||\|\s*:?-{3,}:?\s*\|")
_EM_FROM_STAR = re.compile(r"[A-Za-z0-9_)\]]<em>|</em>[A-Za-z0-9_(\[]")
_LEFT_MARKUP = re.compile(r"``\w|\{(doc|class|func|meth|mod|ref)\}`")


def check_page(path, root):
    """The faults of one HTML page, as strings."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Only the article: the theme's navigation repeats every title.
    match = re.search(r"<article[^>]*>(.*)</article>", text, re.S)
    body = match.group(1) if match else text
    page = _Page()
    page.feed(body)
    where = os.path.relpath(path, root)
    faults = []
    for paragraph in page.paragraphs:
        if _TABLE_ROW.search(paragraph):
            faults.append(f"{where}: table rows rendered as a paragraph: {paragraph[:80]!r}")
        if _LEFT_MARKUP.search(paragraph):
            faults.append(f"{where}: markup left as text: {paragraph[:80]!r}")
    for em in _EM_FROM_STAR.finditer(body):
        context = html.unescape(re.sub(r"<[^>]+>", "", body[max(0, em.start() - 40):em.end() + 40]))
        faults.append(f"{where}: '*' turned into italics near {context!r}")
    for name in page.unlinked:
        faults.append(f"{where}: unresolved cross-reference to {name!r}")
    for src in page.images:
        if not src.startswith(("http:", "https:", "data:")):
            target = os.path.normpath(os.path.join(os.path.dirname(path), src.split("#")[0]))
            if not os.path.exists(target):
                faults.append(f"{where}: missing image {src}")
    return faults


def check_site(root):
    """The faults of every page under root (the HTML output folder)."""
    faults = []
    for folder, _, files in os.walk(root):
        if os.path.basename(folder).startswith("_"):
            continue
        for name in sorted(files):
            if name.endswith(".html") and name not in ("genindex.html", "search.html",
                                                       "py-modindex.html"):
                faults += check_page(os.path.join(folder, name), root)
    return faults


if __name__ == "__main__":
    site = sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "docs", "html")
    found = check_site(site)
    for fault in found:
        print(fault)
    pages = sum(len([n for n in files if n.endswith(".html")]) for _, _, files in os.walk(site))
    print(f"_check_html: {pages} pages, {len(found)} rendering faults")
    sys.exit(1 if found else 0)
