"""Alerts of the live path on PoseLift: budgets, false alarms on normal frames, track ages.

Scores the test clips causally, as ``pyod-dsnf stream`` does (the offline equivalent,
:func:`pyod_dsnf.stream.causal_tracks`), sets the threshold of each false-alarm budget,
runs the alert rule per person, and reports per budget:

* ``threshold`` and how it was set (``--normal`` footage counted, or the model's
  held-out windows, with the GPD interval when extrapolated);
* ``alerts on normal frames`` and their rate per camera-hour of the test clips'
  normal frames (at the data's 15 fps);
* ``anomalous frames flagged``: the share of anomalous frames at which some person's
  score is above the threshold in a window that may alert, and ``events alerted``:
  runs of consecutive anomalous frames of a clip with at least one alert in them;
* alerts by track age (frames since the person's track started) for the
  contamination threshold and each budget.

Runs against whichever ``pyod_dsnf`` is on the path, so the same script measures
the code before this change (``--before``: no model calibration, no age matching)::

    PYTHONPATH=/tmp/live-before python benchmarks/live_alerts.py DATA MODEL --normal DIR --before
    python benchmarks/live_alerts.py DATA MODEL --normal DIR          # --normal, counted
    python benchmarks/live_alerts.py DATA MODEL                       # the model's held-out windows
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

AGE_BINS = ((1, 11), (12, 12), (13, 24), (25, 48), (49, 96), (97, 10**9))


def _episodes(frames, scores, rule):
    """Alert frames of one person's scored frames under ``rule``."""
    out, active, last = [], False, 0
    for f, v in zip(frames.tolist(), scores.tolist(), strict=True):
        alert, active, last = rule.step(active, last, f, v)
        if alert:
            out.append(f)
    return out


