import numpy as np
import pytest

from vivify.face import crop_face, feather_mask, paste_back
from vivify.face.crop import warp_to_frame
from vivify.io import load_image
from vivify.metrics import psnr

PORTRAITS = ["s0", "s2", "s5", "s6", "s7", "s9", "s10", "s12", "s42"]


@pytest.fixture(scope="module")
def portraits(shared_data, detector):
    out = {}
    for name in PORTRAITS:
        image = load_image(shared_data / "portraits" / f"{name}.jpg")
        out[name] = (image, detector.detect(image)[0])
    return out


@pytest.mark.parametrize("name", PORTRAITS)
def test_round_trip_of_unmodified_crop(portraits, name):
    image, face = portraits[name]
    before = image.copy()
    crop = crop_face(image, face.landmarks)
    assert crop.image.shape == (512, 512, 3)
    restored = paste_back(image, crop.image, crop.m_c2o, reference_crop=crop.image)
    assert psnr(restored, image) >= 40.0
    assert np.array_equal(image, before)


def test_plain_blend_round_trip_is_close(portraits):
    image, face = portraits["s5"]
    crop = crop_face(image, face.landmarks)
    assert psnr(paste_back(image, crop.image, crop.m_c2o), image) > 30.0


def test_edit_shows_inside_the_mask_only(portraits):
    image, face = portraits["s7"]
    crop = crop_face(image, face.landmarks)
    edited = crop.image.copy()
    edited[200:300, 200:300] = (255, 0, 0)  # a red square in the middle of the face
    out = paste_back(image, edited, crop.m_c2o, reference_crop=crop.image)
    h, w = image.shape[:2]
    footprint = warp_to_frame(np.full((512, 512), 255, np.uint8), crop.m_c2o, (h, w)) > 0
    changed = np.abs(out.astype(int) - image.astype(int)).max(axis=2) > 0
    assert not (changed & ~footprint).any()  # nothing outside the crop moved
    centre = (crop.m_c2o @ np.array([250.0, 250.0, 1.0]))[:2].astype(int)
    assert out[centre[1], centre[0], 0] > 200 and out[centre[1], centre[0], 1] < 60
    # far from the edit, the frame keeps its original detail
    corner = (crop.m_c2o @ np.array([40.0, 40.0, 1.0]))[:2].astype(int)
    assert np.array_equal(out[corner[1], corner[0]], image[corner[1], corner[0]])


def test_feather_mask_shape():
    m = feather_mask(256, 16)
    assert m.shape == (256, 256) and m[128, 128] == 255 and m[0, 128] == 0
    ramp = m[128, :17].astype(int)
    assert (np.diff(ramp) > 0).all()  # a monotone ramp over the feather width
    assert m[2, 2] < m[2, 128]  # rounded corners
