"""Fuzzing the stream: any update arguments, any JSON lines.

Only the documented errors (TypeError / ValueError naming the input) may come
out, a rejected frame changes nothing, and every good frame is scored exactly as
if the bad ones had never been sent.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyod_dsnf.cli import main
from pyod_dsnf.stream import StreamScorer
from tests._stream_helpers import SEG_LEN, detector

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_V = 17
_BASE = np.random.default_rng(0).normal(500, 60, size=(_V, 3))
_BASE[:, 2] = 0.8


def _good_pose(draw) -> list:
    shift = draw(st.floats(-50, 50))
    kp = _BASE.copy()
    kp[:, :2] += shift
    if draw(st.booleans()):
        kp[draw(st.integers(0, _V - 1)), 2] = 0.0  # an undetected joint
    if draw(st.integers(0, 5)) == 0:
        return kp[:, :2].ravel().tolist()  # (x, y) only, flat
    return kp.tolist()


_weird_value = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
    st.lists(st.floats(-1e3, 1e3), max_size=4),
)


@st.composite
def _bad_pose(draw):
    kind = draw(st.integers(0, 2))
    if kind == 0:
        flat = np.asarray(_good_pose(draw), dtype=object).ravel().tolist()
        flat[draw(st.integers(0, len(flat) - 1))] = draw(_weird_value)
        return flat
    if kind == 1:
        return draw(st.lists(st.floats(-1e6, 1e6), max_size=60))
    return draw(_weird_value)


@st.composite
def _call(draw, clock):
    """Mostly good frames (so that windows fill and get scored), one flaw now and then."""
    camera = draw(st.sampled_from(["a", "b"]))
    frame = clock.get(camera, -1) + draw(st.sampled_from([1, 1, 1, 1, 1, 2, 3, 9]))
    ids = [0, *draw(st.lists(st.sampled_from([1, "x"]), max_size=2, unique=True))]
    people = {pid: _good_pose(draw) for pid in ids}
    flaw = draw(st.integers(0, 30))
    if flaw == 0:
        camera = draw(st.sampled_from([3, None, b"a"]))
    elif flaw == 1:
        frame = draw(st.sampled_from([1.5, True, "7", -3, clock.get(camera, 0), 2**63]))
    elif flaw == 2:
        people[draw(st.sampled_from([2.5, (1,), None]))] = _good_pose(draw)
    elif flaw in (3, 4):
        people[draw(st.sampled_from(ids))] = draw(_bad_pose())
    elif flaw == 5:
        people = draw(st.sampled_from([[1, 2], "people", None]))
    return camera, frame, people


def _rec(r):
    return (r.camera, r.frame, r.person, r.score, r.alert, r.joints, r.filled)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_update_rejects_only_with_documented_errors_and_loses_nothing(data):
    det = detector()
    fuzzed, clean = StreamScorer(det, forget_after=4), StreamScorer(det, forget_after=4)
    clock: dict[str, int] = {}
    n_calls = data.draw(st.integers(SEG_LEN, 4 * SEG_LEN))
    for _ in range(n_calls):
        camera, frame, people = data.draw(_call(clock))
        try:
            got = fuzzed.update(camera, frame, people)
        except (TypeError, ValueError) as exc:
            assert str(exc)  # a message, naming what was wrong
            continue
        clock[camera] = frame
        want = clean.update(camera, frame, people)  # the same frame, never having seen the bad
        assert [_rec(r) for r in got] == [_rec(r) for r in want]
        for r in got:
            assert not math.isnan(r.score) and r.frame <= frame
    assert fuzzed.stats == clean.stats


@st.composite
def _line(draw, clock):
    camera, frame, people = draw(_call(clock))
    if isinstance(people, dict):
        people = {str(k): v for k, v in people.items()}
    try:
        text = json.dumps({"camera": camera, "frame": frame, "people": people})
    except TypeError:  # bytes camera: not JSON at all
        text = repr(camera)  # NaN / Infinity become the non-standard literals: rejected
    mutation = draw(st.integers(0, 30))
    if mutation == 0:
        text = text[: draw(st.integers(0, len(text)))]
    elif mutation == 1:
        text = draw(st.text(max_size=30))
    elif mutation == 2:
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(["}", "]", '"', ",", "\\u0000", "1e999"])) + text[i:]
    if isinstance(camera, str) and isinstance(frame, int) and not isinstance(frame, bool):
        clock[camera] = max(clock.get(camera, -1), min(frame, 2**40))
    return text.replace("\n", " ").replace("\r", " ")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "model.dsnf"
    detector().save(path)
    return path


@pytest.mark.slow
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_stream_cli_survives_any_lines_and_scores_every_good_one(data, model, tmp_path, capfd):
    clock: dict[str, int] = {}
    lines = [data.draw(_line(clock)) for _ in range(data.draw(st.integers(1, 4 * SEG_LEN)))]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["stream", str(model), str(src), "-o", str(out)]) == 0
    err = capfd.readouterr().err
    bad = {int(m.split(":")[0]) for m in err.split("pyod-dsnf stream: line ")[1:]}
    got = out.read_text(encoding="utf-8").splitlines()
    for text in got:
        d = json.loads(text)
        assert set(d) == {"camera", "frame", "person", "score", "alert", "joints", "filled"}
    # the good lines alone give the same scores: a bad line took nothing with it
    good = [t for i, t in enumerate(lines, 1) if i not in bad]
    src.write_text("\n".join(good) + "\n", encoding="utf-8")
    assert main(["stream", str(model), str(src), "-o", str(out)]) == 0
    assert "(0 bad)" in capfd.readouterr().err
    assert out.read_text(encoding="utf-8").splitlines() == got