def _ages(frames: np.ndarray) -> np.ndarray:
    """Track age (1 = first frame) of each scored frame; a jump starts a new track."""
    age = np.ones(len(frames), np.int64)
    for i in range(1, len(frames)):
        age[i] = age[i - 1] + 1 if frames[i] - frames[i - 1] <= 3 else 1
    return age


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dir")
    p.add_argument("model")
    p.add_argument("--normal", default=None, help="held-out normal clips (tracked JSON)")
    p.add_argument("--budgets", type=float, nargs="*", default=[1.0, 5.0, 30.0])
    p.add_argument("--fps", type=float, default=15.0, help="PoseLift: 15")
    p.add_argument("--min-gap", type=int, default=30)
    p.add_argument("--before", action="store_true", help="the code before model calibration")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--alert-after", type=int, default=None, help="default T // 2")
    p.add_argument("--silent-warm-up", action="store_true",
                   help="windows younger than alert-after open episodes without alerting")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    from pyod_dsnf import DSNFDetector
    from pyod_dsnf.datasets import load_dataset
    from pyod_dsnf.poses import load_tracks
    from pyod_dsnf.stream import AlertRule, budget_threshold, causal_scores, causal_tracks

    det = DSNFDetector.load(a.model)
    det.n_threads = a.threads
    t = int(det.input_shape_[0])
    after = t // 2 if a.alert_after is None else a.alert_after
    match = None
    if not a.before:
        from pyod_dsnf.stream import match_ages

        match = match_ages(det)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(a.data_dir)
        normal = ([load_tracks(f) for f in sorted(Path(a.normal).glob("*.json"))]
                  if a.normal else None)  # fmt: skip
    kw = {} if match is None else {"age_match": match}
    t0 = time.perf_counter()
    seg, raw = causal_scores(det, ds.test)
    if match is not None:
        raw = match(raw, seg.length)
    end = seg.start + seg.length - 1
    order = np.lexsort((end, seg.person, seg.clip))
    keys, all_tracks = [], []
    pair = np.char.add(seg.clip[order], np.char.mod("/%d", seg.person[order]))
    for idx in np.split(order, np.flatnonzero(pair[1:] != pair[:-1]) + 1):
        keys.append(str(seg.clip[idx[0]]))
        all_tracks.append((end[idx], raw[idx]))
    print(f"scored the test clips in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    masks = ds.masks
    n_normal = int(sum((m == 0).sum() for m in masks.values()))
    n_anom = int(sum((m == 1).sum() for m in masks.values()))
    hours = n_normal / a.fps / 3600
    events = []  # (clip, first, last) runs of anomalous frames
    for cid, m in masks.items():
        d = np.diff(np.concatenate([[0], m.astype(int), [0]]))
        for s, e in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
            events.append((cid, int(s), int(e - 1)))

    def evaluate(threshold: float) -> dict:
        rule = AlertRule(threshold, min_gap=a.min_gap)
        n_alert_normal = n_alert_anom = 0
        flagged = {cid: np.zeros(len(m), bool) for cid, m in masks.items()}
        hit = set()
        by_age = np.zeros(len(AGE_BINS), np.int64)
        scored_age = np.zeros(len(AGE_BINS), np.int64)
        above_age = np.zeros(len(AGE_BINS), np.int64)
        for cid, (frames, scores) in zip(keys, all_tracks, strict=True):
            age = _ages(frames)
            ok = age >= after
            m = masks[cid]
            inside = frames < len(m)
            above = ok & inside & (scores > threshold)
            flagged[cid][frames[above]] = True
            if a.silent_warm_up:  # young windows open episodes without alerting
                alerts = set(_episodes(frames, scores, rule)) & set(frames[ok].tolist())
            else:
                alerts = set(_episodes(frames[ok], scores[ok], rule))
            normal_frame = np.zeros(len(frames), bool)
            normal_frame[inside] = m[frames[inside]] == 0
            for i, (f, g) in enumerate(zip(frames.tolist(), age.tolist(), strict=True)):
                b = next(k for k, (lo, hi) in enumerate(AGE_BINS) if lo <= g <= hi)
                if normal_frame[i]:  # by track age: normal frames only
                    scored_age[b] += 1
                    above_age[b] += scores[i] > threshold
                if f in alerts:
                    if f < len(m) and m[f]:
                        n_alert_anom += 1
                        hit.update(e for e in events if e[0] == cid and e[1] <= f <= e[2])
                    else:
                        n_alert_normal += 1
                        by_age[b] += 1
        n_flag = int(sum((flagged[c] & (masks[c] == 1)).sum() for c in masks))
        return {
            "threshold": threshold,
            "alerts_normal": n_alert_normal,
            "alerts_per_hour_normal": n_alert_normal / hours,
            "alerts_anomalous": n_alert_anom,
            "anomalous_frames_flagged": n_flag / n_anom,
            "events_alerted": len(hit),
            "n_events": len(events),
            "alerts_by_age": by_age.tolist(),
            "scored_by_age": scored_age.tolist(),
            "above_by_age": above_age.tolist(),
        }

    rows = {"contamination": {"how": "model threshold_", **evaluate(float(det.threshold_))}}
    normal_tracks = n_frames = None
    if normal is not None:
        t0 = time.perf_counter()
        normal_tracks, n_frames = causal_tracks(det, normal, alert_after=after, **kw)
        print(f"scored --normal in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    for b in a.budgets:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if normal_tracks is not None:
                bud = budget_threshold(normal_tracks, n_frames, alerts_per_hour=b, fps=a.fps,
                                       min_gap=a.min_gap)  # fmt: skip
                how = f"--normal, {bud.hours:.3f} camera-hours"
            else:
                from pyod_dsnf.stream import model_budget

                bud = model_budget(det, alerts_per_hour=b, fps=a.fps, min_gap=a.min_gap)
                how = f"model held-out windows ({bud.n_scores})"
        method = getattr(bud, "method", "count")
        interval = getattr(bud, "interval", None)
        rows[f"budget {b:g}"] = {"how": f"{how}, {method}", "interval": interval,
                                 "warnings": [str(w.message)[:160] for w in caught],
                                 **evaluate(bud.threshold)}  # fmt: skip
    print(f"test clips: {n_normal} normal frames ({hours:.4f} camera-hours at {a.fps:g} fps), "
          f"{n_anom} anomalous frames in {len(events)} events; alert_after {after}")  # fmt: skip
    print("| threshold | set by | value | alerts on normal frames (per camera-hour) | "
          "anomalous frames flagged | events alerted |")
    print("|---|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        iv = r.get("interval")
        val = f"{r['threshold']:.3f}" + (f" [{iv[0]:.2f}, {iv[1]:.2f}]" if iv else "")
        print(f"| {name} | {r['how']} | {val} | {r['alerts_normal']} "
              f"({r['alerts_per_hour_normal']:.1f}) | {100 * r['anomalous_frames_flagged']:.1f} % "
              f"| {r['events_alerted']} / {r['n_events']} |")  # fmt: skip
    print("\nby track age, on the test clips' normal frames: alerts / frames above the "
          "threshold / frames scored (ages below alert_after never alert)")
    print("| threshold | " + " | ".join(f"{lo}-{hi if hi < 10**8 else ''}" for lo, hi in AGE_BINS)
          + " |")  # fmt: skip
    print("|---|" + "---:|" * len(AGE_BINS))
    for name, r in rows.items():
        cells = [f"{n} / {u} / {s}" for n, u, s in
                 zip(r["alerts_by_age"], r["above_by_age"], r["scored_by_age"], strict=True)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for name, r in rows.items():
        for w in r.get("warnings", []):
            print(f"warning ({name}): {w}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
