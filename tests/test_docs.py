"""The documentation cannot silently fall behind the package.

Checked without Sphinx (the main test run does not install the docs extra):
the API reference's lists (docs/_apigen.py, which conf.py turns into the API
page) hold every public name of every public module; no public function or
class is left out of its module's ``__all__``; the user guide's README
excerpts still find their headings; the examples have the title the gallery
needs; the docs extra names what conf.py loads. The build itself (bash
scripts/docs.sh, in .ci/run) checks the rest with warnings as errors:
numpydoc validation of every docstring, every example run.
"""
import ast
import importlib
import inspect
import os
import re
import sys

import pytest

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


def _includes():
    """(page, options) of every MyST include of the README in docs/."""
    found = []
    for folder, _, files in os.walk(DOCS):
        for name in files:
            if not name.endswith(".md"):
                continue
            path = os.path.join(folder, name)
            text = _read(path)
            for block in re.findall(r"```\{include\} ([^\n]+)\n(.*?)```", text, re.S):
                target, body = block
                options = dict(re.findall(r'^:([\w-]+): "?(.*?)"?$', body, re.M))
                found.append((os.path.relpath(path, DOCS), target.strip(), options))
    return found


def test_user_guide_excerpts_of_the_readme_still_match():
    readme = _read(ROOT, "README.md")
    includes = _includes()
    assert len(includes) >= 8
    for page, target, options in includes:
        assert target.endswith("_repo/README.md"), (page, target)
        text = readme
        start = options.get("start-after")
        if start:
            assert start in text, f"{page}: README has no {start!r}"
            text = text[text.index(start) + len(start):]
        end = options.get("end-before")
        if end:
            assert end in text, f"{page}: README has no {end!r} after {start!r}"
            text = text[:text.index(end)]
        assert text.strip(), f"{page}: the README excerpt is empty"


def test_every_page_is_in_the_index():
    index = _read(DOCS, "index.md")
    for folder, _, files in os.walk(DOCS):
        if os.path.basename(folder).startswith("_"):
            continue
        for name in files:
            if name.endswith(".md") and name != "index.md":
                page = os.path.relpath(os.path.join(folder, name), DOCS)[:-3]
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
    distributions = {ext.split(".")[0].replace("_", "-") for ext in extensions} | {theme}
    # pyproject read with a pattern: tomllib is Python >= 3.11, fastmlp >= 3.10.
    pyproject = _read(ROOT, "pyproject.toml")
    extra = re.findall(r'"([^"]+)"', re.search(r"^docs = \[(.*?)\]", pyproject, re.M | re.S)[1])
    named = {re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower() for req in extra}
    assert distributions <= named, distributions - named
