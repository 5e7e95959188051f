"""The documentation cannot silently fall behind the package.

Checked without Sphinx (the main test run does not install the docs extra):
the API reference's lists (docs/_apigen.py, which conf.py turns into the API
page) hold every public name of every public module; no public function or
class is left out of its module's ``__all__``; the README is a front page
and no page includes it; nothing in the README, the docs, the examples or
the docstrings mentions how the work was organised; the tutorial's code
runs; the estimators' Examples sections pass as doctests; the examples
have the title the gallery needs; the docs extra names what conf.py loads;
docs/_check_html.py finds the rendering faults it is for. The build itself
(bash scripts/docs.sh, in .ci/run) checks the rest with warnings as errors
(numpydoc validation of every docstring, every example run), then runs
docs/_check_html.py on the built pages.
"""
import ast
import importlib
import inspect
import os
import re
import sys

import pytest

from conftest import require_module

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), os.pardir))
DOCS = os.path.join(ROOT, "docs")
EXAMPLES = os.path.join(ROOT, "examples")

# Public-looking names that are deliberately not API, with the reason.
NOT_API = {
    # What the estimators' epoch loop calls (every callback's hooks, in
    # order); users pass callbacks instead.
    "fastmlp.callbacks.CallbackList",
}


@pytest.fixture(scope="module")
def apigen():
    sys.path.insert(0, DOCS)
    try:
        import _apigen
    finally:
        sys.path.remove(DOCS)
    return _apigen


def _read(*parts):
    with open(os.path.join(*parts), encoding="utf-8") as f:
        return f.read()


def _defined_here(module, name):
    """True for a function or class that module itself (for the package: one
    of its private modules) defines, as opposed to an import."""
    obj = getattr(module, name)
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return False
    home = getattr(obj, "__module__", "") or ""
    if module.__name__ == "fastmlp":
        return home.startswith("fastmlp._") or home == "fastmlp"
    return home == module.__name__


def test_public_modules_are_found(apigen):
    modules = apigen.public_modules()
    assert modules[0] == "fastmlp"
    assert {"fastmlp.kernels", "fastmlp.reference", "fastmlp.callbacks",
            "fastmlp.plot"} <= set(modules)
    assert not [m for m in modules if m.split(".")[-1].startswith("_")]


def test_every_documented_name_exists_and_has_a_docstring(apigen):
    for module_name in apigen.public_modules():
        module = importlib.import_module(module_name)
        for name in apigen.documented_names(module_name):
            assert hasattr(module, name), f"{module_name}.__all__ names missing {name!r}"
            assert inspect.getdoc(getattr(module, name)), f"{module_name}.{name} has no docstring"


def test_no_public_function_or_class_is_left_out_of_all(apigen):
    for module_name in apigen.public_modules():
        module = importlib.import_module(module_name)
        public = {name for name in dir(module)
                  if not name.startswith("_") and _defined_here(module, name)}
        missing = sorted(name for name in public - set(module.__all__)
                         if f"{module_name}.{name}" not in NOT_API)
        assert not missing, (f"{module_name} defines {missing} but leaves them out of __all__, "
                             "so out of the API reference: add them or prefix an underscore")


def _api_page_entries(page):
    """{module: [names]} of the autosummary lists on the generated page."""
    entries, module, in_list = {}, None, False
    for line in page.splitlines():
        match = re.match(r"\.\. module:: (\S+)$", line)
        if match:
            module = match.group(1)
            entries[module] = []
        elif line.startswith(".. autosummary::"):
            in_list = True
        elif in_list and line.startswith("   ") and not line.strip().startswith(":"):
            if line.strip():
                entries[module].append(line.strip())
        elif line.strip() and not line.startswith("   "):
            in_list = False
    return entries


def test_api_page_lists_exactly_each_modules_all(apigen):
    entries = _api_page_entries(apigen.api_page())
    assert list(entries) == apigen.public_modules()
    for module_name, names in entries.items():
        module = importlib.import_module(module_name)
        expected = [n for n in module.__all__ if n != "__version__"]
        assert sorted(names) == sorted(expected), module_name
        assert len(names) == len(set(names)), f"{module_name} listed twice"


def _markdown_pages():
    for folder, _, files in os.walk(DOCS):
        if os.path.basename(folder).startswith("_"):
            continue
        for name in sorted(files):
            if name.endswith(".md"):
                yield os.path.join(folder, name)


def test_no_page_includes_the_readme():
    # The README is a front page; the guide is written for the site, not cut
    # from the README (whose "above" and "below" would point elsewhere).
    for path in _markdown_pages():
        assert "_repo/README.md" not in _read(path), os.path.relpath(path, DOCS)


# Words that belong to how the work was organised, not to the product: a
# figure names its CPU, date and command instead.
PROCESS_NOTES = re.compile(
    r"the issue|issue \d|speed issue|the lead\b|lead's|on this machine|this session|"
    r"shared development machine|development machine|quiet-machine|foundation work|"
    r"this commit|start of the day|\(above\)|\(below\)", re.I)


def _product_texts():
    yield "README.md", _read(ROOT, "README.md")
    for path in _markdown_pages():
        yield os.path.relpath(path, ROOT), _read(path)
    for name in sorted(os.listdir(EXAMPLES)):
        if name.endswith((".py", ".rst")):
            yield f"examples/{name}", _read(EXAMPLES, name)
    package = os.path.join(ROOT, "src", "fastmlp")
    for name in sorted(os.listdir(package)):
        if name.endswith(".py"):
            tree = ast.parse(_read(package, name))
            docs = [ast.get_docstring(node) or "" for node in ast.walk(tree)
                    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))]
            yield f"src/fastmlp/{name} (docstrings)", "\n".join(docs)


