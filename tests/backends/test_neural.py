"""The neural backend through prepare / motion / render, with the deterministic test weights.

The networks run at their real shapes (a render costs seconds on CPU), so the renders are few and
shared; the option logic is checked on the keypoints, which cost nothing.
"""

import dataclasses
import logging

import cv2
import numpy as np
import pytest
import torch

from vivify.backends import DrivingFrame, load_backend
from vivify.backends.neural import CROP_SIZE, DRIVING_CROP, DecodedFrames, NeuralBackend, stack_motions
from vivify.errors import UserError
from vivify.face.align import crop_matrix
from vivify.face.crop import warp_to_frame
from vivify.face.openness import retarget_eye_ratios, retarget_lip_ratio
from vivify.io import VideoReader, load_image
from vivify.motion import stitch
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.motion.relative import EYE_ROWS, LIP_ROWS, REFERENCE_EXPRESSION, relative_keypoints
from vivify.motion.transfer_options import DriveMode, TransferOptions


@pytest.fixture(scope="module")
def backend(models):
    return NeuralBackend(models=models)


@pytest.fixture(scope="module")
def source(shared_data, detector, backend):
    image = load_image(shared_data / "portraits" / "s0.jpg")
    face = detector.detect(image)[0]
    return image, face, backend.prepare(image, face)


@pytest.fixture(scope="module")
def driving(shared_data, detector, backend):
    """Motion of three frames of an official (square, pre-cropped) driving video."""
    with VideoReader(shared_data / "driving" / "d0.mp4", max_frames=61) as reader:
        frames = [f for i, f in enumerate(reader) if i in (0, 30, 60)]
    faces = [detector.detect(f)[0] for f in frames]
    return frames, faces, [backend.motion(DrivingFrame(i, f.landmarks, im)) for i, (im, f) in
                           enumerate(zip(frames, faces, strict=True))]  # fmt: skip


