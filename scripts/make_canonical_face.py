"""Build vivify's canonical frontal face (src/vivify/face/data/canonical_face.npy).

The head-pose measure fits each face's 3D landmarks to this shape, so the shape defines what
yaw = pitch = roll = 0 means: left-right symmetric (zero yaw and roll) with the eye corners directly
above the mouth corners in depth (zero pitch). It is the Procrustes mean of faces tracked on real
images, mirrored onto itself.

    python scripts/make_canonical_face.py [DATA_DIR]   (default ../shared/data)
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps
from scipy.optimize import linear_sum_assignment

from vivify.face import landmarks as L
from vivify.face.detect import MediaPipeFaceDetector
from vivify.face.geometry import similarity_fit, to_right_handed


def _images(data: Path):
    for path in sorted((data / "portraits").glob("*.jpg")):
        yield np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    for path in sorted((data / "driving").glob("*.mp4")):
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i % 25 == 0:
                    yield frame.to_ndarray(format="rgb24")
                if i >= 100:
                    break


def _normalise(p: np.ndarray) -> np.ndarray:
    p = p - p.mean(axis=0)
    return p / np.linalg.norm(p[L.LEFT_EYE_CORNERS[0]] - p[L.RIGHT_EYE_CORNERS[0]])


def _procrustes_mean(shapes: list[np.ndarray], iterations: int = 5) -> np.ndarray:
    mean = shapes[0]
    for _ in range(iterations):
        aligned = []
        for s in shapes:
            k, rot, t = similarity_fit(s, mean)
            aligned.append(k * s @ rot.T + t)
        mean = _normalise(np.mean(aligned, axis=0))
    return mean


def _symmetrise(p: np.ndarray) -> np.ndarray:
    mirror = np.array([-1.0, 1.0, 1.0])
    flip = p * mirror
    # one-to-one matching of each point with its mirror partner (an involution on this mesh)
    _, perm = linear_sum_assignment(((flip[:, None, :] - p[None, :, :]) ** 2).sum(-1))
    assert np.array_equal(perm[perm], np.arange(len(p))), "mirror matching is not symmetric"
    k, rot, t = similarity_fit(flip[perm], p)
    sym = 0.5 * (p + (k * flip[perm] @ rot.T + t))
    # symmetry plane normal: the mean direction between mirrored pairs
    diffs = np.array([sym[i] - sym[j] for i, j in enumerate(perm) if i != j])
    diffs *= np.sign(diffs[:, 0:1])
    x_axis = diffs.mean(axis=0)
    x_axis /= np.linalg.norm(x_axis)
    eyes = sym[list(L.RIGHT_EYE_CORNERS + L.LEFT_EYE_CORNERS)].mean(axis=0)
    mouth = sym[list(L.MOUTH_CORNERS)].mean(axis=0)
    up = eyes - mouth
    y_axis = up - up.dot(x_axis) * x_axis
    y_axis /= np.linalg.norm(y_axis)
    frame = np.stack([x_axis, y_axis, np.cross(x_axis, y_axis)])
    sym = sym @ frame.T
    return _normalise(0.5 * (sym + sym[perm] * mirror))  # exactly symmetric about x = 0


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    shapes = []
    with MediaPipeFaceDetector() as detector:
        for image in _images(data):
            faces = detector.detect(image, max_faces=1)
            if faces:
                shapes.append(_normalise(to_right_handed(faces[0].landmarks)))
    canonical = _symmetrise(_procrustes_mean(shapes)).astype(np.float32)
    out = Path(__file__).resolve().parents[1] / "src/vivify/face/data/canonical_face.npy"
    np.save(out, canonical)
    print(f"{len(shapes)} faces -> {out}")


if __name__ == "__main__":
    main()
