"""The API reference's contents, read from the package itself.

Every public module of fastmlp (``fastmlp`` and each ``fastmlp.<name>``
without a leading underscore) gets a section listing its ``__all__``, so a
name or module added to the package appears in the reference without
editing the docs. ``conf.py`` writes the page from :func:`api_page`;
``tests/test_docs.py`` checks the same lists without Sphinx.
"""
import importlib
import inspect
import pkgutil
import warnings

# Section titles for the top-level package, by kind of object.
_TOP_LEVEL_GROUPS = [
    ("Estimators", lambda obj: inspect.isclass(obj) and hasattr(obj, "get_params")),
    ("Warnings", lambda obj: inspect.isclass(obj) and issubclass(obj, Warning)),
    ("Functions", lambda obj: callable(obj)),
]


def public_modules():
    """Names of fastmlp's public modules, the package first.

    Returns
    -------
    names : list of str
        ``"fastmlp"`` then ``"fastmlp.<name>"`` for every submodule whose
        name does not start with an underscore, sorted.
    """
    import fastmlp

    subs = sorted(info.name for info in pkgutil.iter_modules(fastmlp.__path__)
                  if not info.name.startswith("_"))
    return ["fastmlp"] + [f"fastmlp.{name}" for name in subs]


def documented_names(module_name):
    """The names of a module that the reference documents: its ``__all__``.

    Parameters
    ----------
    module_name : str
        A public module, as given by :func:`public_modules`.

    Returns
    -------
    names : list of str
        ``__all__`` in its order, without ``__version__`` (a string, shown
        on the front page).
    """
    module = importlib.import_module(module_name)
    if not hasattr(module, "__all__"):
        raise AttributeError(f"{module_name} has no __all__: the API reference lists __all__")
    return [name for name in module.__all__ if name != "__version__"]


def _summary(module):
    doc = inspect.getdoc(module) or ""
    return doc.split("\n\n")[0].strip()


def _autosummary(names):
    lines = [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
    lines += [f"   {name}" for name in names]
    return lines + [""]


def api_page():
    """The reStructuredText of the API reference page.

    Returns
    -------
    text : str
        One section per public module, each an autosummary table of the
        module's ``__all__`` whose entries get a page of their own.
    """
    lines = [".. This page is written by conf.py from the package's __all__ lists.", "",
             "API reference", "=============", "",
             "Every public name, module by module, read from each module's ``__all__``.", ""]
    for module_name in public_modules():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(module_name)
        title = f"``{module_name}``"
        lines += [title, "-" * len(title), "", f".. module:: {module_name}", ""]
        lines += [_summary(module), ""]
        names = documented_names(module_name)
        if module_name == "fastmlp":
            remaining = list(names)
            for group, belongs in _TOP_LEVEL_GROUPS:
                members = [n for n in remaining if belongs(getattr(module, n))]
                remaining = [n for n in remaining if n not in members]
                if members:
                    lines += [group, "~" * len(group), ""]
                    lines += _autosummary(members)
            if remaining:
                lines += ["Other", "~~~~~", ""]
                lines += _autosummary(remaining)
        else:
            lines += _autosummary(names)
    return "\n".join(lines) + "\n"
