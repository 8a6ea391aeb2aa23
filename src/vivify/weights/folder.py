"""A weights folder in the official layout: find, check against the manifest, convert."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from vivify.errors import InputError
from vivify.weights.io import load_checkpoint, save_safetensors
from vivify.weights.specs import WEIGHT_FILES, WeightFile, expected_tensors

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "int64": torch.int64}


def find_file(root: str | Path, spec: WeightFile) -> Path | None:
    """The file for ``spec`` under ``root``: the official ``.pth`` or a ``.safetensors`` beside it."""
    base = Path(root) / spec.subfolder
    for candidate in (base / spec.filename, (base / spec.filename).with_suffix(".safetensors")):
        if candidate.is_file():
            return candidate
    return None


@dataclass
class FileReport:
    """What is wrong with one checkpoint file (empty lists: nothing)."""

    spec: WeightFile
    path: Path | None
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # "key: got (shape, dtype), expected (...)"
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.path is not None and not (self.missing or self.unexpected or self.wrong or self.error)


def check_file(path: Path, spec: WeightFile, allow_fp16: bool = True) -> FileReport:
    """Compare one file's keys, shapes and dtypes with the manifest."""
    report = FileReport(spec, path)
    try:
        ckpt = load_checkpoint(path)
    except InputError as exc:
        report.error = exc.message
        return report
    expected = expected_tensors(spec.filename)
    groups = ckpt.items() if "" not in expected else [("", ckpt)]
    got = {sub: d for sub, d in groups if isinstance(d, dict)}
    for sub, keys in expected.items():
        have = got.get(sub, {})
        if sub:  # accept keys with or without the DistributedDataParallel prefix
            have = {k if k.startswith("module.") else f"module.{k}": v for k, v in have.items()}
        label = f"{sub}/" if sub else ""
        report.missing += [f"{label}{k}" for k in keys if k not in have]
        report.unexpected += [f"{label}{k}" for k in have if k not in keys]
        for key, (shape, dtype) in keys.items():
            t = have.get(key)
            if t is None:
                continue
            ok_dtype = t.dtype == _DTYPES[dtype] or (
                allow_fp16 and dtype == "float32" and t.dtype == torch.float16
            )
            if tuple(t.shape) != shape or not ok_dtype:
                report.wrong.append(f"{label}{key}: {tuple(t.shape)} {t.dtype}, expected {shape} {dtype}")
    report.unexpected += [s for s in got if s not in expected and "" not in expected]
    return report


def check_folder(root: str | Path) -> list[FileReport]:
    """Check every official file under ``root`` (official layout) against the manifest."""
    reports = []
    for spec in WEIGHT_FILES:
        path = find_file(root, spec)
        reports.append(check_file(path, spec) if path else FileReport(spec, None, error="missing"))
    return reports


def convert_folder(src: str | Path, dst: str | Path, fp16: bool = False) -> list[Path]:
    """Write safetensors copies of every file of ``src`` into ``dst`` (same layout)."""
    written = []
    for spec in WEIGHT_FILES:
        path = find_file(src, spec)
        if path is None:
            raise InputError(f"missing {spec.relpath}", src)
        out = Path(dst) / spec.subfolder / Path(spec.filename).with_suffix(".safetensors").name
        save_safetensors(out, load_checkpoint(path), torch.float16 if fp16 else None)
        written.append(out)
    return written
