"""Old import path of the estimator, kept so that pickles and joblib dumps written before the
estimator moved to :mod:`pyod_dsnf.detector.estimator` still load."""

from pyod_dsnf.detector.estimator import DSNFDetector

__all__ = ["DSNFDetector"]
