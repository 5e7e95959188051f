"""Sphinx extension: run the tutorial's code and show what it prints.

Every page under ``tutorial/`` is read as Markdown; its ```` ```python ````
blocks are run in order, in one namespace per page, from a temporary
folder, and what each block prints is inserted after it as a ```` ```text ````
block. A block that raises stops the build with the page and the error, so
the tutorial cannot show code that does not run (``tests/test_docs.py`` runs
the same blocks without Sphinx). Warnings (such as scikit-learn's
ConvergenceWarning for the short trainings) are not shown.
"""
import contextlib
import io
import os
import re
import tempfile
import traceback
import warnings

import matplotlib

_BLOCK = re.compile(r"^```python\n(.*?)^```\n", re.S | re.M)


def run_blocks(text, page):
    """The Markdown text with each python block's output after it.

    Parameters
    ----------
    text : str
        A Markdown page.
    page : str
        Its name, for error messages.

    Returns
    -------
    text : str
        The page, with a text block of output after every python block that
        prints something.
    """
    matplotlib.use("Agg")
    namespace = {"__name__": "__main__"}
    pieces, end = [], 0
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        here = os.getcwd()
        os.chdir(folder)
        try:
            for number, match in enumerate(_BLOCK.finditer(text), 1):
                out = io.StringIO()
                try:
                    with contextlib.redirect_stdout(out):
                        exec(compile(match.group(1), f"{page}, block {number}", "exec"),
                             namespace)
                except Exception as error:
                    raise RuntimeError(f"{page}: code block {number} failed:\n"
                                       f"{traceback.format_exc()}") from error
                pieces.append(text[end:match.end()])
                printed = out.getvalue().rstrip()
                if printed:
                    pieces.append(f"\n```text\n{printed}\n```\n")
                end = match.end()
        finally:
            os.chdir(here)
    return "".join(pieces) + text[end:]


def _source_read(app, docname, source):
    if docname.startswith("tutorial/") and docname != "tutorial/index":
        source[0] = run_blocks(source[0], docname)


def setup(app):
    """Register the extension.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application.

    Returns
    -------
    metadata : dict
        Safe for parallel reading.
    """
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
