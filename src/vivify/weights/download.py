"""Where vivify keeps the LivePortrait weights, and fetching them from the HuggingFace hub."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from vivify.errors import UserError
from vivify.io import atomic_path
from vivify.weights.folder import find_file
from vivify.weights.specs import HF_REPO, WEIGHT_FILES

logger = logging.getLogger(__name__)

ENV_VAR = "VIVIFY_WEIGHTS"


class WeightsNotFoundError(UserError):
    """The LivePortrait weights are not where vivify looked, and could not be fetched."""


def default_weights_dir() -> Path:
    """``$VIVIFY_WEIGHTS``, else ``$XDG_CACHE_HOME/vivify/weights`` (``~/.cache/vivify/weights``)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "vivify" / "weights"


def manual_instructions(target: Path, repo: str = HF_REPO) -> str:
    files = ", ".join(spec.relpath for spec in WEIGHT_FILES)
    return f"download {files} from https://huggingface.co/{repo} into {target} (same sub-folders)"


def resolve_weights_dir(explicit: str | Path | None = None) -> Path:
    """The weights folder to use (``--weights``, else the default); raise if files are missing."""
    root = Path(explicit).expanduser() if explicit else default_weights_dir()
    missing = [spec.relpath for spec in WEIGHT_FILES if find_file(root, spec) is None]
    if missing:
        raise WeightsNotFoundError(
            f"LivePortrait weights not found ({len(missing)} of {len(WEIGHT_FILES)} files missing): "
            f"run `vivify weights download --dir {root}` or {manual_instructions(root)}",
            root,
        )
    return root


def download_weights(
    target: str | Path | None = None,
    repo: str = HF_REPO,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Fetch only the five needed files from the hub into ``target`` (official layout).

    Files already present are kept. Honours the hub's own settings (``HF_HUB_OFFLINE``,
    ``HF_ENDPOINT``, ``HF_HUB_CACHE``); each file lands by atomic rename.

    Raises:
        WeightsNotFoundError: the hub could not be reached or lacks a file; the message says what
            to download by hand and where to put it.
    """
    from huggingface_hub import hf_hub_download  # noqa: PLC0415 - only needed here

    target = Path(target).expanduser() if target else default_weights_dir()
    for spec in WEIGHT_FILES:
        if find_file(target, spec) is not None:
            logger.info("already present: %s", spec.relpath)
            continue
        try:
            cached = hf_hub_download(repo, spec.relpath, revision=revision, cache_dir=cache_dir)
        except Exception as exc:  # noqa: BLE001 - hub errors are many (offline, HTTP, DNS, missing file)
            reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise WeightsNotFoundError(
                f"could not fetch {spec.relpath} from the hub ({type(exc).__name__}: {reason}); "
                f"{manual_instructions(target, repo)}",
                target,
            ) from exc
        out = target / spec.relpath
        with atomic_path(out) as tmp:
            shutil.copyfile(cached, tmp)
        logger.info("fetched %s", out)
    return target
