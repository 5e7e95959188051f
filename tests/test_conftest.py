"""The shared test helpers of conftest.py: optional dependencies skip the
tests that need them locally, and fail them under CI."""
import numpy as np
import pytest

from conftest import require_module, running_in_ci

MISSING = "fastmlp_no_such_module_for_tests"


def test_present_module_is_returned(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert require_module("numpy") is np


@pytest.mark.parametrize("value", [None, "", "0", "false", "False", "no"])
def test_missing_module_skips_outside_ci(value, monkeypatch):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not running_in_ci()
    with pytest.raises(pytest.skip.Exception, match=MISSING):
        require_module(MISSING)


@pytest.mark.parametrize("value", ["true", "1", "yes", "GitHub Actions"])
def test_missing_module_fails_under_ci(value, monkeypatch):
    monkeypatch.setenv("CI", value)
    assert running_in_ci()
    with pytest.raises(pytest.fail.Exception, match=f"{MISSING}.*CI must run these tests"):
        require_module(MISSING)
