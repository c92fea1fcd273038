"""score_sources: clips scored in processes, or on a Dask cluster, as in one process."""

from __future__ import annotations

import numpy as np
import pytest

from pyod_dsnf.datasets import make_pose_tracks, save_pose_dataset
from pyod_dsnf.pipeline import FrameScores, Windowing, cut, load, score, to_frames
from pyod_dsnf.pipeline.parallel import score_sources, worker_threads
from tests._skeletons import tiny_detector


def test_default_threads_split_the_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert worker_threads(1) is None and worker_threads(2) == 4 and worker_threads(16) == 1
    assert worker_threads(-1) == 1


@pytest.fixture(scope="module")
def scored_folder(tmp_path_factory):
    ds = make_pose_tracks(4, 5, n_frames=(80, 100), random_state=1)
    root = save_pose_dataset(ds, tmp_path_factory.mktemp("data"))
    tr = cut(ds.train, Windowing.train(seg_len=8, stride=4))
    det = tiny_detector(n_threads=1).fit(tr.segments.X)
    path = root / "m.dsnf"
    det.save(path)
    return root, path, det


@pytest.mark.slow  # starts worker processes, each importing torch
def test_score_sources_in_processes_equals_one_process_and_score(scored_folder):
    root, path, det = scored_folder
    windowing = Windowing.test("person", seg_len=8)
    one = score_sources(path, root / "pose" / "test", windowing, n_jobs=1, threads=1)
    two = score_sources(path, root / "pose" / "test", windowing, n_jobs=2, threads=1)
    np.testing.assert_array_equal(one.scores, two.scores)
    assert one.clip_ids == two.clip_ids == sorted(one.clip_ids)  # clip order
    for name in ("clip", "person", "start", "length"):
        np.testing.assert_array_equal(getattr(one.segments, name), getattr(two.segments, name))
    # and the same as the whole folder cut and scored in one piece
    whole = score(det, cut(load(root / "pose" / "test"), windowing))
    np.testing.assert_allclose(one.scores, whole.scores, rtol=1e-6)
    a, b = to_frames(one), to_frames(whole)
    assert isinstance(a, FrameScores) and list(a.scores) == list(b.scores)
    for cid in a.scores:
        np.testing.assert_array_equal(a.tracked[cid], b.tracked[cid])


@pytest.mark.slow
def test_a_dask_cluster_gives_the_local_scores(scored_folder):
    distributed = pytest.importorskip("distributed")
    import joblib

    root, path, _ = scored_folder
    windowing = Windowing.test("field", seg_len=8)
    local = score_sources(path, root / "pose" / "test", windowing, n_jobs=1, threads=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        remote = score_sources(path, root / "pose" / "test", windowing, n_jobs=2, threads=1)
    np.testing.assert_array_equal(local.scores, remote.scores)
    assert local.clip_ids == remote.clip_ids
