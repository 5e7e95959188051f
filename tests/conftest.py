"""Shared test helpers: random data and dtype tolerances."""
import numpy as np
import pytest


def random_array(rng, shape, dtype, scale=1.0):
    """Standard normal data of `dtype` (scaled), reproducible from `rng`."""
    return (scale * rng.standard_normal(shape)).astype(dtype)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
