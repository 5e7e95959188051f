#!/usr/bin/env bash
# Build the documentation (HTML) into build/docs/html, warnings as errors.
#
#   pip install ".[docs]"      # Sphinx, numpydoc, sphinx-gallery, myst-parser, furo
#   bash scripts/docs.sh       # then open build/docs/html/index.html
#
# The API reference's pages and the gallery's are generated into the Sphinx
# source directory, so the build runs from a copy of docs/ in build/docs/source
# (with the repository linked as _repo for the README includes and examples/):
# nothing is written outside build/docs. The gallery runs every script in
# examples/ (about a minute on 2 cores). FASTMLP_DOCS_BUILD=DIR builds
# elsewhere; extra arguments go to sphinx-build.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${FASTMLP_DOCS_BUILD:-$repo/build/docs}"
mkdir -p "$build"
build="$(cd "$build" && pwd)"
src="$build/source"

rm -rf "$src"
mkdir -p "$src"
cp -R "$repo/docs/." "$src/"
ln -s "$repo" "$src/_repo"

# sphinx-gallery runs each example in examples/ (its own folder); the
# examples write nothing there (keras_workflow.py saves into a temporary
# folder it removes). MPLBACKEND: no display needed.
cd "$build"
# PYTHONDONTWRITEBYTECODE: no __pycache__ in the repository.
export FASTMLP_DOCS_REPO="$repo" MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
python -m sphinx -W --keep-going -b html -d "$build/doctrees" "$@" "$src" "$build/html"
# What -W does not catch: Markdown tables rendered as raw pipes, '*' in a
# formula turned into italics, references that did not resolve.
python "$repo/docs/_check_html.py" "$build/html"
echo "documentation: $build/html/index.html"
