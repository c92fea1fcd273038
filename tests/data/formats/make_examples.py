"""Write the small example files of this folder (run from the repository root).

Hand-made, real-shaped: the field names and nesting of each tool's output
(docs/data.md), two people walking past each other for 8 frames at 1920x1080.
Person 0 is missing in frame 5 (a one-frame gap); person 1's left wrist is
undetected in frame 2 (confidence 0). Not the output of the real tools.

    python tests/data/formats/make_examples.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
N_FRAMES = 8
# COCO-17 template, person 1 unit tall, feet at y = 0.5 (as tests/_skeletons.py)
TEMPLATE = np.array(
    [
        [0.0, -0.45], [-0.03, -0.48], [0.03, -0.48], [-0.06, -0.46], [0.06, -0.46],
        [-0.12, -0.3], [0.12, -0.3], [-0.15, -0.1], [0.15, -0.1], [-0.16, 0.08],
        [0.16, 0.08], [-0.08, 0.05], [0.08, 0.05], [-0.09, 0.28], [0.09, 0.28],
        [-0.1, 0.5], [0.1, 0.5],
    ]
)  # fmt: skip


def coco_pose(person: int, frame: int) -> np.ndarray:
    """(17, 3) x, y, confidence."""
    x0, step, height = (400.0, 6.0, 300.0) if person == 0 else (1400.0, -5.0, 260.0)
    swing = 0.08 * np.sin(0.6 * frame + person)
    xy = TEMPLATE.copy()
    xy[[9, 15], 0] += swing
    xy[[10, 16], 0] -= swing
    xy = xy * height + [x0 + step * frame, 600.0]
    conf = 0.93 - 0.02 * np.arange(17) / 17 - 0.01 * ((frame + person) % 3)
    out = np.concatenate([xy, conf[:, None]], axis=1)
    if person == 1 and frame == 2:
        out[9, 2] = 0.0  # left wrist undetected
    return np.round(out, 3)


def present(person: int, frame: int) -> bool:
    return not (person == 0 and frame == 5)


def flat(a: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in a.reshape(-1)]


def alphapose(tracked: bool) -> list[dict]:
    out = []
    for f in range(N_FRAMES):
        for p in (0, 1):
            if not present(p, f):
                continue
            kp = coco_pose(p, f)
            x1, y1 = kp[:, :2].min(0) - 10
            x2, y2 = kp[:, :2].max(0) + 10
            det = {
                "image_id": f"{f}.jpg",
                "category_id": 1,
                "keypoints": flat(kp),
                "score": round(2.6 + 0.1 * p + 0.01 * f, 4),
                "box": [round(float(v), 2) for v in (x1, y1, x2 - x1, y2 - y1)],
                # with --pose_track: the tracker's id; without: the merged boxes' ids
                "idx": (p + 1) if tracked else [[0.0]],
            }
            out.append(det)
    return out


def body25(kp: np.ndarray) -> np.ndarray:
    """A BODY_25 pose from COCO-17 (neck, mid-hip and feet added)."""
    op18 = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3]
    out = np.zeros((25, 3))
    b25_of_op18 = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    for k, c in enumerate(op18):
        if c >= 0:
            out[b25_of_op18[k]] = kp[c]
    out[1, :2] = kp[[5, 6], :2].mean(0)
    out[1, 2] = kp[[5, 6], 2].min()
    out[8, :2] = kp[[11, 12], :2].mean(0)
    out[8, 2] = kp[[11, 12], 2].min()
    for b25, ankle, dx, dy in ((19, 15, -12, 8), (20, 15, -4, 9), (21, 15, 6, 4),
                               (22, 16, 12, 8), (23, 16, 4, 9), (24, 16, -6, 4)):  # fmt: skip
        out[b25] = [kp[ankle, 0] + dx, kp[ankle, 1] + dy, 0.7]
    return np.round(out, 3)


def coco18(kp: np.ndarray) -> np.ndarray:
    b = body25(kp)
    return b[[0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]]


def openpose(folder: Path, convert) -> None:
    folder.mkdir(exist_ok=True)
    for f in range(N_FRAMES):
        people = []
        for p in (0, 1):
            if not present(p, f):
                continue
            kp = coco_pose(p, f)
            if p == 1 and f == 2:
                kp[9] = 0.0  # OpenPose writes an undetected joint as 0, 0, 0
            people.append(
                {
                    "person_id": [-1],
                    "pose_keypoints_2d": flat(convert(kp)),
                    "face_keypoints_2d": [],
                    "hand_left_keypoints_2d": [],
                    "hand_right_keypoints_2d": [],
                    "pose_keypoints_3d": [],
                    "face_keypoints_3d": [],
                    "hand_left_keypoints_3d": [],
                    "hand_right_keypoints_3d": [],
                }
            )
        name = f"walk_{f:012d}_keypoints.json"
        (folder / name).write_text(json.dumps({"version": 1.3, "people": people}))


def mmpose_instances(f: int) -> list[dict]:
    out = []
    for p in (0, 1):
        if not present(p, f):
            continue
        kp = coco_pose(p, f)
        x1, y1 = kp[:, :2].min(0) - 10
        x2, y2 = kp[:, :2].max(0) + 10
        out.append(
            {
                "keypoints": [[round(float(x), 3), round(float(y), 3)] for x, y in kp[:, :2]],
                "keypoint_scores": [round(float(c), 3) for c in kp[:, 2]],
                # mmpose's split_instances writes the box as a one-element tuple
                "bbox": [[round(float(v), 2) for v in (x1, y1, x2, y2)]],
                "bbox_score": round(0.9 - 0.05 * p, 3),
            }
        )
    return out


def main() -> None:
    (HERE / "alphapose").mkdir(exist_ok=True)
    (HERE / "alphapose" / "alphapose-results.json").write_text(json.dumps(alphapose(False)))
    (HERE / "alphapose_tracked").mkdir(exist_ok=True)
    (HERE / "alphapose_tracked" / "alphapose-results.json").write_text(
        json.dumps(alphapose(True))
    )
    openpose(HERE / "openpose_body25", body25)
    openpose(HERE / "openpose_coco18", coco18)
    (HERE / "mmpose").mkdir(exist_ok=True)
    video = [{"frame_id": f, "instances": mmpose_instances(f)} for f in range(N_FRAMES)]
    (HERE / "mmpose" / "walk.json").write_text(json.dumps(video, indent=2))
    demo = {
        "meta_info": {"dataset_name": "coco", "num_keypoints": 17},
        "instance_info": [
            {"frame_id": f + 1, "instances": mmpose_instances(f)} for f in range(N_FRAMES)
        ],
    }
    (HERE / "mmpose" / "results_walk.json").write_text(json.dumps(demo, indent="\t"))


if __name__ == "__main__":
    main()
