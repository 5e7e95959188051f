"""Each estimator parameter is defined once: its default in the (explicit,
scikit-learn-style) signature, its constraint in _parameter_constraints, its
text in the shared docstring. These tests hold the three together (scikit-
learn runs check_param_validation only in its own suite)."""
import ast
import inspect
import re

import pytest
from fastmlp import MLPClassifier, MLPRegressor

ESTIMATORS = [MLPClassifier, MLPRegressor]


def _signature(cls):
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self"}


def _documented(cls):
    """{name: (type line, text)} of the Parameters section (names joined by
    ', ' document each of them)."""
    doc = inspect.cleandoc(cls.__doc__)
    section = doc.split("Parameters\n----------\n", 1)[1]
    section = re.split(r"\n\S[^\n]*\n-{3,}\n", section, maxsplit=1)[0]  # up to the next
    out = {}
    for line in section.splitlines():
        match = re.match(r"^(\w[\w, ]*) : (.*)$", line)
        if not match:
            continue
        names = match.group(1).split(", ")
        for i, name in enumerate(names):
            assert name not in out, f"{cls.__name__}: {name} documented twice"
            out[name] = (match.group(2), i, len(names))
    return out


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_signature_and_constraints_name_the_same_parameters(cls):
    assert set(_signature(cls)) == set(cls._parameter_constraints)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_is_documented_with_its_default(cls):
    sig, doc = _signature(cls), _documented(cls)
    assert set(doc) == set(sig)
    for name, default in sig.items():
        match = re.search(r"default=(.+)$", doc[name][0])
        assert match, f"{cls.__name__}.{name}: no default in {doc[name][0]!r}"
        text = match.group(1).strip()
        try:
            documented = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            documented = text
        index, count = doc[name][1:]
        if count > 1 and isinstance(documented, tuple) and len(documented) == count:
            documented = documented[index]  # "a, b : float, default=1, 2"
        assert documented == default, f"{cls.__name__}.{name}: doc {text}, signature {default!r}"


def test_shared_parameters_have_one_default():
    clf, reg = _signature(MLPClassifier), _signature(MLPRegressor)
    shared = set(clf) & set(reg)
    assert len(shared) >= 40
    assert {name: clf[name] for name in shared} == {name: reg[name] for name in shared}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_init_stores_exactly_its_parameters(cls):
    est = cls()
    params = est.get_params()
    assert params == _signature(cls)
    for name, value in params.items():
        assert getattr(est, name) is value
