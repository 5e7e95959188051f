"""Write the intersphinx inventories of scikit-learn, NumPy and SciPy from
the installed packages, for a documentation build without internet access.

Sphinx's intersphinx extension links names such as
``sklearn.model_selection.GridSearchCV`` to another project's pages by
reading that project's ``objects.inv``. Downloading it at build time needs
the internet, which the CI machines do not have, so ``conf.py`` reads the
inventories committed next to this script instead. They are written here
from the installed packages' public names (every public module's
``__all__`` and the public names it takes from its own package), each with the URL
of its page on the project's site, following the site's layout:

- scikit-learn: ``modules/generated/<name>.html`` for classes and
  functions, ``api/<module>.html`` for modules;
- NumPy and SciPy: ``reference/generated/<name>.html``.

Methods and attributes point to an anchor on their class's page. Run it
after upgrading those packages (the versions are recorded in each file):

    python docs/_inventories/make_inventories.py

With internet access, a real inventory can be compared with
``python -m sphinx.ext.intersphinx https://scikit-learn.org/stable/objects.inv``.
"""
import importlib
import inspect
import os
import pkgutil
import warnings
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

PROJECTS = {
    # file: (distribution, project name, top-level package, modules walked,
    #        URL of a class or function page, URL of a module page)
    "sklearn.inv": ("scikit-learn", "sklearn", "sklearn",
                    "modules/generated/{name}.html#$", "api/{name}.html#module-$"),
    "numpy.inv": ("numpy", "NumPy", "numpy",
                  "reference/generated/{name}.html#$", "reference/routines.html#module-$"),
    "scipy.inv": ("scipy", "SciPy", "scipy",
                  "reference/generated/{name}.html#$", "reference/{short}.html#module-$"),
}

# NumPy's and SciPy's public submodules (their packages do not import all of
# them, and walking the private ones would list internals).
SUBMODULES = {
    "numpy": ["numpy", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.typing"],
    "scipy": ["scipy.sparse", "scipy.linalg", "scipy.optimize", "scipy.special", "scipy.stats"],
}


def _modules(package):
    if package in SUBMODULES:
        return SUBMODULES[package]
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts) or "tests" in parts:
            continue
        names.append(info.name)
    return names


def _public(module):
    # __all__, and the public names the module defines or re-exports from its
    # own package (scikit-learn documents some names that __all__ leaves out,
    # such as sklearn.exceptions.InconsistentVersionWarning).
    package = module.__name__.split(".")[0]
    names = set(getattr(module, "__all__", ()))
    for name in dir(module):
        home = getattr(getattr(module, name, None), "__module__", None) or ""
        if not name.startswith("_") and home.split(".")[0] == package:
            names.add(name)
    return sorted(n for n in names if hasattr(module, n))


def entries(package, object_url, module_url):
    """(name, domain:role, uri) of a package's public names."""
    seen = {}
    for module_name in _modules(package):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = importlib.import_module(module_name)
        except Exception:  # an optional dependency of one submodule
            continue
        short = module_name.split(".", 1)[-1]
        seen.setdefault(module_name, ("py:module", module_url.format(name=module_name,
                                                                      short=short)))
        for name in _public(module):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue
            full = f"{module_name}.{name}"
            page = object_url.format(name=full)
            if inspect.isclass(obj):
                role = "py:exception" if issubclass(obj, BaseException) else "py:class"
                seen.setdefault(full, (role, page))
                base = page.split("#")[0]
                for member, value in vars(obj).items():
                    if member.startswith("_"):
                        continue
                    kind = "py:method" if callable(value) else "py:attribute"
                    seen.setdefault(f"{full}.{member}", (kind, f"{base}#$"))
            elif callable(obj):
                seen.setdefault(full, ("py:function", page))
            else:
                seen.setdefault(full, ("py:data", page))
    return sorted((name, role, uri) for name, (role, uri) in seen.items())


def write(filename, distribution, project, package, object_url, module_url):
    from importlib.metadata import version

    lines = [f"{name} {role} 1 {uri} -" for name, role, uri in
             entries(package, object_url, module_url)]
    header = ("# Sphinx inventory version 2\n"
              f"# Project: {project}\n"
              f"# Version: {version(distribution)}\n"
              "# The remainder of this file is compressed using zlib.\n")
    with open(os.path.join(HERE, filename), "wb") as f:
        f.write(header.encode())
        f.write(zlib.compress(("\n".join(lines) + "\n").encode(), 9))
    return len(lines)


if __name__ == "__main__":
    for filename, (distribution, project, package, object_url, module_url) in PROJECTS.items():
        count = write(filename, distribution, project, package, object_url, module_url)
        print(f"{filename}: {count} names of {distribution}")
