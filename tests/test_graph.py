import numpy as np
import pytest

from pyod_dsnf.poses.skeletons import (
    COCO17,
    LAYOUTS,
    OPENPOSE18,
    SkeletonGraph,
    coco17_to_openpose18,
    get_layout,
)


@pytest.mark.parametrize("graph", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_adjacency_partitions_are_normalised(graph):
    a = graph.adjacency()
    v = graph.n_joints
    assert a.shape == (3, v, v)
    np.testing.assert_allclose(a.sum(axis=(0, 2)), 1.0)
    np.testing.assert_allclose(np.diag(a[0]) > 0, True)
    # undirected support: a bone shows up in one direction of partition 1 or 2 each way
    support = (a[1] + a[2]) > 0
    assert (support == support.T).all()
    assert support.sum() == 2 * len(set(map(frozenset, graph.edges)))


def test_partitions_follow_hop_distance():
    dist = OPENPOSE18.hop_distance()
    a = OPENPOSE18.adjacency()
    assert dist[1] == 0 and dist[0] == 1 and dist[4] == 3
    # the right wrist (4) receives from the elbow (3) in the centripetal partition
    assert a[1, 4, 3] > 0 and a[2, 4, 3] == 0
    # the elbow (3) receives from the wrist (4) in the centrifugal partition
    assert a[2, 3, 4] > 0 and a[1, 3, 4] == 0


@pytest.mark.parametrize("graph", [COCO17, OPENPOSE18])
def test_flip_index_is_an_involution_swapping_sides(graph):
    perm = graph.flip_index()
    np.testing.assert_array_equal(perm[perm], np.arange(graph.n_joints))
    for a, b in graph.flip_pairs:
        assert "left" in graph.joint_names[a] or "left" in graph.joint_names[b]
        assert graph.joint_names[a].split("_", 1)[1] == graph.joint_names[b].split("_", 1)[1]


def test_get_layout_errors_name_the_choices():
    assert get_layout("coco17") is COCO17
    custom = SkeletonGraph(name="line", n_joints=3, edges=[(0, 1), (1, 2)], center=[1])
    assert get_layout(custom) is custom
    with pytest.raises(ValueError, match="layout must be one of"):
        get_layout("coco18")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"edges": [(0, 3)]}, r"edges .* \(0, 3\)"),
        ({"edges": [(0, 1)]}, "not connected"),
        ({"center": [5]}, "center"),
        ({"flip_pairs": [(0, 2), (2, 1)]}, "twice"),
    ],
)
def test_custom_graph_validation(kwargs, match):
    base = {"name": "line", "n_joints": 3, "edges": [(0, 1), (1, 2)], "center": [1]}
    with pytest.raises(ValueError, match=match):
        SkeletonGraph(**{**base, **kwargs})


def test_coco17_to_openpose18():
    rng = np.random.default_rng(0)
    kp = rng.normal(size=(4, 17, 3))
    out = coco17_to_openpose18(kp)
    assert out.shape == (4, 18, 3)
    np.testing.assert_allclose(out[:, 1, :2], kp[:, [5, 6], :2].mean(axis=1))
    np.testing.assert_allclose(out[:, 1, 2], kp[:, [5, 6], 2].min(axis=1))
    np.testing.assert_allclose(out[:, 2], kp[:, 6])  # right shoulder
    np.testing.assert_allclose(out[:, 15], kp[:, 1])  # left eye
    # names agree joint by joint
    for k, name in enumerate(OPENPOSE18.joint_names):
        if name != "neck":
            src = COCO17.joint_names.index(name)
            np.testing.assert_allclose(out[:, k], kp[:, src])
    with pytest.raises(ValueError, match="17"):
        coco17_to_openpose18(np.zeros((2, 18, 3)))
