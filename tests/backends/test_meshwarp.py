import cv2
import numpy as np
import pytest

from vivify.backends import MeshWarpBackend, load_backend
from vivify.backends.base import DrivingFrame
from vivify.backends.mesh_maps import warp_maps
from vivify.errors import UserError
from vivify.io import load_image
from vivify.motion.transfer_options import DriveMode, TransferOptions


@pytest.fixture(scope="module")
def prepared(shared_data, detector):
    image = load_image(shared_data / "portraits" / "s5.jpg")
    face = detector.detect(image)[0]
    backend = MeshWarpBackend()
    return backend, backend.prepare(image, face), image, face


def test_rest_pose_renders_the_source_exactly(prepared):
    backend, state, image, face = prepared
    assert np.array_equal(backend.warp(state, face.landmarks), image)


def test_motion_stays_inside_the_working_region(prepared):
    backend, state, image, face = prepared
    target = face.landmarks.copy()
    target[:, 0] += 6  # shift the face right
    out = backend.warp(state, target)
    x0, y0, x1, y1 = state.region
    outside = np.ones(image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], image[outside])
    assert np.abs(out.astype(int) - image).max() > 30  # but the face did move


def test_open_mouth_gets_a_dark_cavity(prepared):
    backend, state, image, face = prepared
    target = face.landmarks.copy()
    lower = [14, 87, 178, 88, 95, 317, 402, 318, 324, 17, 84, 181, 91, 146, 314, 405, 321, 375]
    drop = 0.12 * face.size
    target[lower, 1] += drop
    target[[152, 148, 176, 149, 150, 377, 400, 378, 379, 175, 199, 200, 18], 1] += drop
    out = backend.warp(state, target)
    cx, cy = target[[13, 14], :2].mean(axis=0).astype(int)
    assert out[cy, cx].mean() < 0.6 * image[cy, cx].mean()


def test_backend_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("VIVIFY_WEIGHTS", str(tmp_path))  # an empty weights folder: auto falls back
    assert load_backend("auto").name == "mesh"
    assert load_backend("mesh").name == "mesh"
    with pytest.raises(UserError, match="unknown backend"):
        load_backend("nope")


def test_protocol_render_moves_and_crops(prepared):
    backend, state, image, face = prepared
    target = face.landmarks.copy()
    target[:, 0] += 6
    options = TransferOptions()
    moved = backend.render(state, backend.motion(DrivingFrame(0, target, None)), face.landmarks, options)
    assert np.array_equal(moved, backend.warp(state, backend.target(state, target, face.landmarks, options)))
    crop = backend.render(state, target, face.landmarks, options, paste_back=False)
    assert crop.shape == (512, 512, 3)
    canvas = np.zeros_like(image)
    pasted = backend.render(state, target, face.landmarks, options, canvas=canvas)
    inside = backend.footprint(state)
    assert not pasted[~inside].any()  # outside the footprint: the canvas
    core = cv2.erode(inside.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)
    assert np.array_equal(pasted[core], moved[core])  # the face: the warped source


def test_still_driving_image_takes_its_expression_not_the_identity(prepared):
    backend, state, image, face = prepared
    # relative mode with a single image: the image is not compared with itself (no motion) but
    # with a neutral face, so an open mouth in the driving image opens the source's mouth
    opened = face.landmarks.copy()
    lower_lip = [14, 87, 178, 88, 95, 317, 402, 318, 324, 17, 84, 181, 91, 146, 314, 405, 321, 375]
    opened[lower_lip, 1] += 0.1 * face.size
    out = backend.render(state, opened, opened, TransferOptions(), DriveMode.STILL)
    assert np.abs(out.astype(int) - image).max() > 30


def test_warp_is_smoothed_outside_the_face_core(prepared):
    from vivify.face import landmarks as L
    from vivify.face.geometry import euler_to_rotation
    from vivify.motion.mesh import FacePose, compose, decompose

    _, state, image, face = prepared
    pose, shape = decompose(face.landmarks)
    rotation = euler_to_rotation(20, 0, 0) @ pose.rotation
    turned = compose(FacePose(pose.scale, rotation, pose.translation), shape)

    def roughness(backend):
        x0, y0, _, _ = state.region
        dst = np.concatenate([turned[:, :2] - [x0, y0], state.fixed])
        depth = np.concatenate([turned[:, 2], np.full(len(state.fixed), turned[:, 2].max() + face.size)])
        map_x, _ = warp_maps(state.region, state.triangles, state.src_vertices, dst, depth, state.face_size,
                             backend.maps)  # fmt: skip
        disp = map_x - (np.arange(map_x.shape[1]) + x0)[None, :]
        core = np.zeros(map_x.shape, np.uint8)
        oval = turned[list(L.FACE_OVAL), :2]
        shrunk = oval.mean(0) + 0.8 * (oval - oval.mean(0)) - [x0, y0]
        cv2.fillPoly(core, [np.round(shrunk).astype(np.int32)], 1)
        curvature = np.abs(np.diff(disp, 2, axis=1))[core[:, 1:-1] == 0]
        return float(np.percentile(curvature, 99.9))

    sharp = roughness(MeshWarpBackend(smooth_outside=0.0, sharp_core=1.0))
    smooth = roughness(MeshWarpBackend())
    assert smooth < 0.5 * sharp
