"""The mesh backend's renders against the issue's acceptance checks (vivify.render_checks).

Each pair is animated once per session through the Animator, recording the target landmarks the
renderer is given; every check then runs on every frame. The pairs hold the issue's hard frames:
s10 x d12 frames 36, 72, 170 and 182 (streaks along the face edge, straight paste-back edges),
s9 x d3 around frame 211 and its head turns (to 23 degrees by frame 263).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from vivify import render_checks as rc

PAIRS = {  # id: (portrait, driver, frames rendered from frame 0; None: all)
    "s10xd12": ("s10", "d12", None),  # 183 frames
    "s9xd3": ("s9", "d3", None),  # 354 frames; turns at 10-30, 140-180, 200-220, 250-290
    "s42xd0": ("s42", "d0", None),  # 78 frames of an open, toothy smile
    "s0xd19": ("s0", "d19", None),  # 250 frames; a small face (eyes 18 px wide)
}


@dataclass
class Rendered:
    name: str
    checks: list[rc.FrameChecks]


@pytest.fixture(scope="module", params=list(PAIRS))
def rendered(request, shared_data, detector) -> Rendered:
    from vivify.pipeline import AnimationOptions, Animator, DrivingSource

    portrait, driver, frames = PAIRS[request.param]
    animator = Animator(backend="mesh", detector=detector)
    prepared = animator.prepare(shared_data / "portraits" / f"{portrait}.jpg")
    footprint = animator.backend.footprint(prepared.state)
    checker = rc.FrameChecker(prepared.image, prepared.landmarks, footprint)
    driving = DrivingSource(shared_data / "driving" / f"{driver}.mp4", detector, max_frames=frames)
    options = AnimationOptions(max_frames=frames, watermark=False)
    checks = []
    with rc.recording_targets(animator.backend) as targets:
        for i, frame in enumerate(animator.frames(prepared, driving, options)):
            assert len(targets) == i + 1, "one warp per frame"
            checks.append(checker.update(frame, targets[i]))
    return Rendered(f"{portrait} x {driver}", checks)


def _failures(rendered: Rendered, describe: Callable[[rc.FrameChecks], str | None]) -> str:
    """One line per failing frame (``describe`` returns None for a passing one), at most 12."""
    lines = [f"frame {c.index}: {text}" for c in rendered.checks if (text := describe(c)) is not None]
    more = f"\n... and {len(lines) - 12} more" if len(lines) > 12 else ""
    return f"{rendered.name}: {len(lines)} failing frames\n" + "\n".join(lines[:12]) + more if lines else ""


def test_seam_gradient_within_1_3x_of_the_source_at_every_frame(rendered):
    def seam(c: rc.FrameChecks) -> str | None:
        s = c.seam
        return (
            None if s.passed else f"ratio {s.ratio:.2f} ({s.output_gradient:.1f} / {s.source_gradient:.1f})"
        )

    assert not (report := _failures(rendered, seam)), report


def test_no_unexplained_changes_outside_the_face_core(rendered):
    def streaks(c: rc.FrameChecks) -> str | None:
        s = c.streaks
        if s is None or s.passed:
            return None
        return f"{s.unexplained} px, worst {s.worst_excess:.0f} grey beyond r={s.radius} at {s.worst_xy}"

    assert not (report := _failures(rendered, streaks)), report


def test_open_mouth_shows_a_dark_varied_interior(rendered):
    def mouth(c: rc.FrameChecks) -> str | None:
        m = c.mouth
        return (
            None if m.passed else f"gap {m.lip_gap:.2f}: darkness {m.darkness:.2f}, std {m.interior_std:.1f}"
        )

    assert any(c.mouth.applies for c in rendered.checks), "no open mouth rendered"
    assert not (report := _failures(rendered, mouth)), report


def test_closed_eyes_show_lid_skin_and_no_iris(rendered):
    if not any(e.applies for c in rendered.checks for e in c.eyes):
        pytest.skip(f"{rendered.name}: no target eye closes (ratio < {rc.EYE_CLOSED_RATIO})")

    def eyes(c: rc.FrameChecks) -> str | None:
        bad = [e for e in c.eyes if not e.passed]
        return (
            "; ".join(
                f"{e.eye} eye ratio {e.open_ratio:.2f}: colour {tuple(round(v) for v in e.mean_colour)} "
                f"{'in' if e.colour_in_range else 'out of'} range, iris {e.iris_fraction:.1%}"
                for e in bad
            )
            or None
        )

    assert not (report := _failures(rendered, eyes)), report
