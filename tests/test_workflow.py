"""evaluate_scores: padding to the mask, person frames, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.pipeline.files import SCORES_FILE, TRACKED_FILE, evaluate_scores, load_pose_dir


@pytest.fixture
def scored(tmp_path):
    out, gt = tmp_path / "scores", tmp_path / "gt"
    out.mkdir()
    gt.mkdir()
    np.save(gt / "a.npy", np.array([0, 0, 1, 1, 0, 0], np.int8))
    np.save(gt / "b.npy", np.array([0, 1, 1, 0], np.int8))  # no pose file: no scores
    np.savez(out / SCORES_FILE, a=np.array([0.1, 0.2, 0.9, 0.8]))
    np.savez(out / TRACKED_FILE, a=np.array([False, True, True, True]))
    return out, gt


def test_missing_frames_and_clips_get_the_lowest_score(scored):
    out, gt = scored
    res = evaluate_scores(out, gt)
    # a: [.1 .2 .9 .8 .1 .1], b: all .1 -> positives .9 .8 .1 .1 vs negatives .1 .2 .1 .1 .1 .1
    y = np.r_[0, 0, 1, 1, 0, 0, 0, 1, 1, 0]
    s = np.r_[0.1, 0.2, 0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    from sklearn.metrics import roc_auc_score

    assert res["auc_roc"] == pytest.approx(roc_auc_score(y, s))
    assert res["n_frames"] == 10 and res["n_anomalous"] == 4 and res["n_person_frames"] == 3
    assert res["auc_roc_person_frames"] == pytest.approx(1.0)


def test_scores_longer_than_the_mask_raise(scored):
    out, gt = scored
    np.savez(out / SCORES_FILE, a=np.zeros(7))
    with pytest.raises(ValueError, match=r"clip 'a' have shape \(7,\) but its mask has 6 frames"):
        evaluate_scores(out, gt)


def test_scores_without_a_mask_raise(scored):
    out, gt = scored
    np.savez(out / SCORES_FILE, a=np.zeros(6), c=np.zeros(3))
    with pytest.raises(ValueError, match=r"no mask for scored clip\(s\) \['c'\]"):
        evaluate_scores(out, gt)


def test_empty_gt_dir_and_missing_pose_dir(tmp_path, scored):
    out, _ = scored
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"holds no <clip>\.npy frame masks"):
        evaluate_scores(out, tmp_path / "empty")
    with pytest.raises(ValueError, match=r"pose_dir=.* does not exist"):
        load_pose_dir(tmp_path / "nope")
    with pytest.raises(ValueError, match=r"holds no \*\.json"):
        load_pose_dir(tmp_path / "empty")
