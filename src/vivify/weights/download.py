"""Where vivify keeps the LivePortrait weights, and fetching them from the HuggingFace hub."""

from __future__ import annotations

import logging
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

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
    missing = [spec for spec in WEIGHT_FILES if find_file(target, spec) is None]
    if missing and not _hub_offline():
        check_reachable(hub_endpoint(), target, repo)
    for spec in WEIGHT_FILES:
        if spec not in missing:
            logger.info("already present: %s", spec.relpath)
            continue
        try:
            cached = hf_hub_download(repo, spec.relpath, revision=revision, cache_dir=cache_dir)
        except Exception as exc:  # noqa: BLE001 - hub errors are many (offline, HTTP, DNS, missing file)
            reason = _first_sentence(str(exc)) or type(exc).__name__
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


def hub_endpoint() -> str:
    """The hub's address: ``$HF_ENDPOINT`` (a mirror), else huggingface.co."""
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _hub_offline() -> bool:
    """The hub's own offline switch: files then come from its cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def check_reachable(endpoint: str, target: Path, repo: str = HF_REPO, timeout: float = 3.0) -> None:
    """Connect once to the hub (or the HTTPS proxy in use) and fail in one line within
    ``timeout`` seconds when it can't be reached, instead of letting each file retry."""
    url = urlparse(endpoint)
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    via = urlparse(proxy) if proxy and url.scheme == "https" else url
    host, port = via.hostname or "", via.port or (443 if via.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise WeightsNotFoundError(
            f"cannot reach {host}:{port} ({why}; offline?): {manual_instructions(target, repo)}", target
        ) from exc


def _first_sentence(text: str, limit: int = 200) -> str:
    """The first line of an error message, cut at a word boundary when longer than ``limit``."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0] + " ..."
