"""atomic_path: the target appears complete or not at all, and no temporary file is left."""

from __future__ import annotations

from pathlib import Path

import pytest

from vivify.io.atomic import atomic_path


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_success_moves_temp_onto_target(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.startswith(".out.tmp-") and tmp.suffix == ".png"
        assert not target.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert _listing(tmp_path) == ["out.png"]


def test_suffix_override(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "clip.data", suffix=".mp4") as tmp:
        assert tmp.suffix == ".mp4"
        tmp.write_bytes(b"x")
    assert _listing(tmp_path) == ["clip.data"]


def test_exception_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert _listing(tmp_path) == []


def test_existing_target_replaced_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "result.txt"
    target.write_bytes(b"old")
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half-written")
            raise ValueError("fail")
    assert target.read_bytes() == b"old"
    assert _listing(tmp_path) == ["result.txt"]

    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert _listing(tmp_path) == ["result.txt"]


def test_keyboard_interrupt_also_cleans_up(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "a.bin") as tmp:
            tmp.write_bytes(b"x")
            raise KeyboardInterrupt
    assert _listing(tmp_path) == []


def test_creates_missing_parent_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "file.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("hello")
    assert target.read_text() == "hello"


def test_block_that_writes_nothing_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "never.txt"):
            pass
    assert _listing(tmp_path) == []
