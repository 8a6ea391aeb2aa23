"""load_image / save_image: every common pixel layout becomes (H, W, 3) uint8 RGB."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vivify.io.image as image_mod
from vivify.errors import InputError
from vivify.io import is_image_file, load_image, save_image

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _quadrants(h: int = 40, w: int = 60) -> np.ndarray:
    """(h, w, 3) test card: red top-left, green top-right, blue bottom-left, white bottom-right."""
    img = np.full((h, w, 3), 255, np.uint8)
    img[: h // 2, : w // 2] = RED
    img[: h // 2, w // 2 :] = GREEN
    img[h // 2 :, : w // 2] = BLUE
    return img


def _corner_colours(img: np.ndarray) -> list[tuple[int, ...]]:
    """Colours 3 px in from the four corners (TL, TR, BL, BR), rounded to 0/255."""
    h, w = img.shape[:2]
    pts = [(3, 3), (3, w - 4), (h - 4, 3), (h - 4, w - 4)]
    return [tuple(int(v) for v in np.where(img[y, x] > 127, 255, 0)) for y, x in pts]


# --- orientation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "clockwise_turns"),
    [(3, 2), (6, 1), (8, 3)],  # EXIF: 3 = 180 deg, 6 = 90 deg CW, 8 = 90 deg CCW to display
)
def test_exif_orientation_applied(tmp_path: Path, orientation: int, clockwise_turns: int) -> None:
    stored = _quadrants()
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)

    loaded = load_image(path)

    expected = np.rot90(stored, k=-clockwise_turns)  # negative k rotates clockwise
    assert loaded.shape == expected.shape
    assert loaded.dtype == np.uint8
    assert _corner_colours(loaded) == _corner_colours(expected)
    assert np.abs(loaded.astype(int) - expected).mean() < 6  # JPEG noise only


def test_file_is_not_modified(shared_data: Path) -> None:
    path = shared_data / "portraits" / "s0.jpg"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    img = load_image(path)
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# --- pixel modes -----------------------------------------------------------------------------


def test_grayscale(tmp_path: Path) -> None:
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(grey, mode="L").save(tmp_path / "g.png")
    img = load_image(tmp_path / "g.png")
    assert img.shape == (16, 16, 3)
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], grey)


def test_bilevel(tmp_path: Path) -> None:
    Image.fromarray(np.eye(8, dtype=bool)).save(tmp_path / "b.png")  # mode "1"
    img = load_image(tmp_path / "b.png")
    assert img.shape == (8, 8, 3)
    np.testing.assert_array_equal(img[..., 1], np.eye(8, dtype=np.uint8) * 255)


def test_rgba_composited_over_white(tmp_path: Path) -> None:
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (200, 10, 20, 255)  # opaque: unchanged
    rgba[0, 1] = (0, 0, 0, 0)  # fully transparent: white
    rgba[1, 0] = (0, 0, 0, 128)  # half transparent black: mid grey
    rgba[1, 1] = (255, 0, 0, 51)  # 20 % red over white
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.shape == (2, 2, 3)
    assert tuple(img[0, 0]) == (200, 10, 20)
    assert tuple(img[0, 1]) == (255, 255, 255)
    assert tuple(img[1, 0]) == (127, 127, 127)
    assert tuple(img[1, 1]) == (255, 204, 204)


def test_la_composited_over_white(tmp_path: Path) -> None:
    la = np.array([[[0, 0], [0, 255], [100, 255]]], np.uint8)
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    img = load_image(tmp_path / "la.png")
    assert img.shape == (1, 3, 3)
    assert img[0, :, 0].tolist() == [255, 0, 100]


def test_palette_with_transparency(tmp_path: Path) -> None:
    pal = Image.new("P", (3, 1))
    pal.putpalette([255, 0, 0, 0, 0, 255, 0, 0, 0] + [0] * (256 * 3 - 9))
    pal.putdata([0, 1, 2])
    pal.save(tmp_path / "p.png", transparency=2)
    assert Image.open(tmp_path / "p.png").mode == "P"
    img = load_image(tmp_path / "p.png")
    assert [tuple(p) for p in img[0]] == [RED, BLUE, (255, 255, 255)]


def test_cmyk_jpeg(tmp_path: Path) -> None:
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    img = load_image(tmp_path / "c.jpg")
    assert img.shape == (16, 16, 3)
    assert np.abs(img.astype(int) - RED).max() <= 3


def test_16bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257, 32768, 65535, 257 * 100]], np.uint16)
    Image.fromarray(values).save(tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").mode in ("I;16", "I")
    img = load_image(tmp_path / "d.png")
    assert img.dtype == np.uint8
    assert img[0, :, 0].tolist() == [0, 1, 128, 255, 100]
    assert (img[..., 0] == img[..., 2]).all()


def test_float_image(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32), mode="F").save(tmp_path / "f.tif")
    img = load_image(tmp_path / "f.tif")
    assert img[0, :, 0].tolist() == [0, 128, 255]


# --- errors ----------------------------------------------------------------------------------


def test_truncated_jpeg(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / "portraits" / "s0.jpg").read_bytes()
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated") as info:
        load_image(bad)
    assert str(info.value).startswith(str(bad))
    assert "\n" not in str(info.value)


def test_not_an_image(tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a JPEG\n")
    with pytest.raises(InputError, match="not an image") as info:
        load_image(bad)
    assert info.value.path == bad


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.png").touch()
    with pytest.raises(InputError, match="empty"):
        load_image(tmp_path / "e.png")


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "d.jpg").mkdir()
    with pytest.raises(InputError, match="folder"):
        load_image(tmp_path / "d.jpg")


def test_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found") as info:
        load_image(tmp_path / "nope.png")
    assert info.value.path == tmp_path / "nope.png"


def test_too_many_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.new("RGB", (20, 10)).save(tmp_path / "big.png")
    monkeypatch.setattr(image_mod, "MAX_PIXELS", 199)
    with pytest.raises(InputError, match="too large"):
        load_image(tmp_path / "big.png")
    monkeypatch.setattr(image_mod, "MAX_PIXELS", 200)
    assert load_image(tmp_path / "big.png").shape == (10, 20, 3)


# --- saving ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("ext", "tolerance"), [(".png", 0), (".jpg", 8), (".jpeg", 8), (".webp", 12)])
def test_save_round_trip(tmp_path: Path, ext: str, tolerance: int) -> None:
    rgb = _quadrants(32, 48)
    path = tmp_path / "sub" / f"out{ext}"
    save_image(path, rgb)
    back = load_image(path)
    assert back.shape == rgb.shape
    assert np.abs(back.astype(int) - rgb).mean() <= tolerance
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp left


def test_save_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="extension|cannot save"):
        save_image(tmp_path / "x.gif2", _quadrants())
    with pytest.raises(ValueError, match="uint8"):
        save_image(tmp_path / "x.png", _quadrants().astype(np.float32))
    with pytest.raises(ValueError, match="uint8"):
        save_image(tmp_path / "x.png", _quadrants()[..., 0])
    assert list(tmp_path.iterdir()) == []


def test_is_image_file() -> None:
    assert is_image_file("a/b.JPG") and is_image_file("x.webp")
    assert not is_image_file("clip.mp4") and not is_image_file("noext")