def _footprint(state, size: int = CROP_SIZE) -> np.ndarray:
    """Frame pixels the pasted crop can touch (bilinear warp of a full mask, grown by a pixel)."""
    touched = warp_to_frame(np.full((size, size), 255, np.uint8), state.m_c2o, state.image.shape[:2]) > 0
    return cv2.dilate(touched.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def test_prepare(source):
    image, face, state = source
    assert state.crop.shape == (256, 256, 3) and state.crop.dtype == np.uint8
    assert state.features.shape == (1, 32, 16, 64, 64)
    assert state.x_s.shape == (1, 21, 3)
    np.testing.assert_array_equal(state.eye_ratio, retarget_eye_ratios(face.landmarks))
    np.testing.assert_array_equal(state.lip_ratio, retarget_lip_ratio(face.landmarks))
    centre = state.m_c2o[:2] @ np.array([256.0, 256.0, 1.0])  # the crop centre lies on the face
    assert face.box.x0 < centre[0] < face.box.x1 and face.box.y0 < centre[1] < face.box.y1


def test_large_source_is_cropped_like_the_official_limit(source, backend):
    """Above 1280 pixels the crop comes from a resized copy but pastes into the full picture."""
    image, face, state = source
    big = cv2.resize(image, (image.shape[1] * 2, image.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    lmk = face.landmarks.copy()
    lmk[:, :2] = (lmk[:, :2] + 0.5) * 2 - 0.5
    big_state = backend.prepare(big, type(face)(lmk, face.box))
    assert big_state.image is big
    np.testing.assert_allclose(big_state.m_c2o[:2, :2], 2 * state.m_c2o[:2, :2], rtol=5e-3)
    assert np.abs(big_state.crop.astype(int) - state.crop).mean() < 6


def test_driving_input_whole_frame_or_crop(driving, source, backend):
    frames, faces, motions = driving
    # an official pre-cropped driving video: the whole frame, as LivePortrait does
    crop, to_frame = backend.driving_input(frames[0], faces[0].landmarks)
    assert to_frame is None
    assert np.array_equal(crop, cv2.resize(frames[0], (256, 256), interpolation=cv2.INTER_LINEAR))
    assert all(m.to_frame is None for m in motions)
    # a face that does not fill its (non-square) frame: cropped, with the map back to the frame
    image, face, _ = source
    crop, to_frame = backend.driving_input(image, face.landmarks)
    assert crop.shape == (256, 256, 3) and to_frame is not None
    m = crop_matrix(face.landmarks, DRIVING_CROP).astype(np.float64)
    h, w = image.shape[:2]
    q = face.landmarks[[1, 33, 291], :2].astype(np.float64)  # frame pixels
    u_crop = (q @ m[:2, :2].T + m[:2, 2]) / (CROP_SIZE / 2) - 1
    u_frame = (q - [w / 2, h / 2]) / (max(h, w) / 2)
    np.testing.assert_allclose(to_frame[0] * u_crop + to_frame[1:], u_frame, atol=1e-5)


def test_crop_motion_is_mapped_to_frame_coordinates(driving, backend):
    """The same face cropped from a padded frame moves by the padding in frame coordinates."""
    frames, faces, motions = driving
    padded = cv2.copyMakeBorder(frames[0], 0, 512, 0, 512, cv2.BORDER_CONSTANT)  # face in one quarter
    motion = backend.motion(DrivingFrame(0, faces[0].landmarks, padded))
    assert motion.to_frame is not None
    kp = motion.keypoints()
    # the whole-frame value's scale halves (frame twice as large) and it moves up-left
    assert 0.3 < kp.scale[0, 0] / motions[0].scale[0, 0] < 0.7
    assert (kp.t[0, :2] < motions[0].t[0, :2]).all()
    raw = motion.keypoints(in_frame=False)
    np.testing.assert_array_equal(raw.t, motion.t)


def test_template_motion_passes_through(backend, driving):
    keypoints = driving[2][1].keypoints()
    assert backend.motion(DrivingFrame(0, None, None, keypoints=keypoints)) is keypoints
    assert backend.motion(DrivingFrame(0, None, np.zeros((8, 8, 3), np.uint8))) is None  # no face


def test_template_and_extracted_motion_agree(backend, source, driving):
    motions = driving[2]
    state = source[2]
    options = TransferOptions()
    from_template = [m.keypoints() for m in motions]
    a = backend.driving_keypoints(state, motions[1:], motions[0], options)
    b = backend.driving_keypoints(state, from_template[1:], from_template[0], options)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_expression_friendly_scale_is_computed_once_per_reference(backend, source, driving, monkeypatch):
    import vivify.motion.transfer as transfer

    calls = []
    real = transfer.hull_motion_multiplier
    monkeypatch.setattr(transfer, "hull_motion_multiplier", lambda *a: calls.append(1) or real(*a))
    motions, state = driving[2], dataclasses.replace(source[2], friendly_scales={})
    options = TransferOptions()
    first = [backend.driving_keypoints(state, [m], motions[0], options) for m in motions]
    assert len(calls) == 1  # one hull for the whole animation, not one per frame
    again = backend.driving_keypoints(state, [motions[2]], motions[0].keypoints(in_frame=False), options)
    assert len(calls) == 2  # another reference motion: its own scale
    torch.testing.assert_close(again, first[2], rtol=0, atol=1e-6)  # the same motion, in other types
    fresh = dataclasses.replace(state, friendly_scales={})
    torch.testing.assert_close(backend.driving_keypoints(fresh, [motions[1]], motions[0], options), first[1])


@pytest.mark.parametrize(("region", "rows"), [("lips", LIP_ROWS), ("eyes", EYE_ROWS)])
def test_region_changes_only_its_keypoints(backend, source, driving, region, rows):
    state, motions = source[2], driving[2]
    options = TransferOptions(region=region, stitching=False)
    x_d = backend.driving_keypoints(state, motions[1:], motions[0], options)
    others = [i for i in range(21) if i not in rows]
    assert torch.equal(x_d[:, others], state.x_s.expand(2, -1, -1)[:, others])
    assert not torch.equal(x_d[:, list(rows)], state.x_s.expand(2, -1, -1)[:, list(rows)])


@pytest.mark.parametrize("part", ["eye", "lip"])
def test_retargeting_moves_monotonically_with_the_target(backend, source, driving, part):
    state, motion = source[2], driving[2][0]
    targets = np.linspace(0.0, 0.6, 7)
    offsets = torch.cat([
        backend.driving_keypoints(
            state, [motion], motion, TransferOptions(**{f"{part}_retargeting": True, f"{part}_ratio": t})
        ) - state.x_s
        for t in targets
    ])  # fmt: skip
    direction = offsets[-1] - offsets[0]
    along = (offsets * direction).sum(dim=(1, 2))
    assert (torch.diff(along) > 0).all(), along


def test_retargeting_follows_the_driver_ratio(backend, source, driving):
    state, motions = source[2], driving[2]
    follow = TransferOptions(eye_retargeting=True)
    x_d = backend.driving_keypoints(state, motions, motions[0], follow)
    fixed = [
        backend.driving_keypoints(
            state, [m], motions[0], TransferOptions(eye_retargeting=True, eye_ratio=float(m.eye_ratio[0, 0]))
        )  # fmt: skip
        for m in motions
    ]
    torch.testing.assert_close(x_d, torch.cat(fixed))
    with pytest.raises(UserError, match="fixed eye ratio"):
        template = KeypointMotion(motions[0].rotation, motions[0].exp, motions[0].t, motions[0].scale)
        backend.driving_keypoints(state, [template], template, follow)


def test_still_image_is_its_own_anchor(backend, source, driving):
    """A single driving image: its pose relative to itself, its expression against LivePortrait's
    reference expression, no expression-friendly rescale."""
    state, motion = source[2], driving[2][1]
    options = TransferOptions()
    x_d = backend.driving_keypoints(state, [motion], None, options, DriveMode.STILL)
    drv = stack_motions([motion], backend.device, backend.dtype).in_frame()
    ref = torch.from_numpy(REFERENCE_EXPRESSION.astype(np.float32))[None]
    expected = relative_keypoints(state.info, drv, drv, "all", anchor_exp=ref)
    expected = stitch(backend.models.stitching_retargeting_module.stitching, state.x_s, expected)
    torch.testing.assert_close(x_d, state.x_s + (expected - state.x_s) * 1.0, rtol=0, atol=0)
    # a video frame that is its own reference barely moves; a still image shows its expression
    as_video = backend.driving_keypoints(state, [motion], motion, options)
    assert (x_d - as_video).abs().max() > 1e-3


@pytest.fixture(scope="module")
def renders(backend, source, driving):
    """Two renders (seconds each): a video frame pasted into a canvas, a still image into the source."""
    image, _, state = source
    motions = driving[2]
    canvas = np.full_like(image, 77)
    return {
        "canvas": backend.render(state, motions[1], motions[0], TransferOptions(), canvas=canvas),
        "still": backend.render(state, motions[1], None, TransferOptions(), DriveMode.STILL),
        "canvas_image": canvas,
    }


def test_paste_back_into_canvas(backend, source, renders):
    image, _, state = source
    out, canvas = renders["canvas"], renders["canvas_image"]
    assert out.shape == image.shape and out.dtype == np.uint8
    outside = ~_footprint(state)
    assert outside.any() and np.array_equal(out[outside], canvas[outside])
    assert not np.array_equal(out[~outside], canvas[~outside])
    with pytest.raises(ValueError, match="canvas"):
        backend.paste(state, np.zeros((512, 512, 3), np.uint8), canvas[:-2])


def test_crop_output_without_paste_back(backend, source, driving, monkeypatch):
    """paste_back off returns the decoder's 512 crop (decoding replaced by a stand-in here)."""
    state, motions = source[2], driving[2]
    fake = DecodedFrames(torch.full((1, 3, 512, 512), 0.5), torch.ones(1, 1, 64, 64))
    monkeypatch.setattr(backend, "warp_decode", lambda state, x_d: fake)
    crop = backend.render(state, motions[1], motions[0], TransferOptions(), paste_back=False)
    assert crop.shape == (512, 512, 3) and crop.dtype == np.uint8 and (crop == 127).all()
    pasted = backend.render(state, motions[1], motions[0], TransferOptions())
    assert np.array_equal(pasted, backend.paste(state, crop))


def test_still_render_pastes_into_the_source(source, renders):
    image, _, state = source
    out = renders["still"]
    assert out.shape == image.shape
    outside = ~_footprint(state)
    assert np.array_equal(out[outside], image[outside])
    assert not np.array_equal(out[~outside], image[~outside])


def test_load_backend(test_weights_dir, tmp_path, caplog):
    with pytest.raises(UserError, match="vivify weights download"):
        load_backend("neural", weights_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="vivify.backends"):
        assert load_backend("auto", weights_dir=tmp_path).name == "mesh"
    assert "vivify weights download" in caplog.text
    assert load_backend("auto", weights_dir=test_weights_dir).name == "neural"


def test_reference_takes_pose_and_expression_apart():
    from vivify.backends.neural import DrivingMotion

    def motion(k: float) -> DrivingMotion:
        return DrivingMotion(np.eye(3, dtype=np.float32)[None] * k, np.full((1, 21, 3), k, np.float32),
                             np.full((1, 3), k, np.float32), np.full((1, 1), k, np.float32))  # fmt: skip

    ref = NeuralBackend.reference(motion(1.0), motion(2.0))
    assert (ref.rotation == 1).sum() == 3 and (ref.t == 1).all() and (ref.scale == 1).all()
    assert (ref.exp == 2).all()
