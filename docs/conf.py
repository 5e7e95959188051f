"""Sphinx configuration of fastmlp's documentation.

Build with ``bash scripts/docs.sh``: it copies ``docs/`` into the build
directory and builds from that copy, because the API reference's pages
(autosummary) and the gallery's (sphinx-gallery) are written into the source
directory, and nothing should be written outside ``build/``. The copy links
the repository as ``_repo`` (excluded from the sources), from which the user
guide includes parts of the README and the gallery runs ``examples/``.
"""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_repo = os.environ.get("FASTMLP_DOCS_REPO")
if _repo is None or os.path.realpath(_here) == os.path.realpath(os.path.join(_repo, "docs")):
    raise RuntimeError("build the documentation with `bash scripts/docs.sh`, which builds from "
                       "a copy of docs/ inside the build directory")
sys.path.insert(0, _here)

import fastmlp  # noqa: E402
from _apigen import api_page  # noqa: E402

project = "fastmlp"
copyright = "fastmlp developers"
author = "fastmlp developers"
version = release = fastmlp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    # The tutorial's code runs during the build, its output shown (local).
    "_run_code",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
# _repo is the repository itself (linked for the includes); the gallery's
# generated Python and notebook files are not pages.
exclude_patterns = ["_build", "_repo", "_templates", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json"]
suppress_warnings = []
nitpicky = False

# Links to scikit-learn's, NumPy's and SciPy's pages ({class}`sklearn...`).
# The build has no internet access, so the inventories are the files in
# _inventories/, written from the installed packages by
# _inventories/make_inventories.py, not downloaded.
intersphinx_mapping = {
    "sklearn": ("https://scikit-learn.org/stable/", os.path.join("_inventories", "sklearn.inv")),
    "numpy": ("https://numpy.org/doc/stable/", os.path.join("_inventories", "numpy.inv")),
    "scipy": ("https://docs.scipy.org/doc/scipy/", os.path.join("_inventories", "scipy.inv")),
}

# The API page: written here, from the package's __all__ lists, so a new
# public name or module appears without editing the docs.
with open(os.path.join(_here, "api.rst"), "w", encoding="utf-8") as _f:
    _f.write(api_page())

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Document only what fastmlp defines: scikit-learn's inherited methods
    (get_params, set_output, the generated set_*_request methods) are
    scikit-learn's, documented there, and refer to its own user guide."""
    if what != "class" or skip:
        return skip
    target = getattr(obj, "__func__", obj)
    module = getattr(target, "__module__", None) or ""
    if isinstance(target, property):
        module = getattr(target.fget, "__module__", "") or ""
    if not module.startswith("fastmlp"):
        return True
    return None


# numpydoc: parameters, returns and section layout checked on every
# documented object; a failure is a warning, and the build runs with -W.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = {
    "all",
    "ES01",  # an extended summary is not required
    "EX01",  # nor an Examples section
    "SA01",  # nor See Also
    "GL01",  # the summary may start on the first line of the docstring
    "SS05",  # "Return ..." and "Returns ..." are both fine
    "RT02",  # an unnamed return type may be given as "name : type"
    "PR08",  # a description may start with a dtype: "float32 or float64, ..."
    # The estimators share one parameter text (_mlp.py's _COMMON_DOC) with
    # each class's own parameters after it, whatever the signature's order.
    "PR03",
}

# The gallery: examples/ runs during the build, figures are captured.
sphinx_gallery_conf = {
    "examples_dirs": os.path.join(_repo, "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",
    # A file starting with _ would be a helper module, not an example (there
    # are none: every example runs on its own).
    "ignore_pattern": r"(^|[/\\])_[^/\\]*\.py$",
    "within_subsection_order": "_gallery_order.CurriculumOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "reset_modules": ("matplotlib",),
    "capture_repr": ("_repr_html_", "__repr__"),
    # "Examples using ..." on the API pages (the minigallery directive of
    # _templates/autosummary): which examples use each fastmlp name.
    "doc_module": ("fastmlp",),
    "backreferences_dir": os.path.join("generated", "backreferences"),
    "reference_url": {"fastmlp": None},
    "inspect_global_variables": True,
}

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = f"fastmlp {release}"
html_static_path = []
html_show_sourcelink = False


def _public_bases(app, name, obj, options, bases):
    """Show only public base classes ("Bases: ClassifierMixin, BaseEstimator",
    linked to scikit-learn's pages): fastmlp's private mixins and base
    classes (in its _modules, or named _Name) have no page to link to, and
    ``object`` says nothing."""
    def private(base):
        parts = base.__module__.split(".") + base.__qualname__.split(".")
        return parts[0] == "fastmlp" and any(part.startswith("_") for part in parts)

    bases[:] = [base for base in bases if base is not object and not private(base)]


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("autodoc-process-bases", _public_bases)
