import numpy as np
import pytest

from pyod_dsnf.evaluation import anomalous_intervals, plot_frame_scores


def test_intervals():
    assert anomalous_intervals(np.array([0, 1, 1, 0, 1])) == [(1, 3), (4, 5)]
    assert anomalous_intervals(np.zeros(3)) == []


def test_plot_saves_png(tmp_path):
    pytest.importorskip("matplotlib")
    mask = np.r_[np.zeros(20), np.ones(10), np.zeros(10)]
    fig = plot_frame_scores(np.linspace(0, 1, 40), mask, tmp_path / "s.png", title="clip")
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert len(ax.patches) == 1 and ax.get_title() == "clip"
    with pytest.raises(ValueError, match=r"mask has shape \(3,\) but scores has shape \(40,\)"):
        plot_frame_scores(np.zeros(40), np.zeros(3))


def test_missing_matplotlib_message(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"pip install 'pyod-dsnf\[plot\]'"):
        plot_frame_scores(np.zeros(3))