def test_no_process_notes_in_readme_docs_examples_or_docstrings():
    found = [(where, match.group(0)) for where, text in _product_texts()
             for match in PROCESS_NOTES.finditer(text)]
    assert not found, found


def test_readme_is_a_front_page():
    readme = _read(ROOT, "README.md")
    assert len(readme.splitlines()) < 150
    # Its first commands are what .ci/run executes.
    assert "pip install . && python -m fastmlp demo" in readme.split("##")[0]
    assert 'pip install ".[test]" && python -m pytest' in readme.split("##")[0]
    ci = _read(ROOT, ".ci", "run")
    assert "pip install .\npython -m fastmlp demo" in ci
    assert 'pip install ".[test]"\npython -m pytest' in ci
    # Every local link points to a file that exists.
    for target in re.findall(r"\]\(([^)#:]+)\)", readme):
        assert os.path.exists(os.path.join(ROOT, target)), target


def _python_blocks(path):
    return re.findall(r"^```python\n(.*?)^```", _read(path), re.S | re.M)


TUTORIAL = os.path.join(DOCS, "tutorial")
TUTORIAL_PAGES = sorted(n for n in os.listdir(TUTORIAL) if n.endswith(".md") and n != "index.md")


@pytest.mark.parametrize("page", TUTORIAL_PAGES)
def test_tutorial_code_runs(page, tmp_path, monkeypatch):
    # Each page's code blocks, in order, in one namespace, from an empty
    # folder: what a reader pasting them into Python gets.
    require_module("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    blocks = _python_blocks(os.path.join(TUTORIAL, page))
    assert blocks, f"{page} has no code"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for block in blocks:
        exec(compile(block, f"docs/tutorial/{page}", "exec"), namespace)


def test_tutorial_pages_are_all_in_its_index():
    index = _read(TUTORIAL, "index.md")
    for page in TUTORIAL_PAGES:
        assert re.search(rf"^{re.escape(page[:-3])}$", index, re.M), page


def test_every_page_is_in_the_index():
    # The tutorial's pages are in its own index (above), which is in this one.
    index = _read(DOCS, "index.md")
    for path in _markdown_pages():
        page = os.path.relpath(path, DOCS)[:-3]
        if page == "index" or (page.startswith("tutorial/") and page != "tutorial/index"):
            continue
        assert re.search(rf"^{re.escape(page)}$", index, re.M), f"{page} not in index.md"


def test_examples_have_a_gallery_title():
    # sphinx-gallery needs a docstring opening with a title underlined by '='.
    scripts = [n for n in os.listdir(EXAMPLES) if n.endswith(".py") and not n.startswith("_")]
    assert scripts
    for name in scripts:
        doc = ast.get_docstring(ast.parse(_read(EXAMPLES, name)))
        assert doc, name
        title, underline = doc.splitlines()[:2]
        assert title.strip() and set(underline) == {"="} and len(underline) == len(title), name


def test_docs_extra_names_what_conf_py_loads():
    conf = ast.parse(_read(DOCS, "conf.py"))
    values = {node.targets[0].id: node.value for node in conf.body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    extensions = ast.literal_eval(values["extensions"])
    theme = ast.literal_eval(values["html_theme"])
    # Extensions named _x are docs/_x.py, not distributions.
    distributions = {ext.split(".")[0].replace("_", "-") for ext in extensions
                     if not ext.startswith("_")} | {theme}
    # pyproject read with a pattern: tomllib is Python >= 3.11, fastmlp >= 3.10.
    pyproject = _read(ROOT, "pyproject.toml")
    extra = re.findall(r'"([^"]+)"', re.search(r"^docs = \[(.*?)\]", pyproject, re.M | re.S)[1])
    named = {re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower() for req in extra}
    assert distributions <= named, distributions - named


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor", "Perceptron"])
def test_estimator_docstring_examples_run(name):
    # The Examples sections are doctests: their outputs are checked.
    import doctest
    import warnings

    import fastmlp

    obj = getattr(fastmlp, name)
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(obj, name) if t.examples]
    assert tests, f"{name} has no Examples section"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short max_iter's ConvergenceWarning
        for test in tests:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, result


def test_html_check_finds_the_rendering_faults(tmp_path):
    # docs/_check_html.py, which scripts/docs.sh runs on the built site, on
    # pages with each fault it is for, and on a clean one.
    sys.path.insert(0, DOCS)
    try:
        import _check_html
    finally:
        sys.path.remove(DOCS)
    pages = {
        "table.html": "<article><table><tr><td>a</td></tr></table>"
                      "<p>| no samples | ValueError | <code>Found</code> |\n"
                      "| 1-d | ValueError |</p></article>",
        "star.html": "<article><p>unit j's pieces in columns j<em>k .. j</em>k+k-1</p></article>",
        "xref.html": '<article><p><code class="xref py py-class">sklearn.Nope</code></p></article>',
        "image.html": '<article><img src="missing.png"></article>',
        "clean.html": '<article><p>|r| is the absolute value; <em>emphasis</em> is fine.</p>'
                      '<table><tr><td>| a | b |</td></tr></table>'
                      '<p><a class="reference" href="x.html"><code class="xref py py-class">'
                      "fastmlp.MLPClassifier</code></a></p></article>",
    }
    for name, body in pages.items():
        (tmp_path / name).write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    faults = _check_html.check_site(str(tmp_path))
    by_page = {name: [f for f in faults if f.startswith(name)] for name in pages}
    assert "table rows" in by_page["table.html"][0]
    assert "italics" in by_page["star.html"][0]
    assert "sklearn.Nope" in by_page["xref.html"][0]
    assert "missing image" in by_page["image.html"][0]
    assert by_page["clean.html"] == []
