"""The estimator facade and what it delegates to.

:class:`~pyod_dsnf.detector.estimator.DSNFDetector` is the scikit-learn / PyOD detector; the
private modules beside it hold the parameter table (``_params``), input checks and
normalisation (``_validation``), the hold-out split and mirrors (``_training_data``), the
training loop (``_training``) and its loss (``losses``), chunked scoring (``scoring``), device,
seeds and threads (``_device``, ``_threads``) and the model file format (``persistence``).
"""

from pyod_dsnf.detector.estimator import DSNFDetector

__all__ = ["DSNFDetector"]
