import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from pyod_dsnf.evaluation import gaussian_smooth


@pytest.mark.parametrize("n", [1, 2, 5, 30, 200])
@pytest.mark.parametrize("sigma", [0.5, 1, 3, 6, 40])
def test_matches_scipy(n, sigma):
    x = np.random.default_rng(n).normal(size=n)
    np.testing.assert_allclose(gaussian_smooth(x, sigma), gaussian_filter1d(x, sigma), atol=1e-12)


def test_zero_sigma_and_errors():
    x = np.arange(4.0)
    np.testing.assert_array_equal(gaussian_smooth(x, 0), x)
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        gaussian_smooth(x, -1)
    with pytest.raises(ValueError, match="x must be 1-D"):
        gaussian_smooth(np.zeros((2, 2)), 1)
