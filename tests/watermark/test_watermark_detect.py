"""Detection: round trips, keys, streaming, unmarked media and robustness on real shared media."""

import cv2
import numpy as np
import pytest
from watermark_media import h264_round_trip, load_rgb, read_frames, square

from vivify.watermark import DEFAULT_THRESHOLD, Detector, Message, detect, embed
from vivify.watermark.search import SEARCH_THRESHOLD, hypothesis_count

MESSAGE = Message(0, 1, 0xDEADBEEF)
TRUTH = MESSAGE.to_bits()


@pytest.fixture(scope="module")
def portraits(shared_data) -> list[np.ndarray]:
    """Four real portraits, centre-cropped to 512 x 512."""
    paths = sorted((shared_data / "portraits").glob("*.jpg"))[:4]
    return [square(load_rgb(p)) for p in paths]


def _accuracy(detection) -> float:
    return float(np.mean(detection.bits == TRUTH))


def test_round_trip_decodes_version_and_payload(portraits):
    found = detect(embed(portraits[0], MESSAGE))
    assert found.present and found.crop is None and found.n_frames == 1
    assert found.message == MESSAGE and found.version == "0.1" and found.payload == 0xDEADBEEF
    assert found.bit_accuracy == 1.0 and found.z > 10 and found.p_value < 1e-20


def test_wrong_key_is_not_present(portraits):
    marked = embed(portraits[1], MESSAGE, key=1)
    assert detect(marked, key=1).present
    other = detect(marked, key=2)
    assert not other.present and other.message is None and abs(other.z) < 4


def test_unmarked_real_images_are_not_present(shared_data, portraits):
    images = portraits + [load_rgb(p) for p in sorted((shared_data / "driving").glob("*.jpg"))]
    for rgb in images:
        found = detect(rgb)
        assert not found.present and found.message is None and abs(found.z) < 4


def test_unmarked_real_video_is_not_present(shared_data):
    frames = read_frames(shared_data / "driving" / "d0.mp4", 10)
    found = detect(frames)
    assert not found.present and found.n_frames == 10


def test_streaming_detector_equals_detect_and_starts_empty(portraits):
    frames = [embed(rgb, MESSAGE) for rgb in portraits[:2]]
    detector = Detector()
    empty = detector.result()
    assert not empty.present and empty.n_frames == 0 and empty.z == 0.0
    for rgb in frames:
        detector.add(rgb)
    streamed, direct = detector.result(), detect(iter(frames))
    assert streamed.present and streamed.n_frames == 2
    assert streamed.z == pytest.approx(direct.z) and np.array_equal(streamed.bits, direct.bits)


def test_h264_crf23_single_frames(portraits):
    for rgb in portraits:
        (decoded,) = h264_round_trip([embed(rgb, MESSAGE)], crf=23)
        found = detect(decoded, search_crops=False)
        assert found.present and _accuracy(found) >= 0.95


def test_h264_crf23_real_video_accumulates_frames(shared_data):
    frames = read_frames(shared_data / "driving" / "d12.mp4", 12)
    decoded = h264_round_trip([embed(rgb, MESSAGE) for rgb in frames], crf=23)
    whole = detect(decoded, search_crops=False)
    assert whole.present and whole.message == MESSAGE and whole.n_frames == 12
    assert whole.z > detect(decoded[5], search_crops=False).z  # more frames, more evidence


def test_half_downscale(portraits):
    for rgb in portraits:
        small = cv2.resize(embed(rgb, MESSAGE), (256, 256), interpolation=cv2.INTER_AREA)
        found = detect(small, search_crops=False)
        assert found.present and _accuracy(found) >= 0.9


def test_odd_size_and_upscaled_screenshot(portraits):
    rgb = cv2.resize(portraits[2], (301, 377), interpolation=cv2.INTER_AREA)
    screenshot = cv2.resize(embed(rgb, MESSAGE), (451, 565), interpolation=cv2.INTER_CUBIC)
    png = cv2.imdecode(cv2.imencode(".png", screenshot)[1], cv2.IMREAD_UNCHANGED)
    found = detect(png, search_crops=False)
    assert found.present and found.message == MESSAGE


def test_border_crop_is_found_by_the_search(portraits):
    marked = embed(portraits[3], MESSAGE)
    cropped = marked[26:-26, 26:-26]  # 10 % of the width and height removed
    assert not detect(cropped, search_crops=False).present
    found = detect(cropped)
    assert found.present and found.crop is not None and _accuracy(found) >= 0.95
    left, top, width, height = found.crop
    assert left == pytest.approx(26 / 512, abs=0.01) and width == pytest.approx(460 / 512, abs=0.01)


def test_false_positive_bounds_are_below_one_in_a_million():
    aligned = np.exp(-(DEFAULT_THRESHOLD**2) / 2)
    searched = hypothesis_count() * np.exp(-(SEARCH_THRESHOLD**2) / 2)
    assert aligned + searched < 1e-6


def test_bad_frames_and_keys_raise():
    with pytest.raises(ValueError):
        detect(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError):
        Detector(key=-1)
