"""Neural renderer: LivePortrait's five networks behind the render-backend protocol.

Per source (``prepare``): aligned 512 crop → 256 network input → appearance features ``f_s``
(F) and motion ``x_s`` (M). Per driving frame (``motion``): a 256 input → M → head pose,
expression, translation, scale, plus eye/lip open ratios from the frame's face mesh. Per output
frame (``render``): new keypoints (spec 9.4), stitching / retargeting / multiplier (9.5), warp (W)
and decode (G) to a 512 crop, pasted back through the feathered mask (9.8). The order of
operations follows shared/spec/liveportrait-architecture.md so that the same inputs give the
reference pipeline's numbers (tests/parity/test_pipeline_backend.py).

Driving frames: a square frame that the face already fills (an official pre-cropped driving
video) is resized whole to 256, as LivePortrait does; any other frame is cropped around its face
(no rotation, LivePortrait's driving-crop scale 2.2 / vy -0.1), and the extracted translation and
scale are mapped back to whole-frame coordinates through the crop's known similarity, so head
movement within the frame is still transferred in relative mode (see docs/neural-backend.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from vivify.backends.base import DrivingFrame
from vivify.backends.device_paste import PasteTarget, paste_crops, paste_target
from vivify.backends.speed import SpeedOptions, compiled, to_channels_last
from vivify.errors import UserError
from vivify.face.align import CropConfig, crop_matrix, invert_affine, resize_to_limit, transform_points
from vivify.face.crop import feather_mask, paste_back, warp_crop
from vivify.face.types import Face
from vivify.motion.editing import apply_edit, edited_keypoints
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.motion.keypoints import transform_keypoints
from vivify.motion.relative import (
    REFERENCE_EXPRESSION,
    KeypointInfo,
    absolute_keypoints,
    expression_friendly,
    hull_motion_multiplier,
    relative_keypoints,
    video_source_keypoints,
    video_source_targets,
)
from vivify.motion.retarget import eye_ratios_478, lip_ratio_478
from vivify.motion.rotation import nearest_rotation
from vivify.motion.stitching import apply_multiplier, eye_retarget_delta, lip_retarget_delta, stitch
from vivify.runtime.threads import use_cores
from vivify.weights.build import LivePortraitModels, load_liveportrait

if TYPE_CHECKING:
    from vivify.motion.editing import FaceEdit
    from vivify.pipeline.options import AnimationOptions

logger = logging.getLogger(__name__)

CROP_SIZE = 512  # aligned crop and decoder output
INPUT_SIZE = 256  # network input
SOURCE_MAX_DIM = 1280  # LivePortrait crops sources from a copy no larger than this
DRIVING_CROP = CropConfig(dsize=CROP_SIZE, scale=2.2, vx_ratio=0.0, vy_ratio=-0.1, rotate=False)
FULL_FRAME_FILL = 0.75  # driving-crop side / frame side above which a square frame is used whole
LIP_NORMALIZE_THRESHOLD = 0.03
_VECTOR_FIELDS = ("rotation", "exp", "t", "scale", "eye_ratio", "lip_ratio", "to_frame")


@dataclass
class NeuralSource:
    """What :meth:`NeuralBackend.prepare` computes once per source face.

    Attributes:
        crop: (256, 256, 3) uint8 network input.
        features: (1, 32, 16, 64, 64) appearance feature volume ``f_s``.
        info: the source's motion (``kp_info``), batch 1.
        x_s: (1, 21, 3) source keypoints.
        eye_ratio: (2,) float32 [left, right] eye open ratios, None when unknown.
        lip_ratio: (1,) float32 lip open ratio, None when unknown.
        image: (H, W, 3) uint8 source picture to paste into, None for a bare crop.
        m_c2o: (3, 3) float32 crop (512) → ``image`` matrix, None for a bare crop.
    """

    crop: np.ndarray
    features: torch.Tensor
    info: KeypointInfo
    x_s: torch.Tensor
    eye_ratio: np.ndarray | None = None
    lip_ratio: np.ndarray | None = None
    image: np.ndarray | None = None
    m_c2o: np.ndarray | None = None
    # expression-friendly motion scale per (region, reference motion): a convex hull on the host,
    # computed once per animation rather than once per frame
    hull_scales: dict = dataclasses.field(default_factory=dict, repr=False)
    # the picture on the renderer's device, for pasting there (made on first use)
    paste_target: PasteTarget | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True)
class DrivingMotion(KeypointMotion):
    """One driving frame's motion as extracted from its network input (T = 1, float32 numpy).

    The :class:`~vivify.motion.keypoint_motion.KeypointMotion` fields, in the coordinates of the
    256 input the motion extractor saw. ``to_frame`` = (a, bx, by) maps those normalised
    coordinates to whole-frame ones (``u_frame = a · u_input + b``); None means they already
    are (whole-frame input, or a template).
    """

    to_frame: np.ndarray | None = None

    def keypoints(self, in_frame: bool = True) -> KeypointMotion:
        """As a :class:`KeypointMotion` (what a motion template stores), by default in frame coordinates."""
        t, scale = _frame_coordinates(self.t, self.scale, self.to_frame if in_frame else None)
        return KeypointMotion(self.rotation, self.exp, t, scale, self.eye_ratio, self.lip_ratio)


@dataclass(frozen=True)
class DecodedFrames:
    """Decoder output of B frames: ``image`` (B, 3, 512, 512) in (0, 1), ``occlusion`` (B, 1, 64, 64)."""

    image: torch.Tensor
    occlusion: torch.Tensor


class PendingFrames:
    """A rendered batch whose download from the device may still be running.

    :meth:`result` waits for it (on a GPU, the next batch can be queued meanwhile) and returns the
    frames, pasted into the picture on the host when that was left to do.
    """

    def __init__(self, frames: torch.Tensor, finish=None) -> None:
        self._event = None
        if frames.device.type == "cuda":  # copy into pinned memory without waiting for it
            host = torch.empty(frames.shape, dtype=frames.dtype, pin_memory=True)
            host.copy_(frames, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record()
            frames = host
        else:
            frames = frames.cpu()
        self._frames, self._finish = frames, finish

    def result(self) -> list[np.ndarray]:
        """(H, W, 3) uint8 frames."""
        if self._event is not None:
            self._event.synchronize()
        frames = list(self._frames.numpy())
        return frames if self._finish is None else [self._finish(f) for f in frames]


@dataclass(frozen=True)
class _Pose:
    """Torch view of driving motion, the attributes :func:`relative_keypoints` reads."""

    rotation: torch.Tensor
    exp: torch.Tensor
    t: torch.Tensor
    scale: torch.Tensor


def _frame_coordinates(
    t: np.ndarray, scale: np.ndarray, to_frame: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Translation and scale after ``u → a·u + b``: x = scale·(kp·R + exp) + t is affine in both."""
    if to_frame is None:
        return t, scale
    a, b = to_frame[:, :1], to_frame[:, 1:3]
    t = np.concatenate([a * t[:, :2] + b, a * t[:, 2:]], axis=1).astype(np.float32)
    return t, (a * scale).astype(np.float32)


def _expand(info: KeypointInfo, n: int) -> KeypointInfo:
    """A batch-1 motion repeated for n frames (the keypoint functions take matching batches)."""
    fields = (info.pitch, info.yaw, info.roll, info.t, info.exp, info.scale, info.kp)
    return KeypointInfo(*(f.expand(n, *f.shape[1:]) for f in fields))


def _digest(obj) -> bytes:
    """A content key of a motion dataclass: its fields' values, arrays included."""
    if obj is None:
        return b""
    digest = hashlib.blake2b(digest_size=16)
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        digest.update(f.name.encode())
        digest.update(np.asarray(value).tobytes() if isinstance(value, np.ndarray) else repr(value).encode())
    return digest.digest()


def _ratio(value: np.ndarray | None) -> np.ndarray | None:
    return None if value is None else np.asarray(value, np.float32).reshape(-1)


class NeuralBackend:
    """The ``neural`` backend: LivePortrait-compatible networks (CPU or GPU).

    Args:
        weights_dir: official-layout weights folder (default ``$VIVIFY_WEIGHTS`` or the user cache).
        device, dtype: where and in which precision the networks run.
        models: already loaded networks (tests); ``weights_dir`` is then ignored.
        speed: reduced precision, channels-last layout, compilation of W and G
            (:class:`~vivify.backends.speed.SpeedOptions`; default float32 eager, the reference).
            Channels-last converts the given networks' weights in place.

    Raises:
        WeightsNotFoundError: weights missing (the message says how to get them).

    Examples:
        >>> backend = NeuralBackend()  # doctest: +SKIP
        >>> state = backend.prepare(image, face)  # doctest: +SKIP
        >>> frame = backend.render(state, backend.motion(drv), ref, AnimationOptions())  # doctest: +SKIP
    """

    name = "neural"
    default_reference = "first"  # as LivePortrait does

    def __init__(
        self,
        weights_dir: str | Path | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        models: LivePortraitModels | None = None,
        speed: SpeedOptions | None = None,
    ) -> None:
        self.models = models if models is not None else load_liveportrait(weights_dir, device, dtype)
        probe = next(self.models.motion_extractor.parameters())
        self.device, self.dtype = probe.device, probe.dtype
        self.speed = speed or SpeedOptions()
        if self.device.type == "cpu":
            use_cores(self.speed.threads)
        warp, decode = self.models.warping_module, self.models.spade_generator
        if self.speed.channels_last:  # in place: the weights' values are unchanged
            to_channels_last(warp)
            to_channels_last(decode)
        if self.speed.compile:
            warp, decode = compiled(warp, self.device), compiled(decode, self.device)
        self._warp, self._decode = warp, decode
        paste = self.speed.device_paste
        self.device_paste = self.device.type != "cpu" if paste is None else paste
        # a GPU extracts driving motion on its own stream, from the driving thread, so that its
        # download does not wait for the frames being rendered
        self._motion_stream = None
        if self.device.type == "cuda":
            self._motion_stream = torch.cuda.Stream(self.device)
            torch.cuda.synchronize(self.device)  # the weights are in place before that stream reads them

    @property
    def asynchronous(self) -> bool:
        """Whether the device runs behind the host (a GPU): callers then extract driving motion in
        a thread of their own and keep a batch in flight (see :meth:`render_batch_async`)."""
        return self._motion_stream is not None

    # ---------------------------------------------------------------- inputs

    def _input(self, images: np.ndarray) -> torch.Tensor:
        """(B, H, W, 3) or (H, W, 3) uint8 → (B, 3, H, W) in [0, 1] (a float32 division, spec 9.1)."""
        x = np.asarray(images)
        x = x[None] if x.ndim == 3 else x
        t = torch.from_numpy(x.astype(np.float32) / np.float32(255.0)).clamp(0, 1)
        return t.permute(0, 3, 1, 2).contiguous().to(self.device, self.dtype)

    def _tensor(self, a: np.ndarray | float) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, np.float32), device=self.device).to(self.dtype)

    # ---------------------------------------------------------------- source

    @torch.inference_mode()
    def prepare_crop(
        self, crop: np.ndarray, eye_ratio: np.ndarray | None = None, lip_ratio: np.ndarray | None = None
    ) -> NeuralSource:
        """Encode a ready (256, 256, 3) uint8 network input (spec 9.2), with optional open ratios.

        The result renders crops only (no picture to paste into).
        """
        if crop.shape != (INPUT_SIZE, INPUT_SIZE, 3) or crop.dtype != np.uint8:
            raise ValueError(f"expected a (256, 256, 3) uint8 crop, got {crop.shape} {crop.dtype}")
        x = self._input(crop)
        info = KeypointInfo.from_raw(self.models.motion_extractor(x))
        x_s = transform_keypoints(info.kp, info.rotation, info.exp, info.scale, info.t)
        return NeuralSource(
            crop=crop,
            features=self.models.appearance_feature_extractor(x),
            info=info,
            x_s=x_s,
            eye_ratio=_ratio(eye_ratio),
            lip_ratio=_ratio(lip_ratio),
        )

    def prepare(self, image: np.ndarray, face: Face) -> NeuralSource:
        """Crop, encode and measure one source face (spec 9.1-9.2, 9.7).

        Pictures larger than 1280 pixels are cropped from a copy resized to that limit, as
        LivePortrait does, but pasted back into the full-resolution picture.
        """
        landmarks = np.asarray(face.landmarks, np.float32)
        h, w = image.shape[:2]
        rh, rw, _, _ = resize_to_limit(h, w, SOURCE_MAX_DIM)
        if (rh, rw) != (h, w):
            sx, sy = rw / w, rh / h  # cv2.resize maps pixel centres: x' = sx·(x + 0.5) − 0.5
            to_small = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
            small = cv2.resize(image, (rw, rh))
            m_small = crop_matrix(transform_points(landmarks[:, :2], to_small).astype(np.float32))
            crop512 = warp_crop(small, m_small, CROP_SIZE)
            m_o2c = (m_small.astype(np.float64) @ to_small).astype(np.float32)
        else:
            m_o2c = crop_matrix(landmarks)
            crop512 = warp_crop(image, m_o2c, CROP_SIZE)
        crop = cv2.resize(crop512, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        state = self.prepare_crop(crop, eye_ratios_478(landmarks), lip_ratio_478(landmarks))
        state.image, state.m_c2o = image, invert_affine(m_o2c)
        return state

    # ---------------------------------------------------------------- driving

    @torch.inference_mode()
    def motion_from_crops(
        self,
        crops: np.ndarray,
        eye_ratios: np.ndarray | None = None,
        lip_ratios: np.ndarray | None = None,
        to_frame: np.ndarray | None = None,
    ) -> list[DrivingMotion]:
        """Motion of T ready network inputs in one batch.

        Args:
            crops: (T, 256, 256, 3) uint8.
            eye_ratios, lip_ratios: (T, 2) and (T, 1) open ratios, or None.
            to_frame: (T, 3) input → frame coordinate maps (see :class:`DrivingMotion`), or None.
        """
        crops = np.asarray(crops)
        crops = crops[None] if crops.ndim == 3 else crops
        side = self._motion_stream
        with contextlib.nullcontext() if side is None else torch.cuda.stream(side):
            info = KeypointInfo.from_raw(self.models.motion_extractor(self._input(crops)))
            fields = (info.rotation, info.exp, info.t, info.scale)
            values = torch.cat([v.float().reshape(len(crops), -1) for v in fields], 1).cpu().numpy()
        arrays, start = {}, 0
        for name, v in zip(("rotation", "exp", "t", "scale"), fields, strict=True):
            width = v[0].numel()
            arrays[name] = values[:, start : start + width].reshape(len(crops), *v.shape[1:])
            start += width

        def row(a: np.ndarray | None, i: int, width: int) -> np.ndarray | None:
            return None if a is None else np.asarray(a, np.float32).reshape(-1, width)[i : i + 1]

        return [
            DrivingMotion(
                **{k: v[i : i + 1] for k, v in arrays.items()},
                eye_ratio=row(eye_ratios, i, 2),
                lip_ratio=row(lip_ratios, i, 1),
                to_frame=row(to_frame, i, 3),
            )
            for i in range(len(crops))
        ]

    def driving_input(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The (256, 256, 3) network input of a driving frame and its input → frame map.

        A square frame whose face already fills it (driving-crop side ≥ 0.75 of the frame, as in
        LivePortrait's pre-cropped driving videos) is resized whole (INTER_LINEAR, spec 9.1) and
        needs no map. Otherwise the face is cropped (no rotation, scale 2.2, vy -0.1) at 512 and
        reduced to 256, and the returned (a, bx, by) maps the crop's normalised coordinates to
        those of the whole frame (a square of the longer side, centred on the frame).
        """
        h, w = image.shape[:2]
        m = crop_matrix(np.asarray(landmarks, np.float32), DRIVING_CROP).astype(np.float64)
        k = m[0, 0]  # crop pixels per frame pixel (no rotation)
        side = max(h, w)
        if h == w and CROP_SIZE / k >= FULL_FRAME_FILL * side:
            return cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR), None
        crop = warp_crop(image, m.astype(np.float32), CROP_SIZE)
        crop = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        # crop pixel p = k·q + m[:, 2] for frame pixel q; u = p/256 − 1 in the crop and
        # (q − centre)/(side/2) in the frame, hence u_frame = a·u + b:
        half = CROP_SIZE / 2
        centre = np.array([w / 2, h / 2])
        a = CROP_SIZE / (k * side)
        b = ((half - m[:2, 2]) / k - centre) * (2 / side)
        return crop, np.array([a, b[0], b[1]], np.float32)

    def motion(self, frame: DrivingFrame) -> DrivingMotion | KeypointMotion | None:
        """A driving frame's motion: the template's keypoints, or extracted from its pixels.

        Returns None when the frame has neither keypoints nor a face.
        """
        if frame.keypoints is not None:
            return frame.keypoints
        if frame.image is None or frame.landmarks is None:
            return None
        crop, to_frame = self.driving_input(frame.image, frame.landmarks)
        return self.motion_from_crops(
            crop[None],
            eye_ratios_478(frame.landmarks)[None],
            lip_ratio_478(frame.landmarks)[None],
            None if to_frame is None else to_frame[None],
        )[0]

    @staticmethod
    def motion_vector(motion: DrivingMotion | KeypointMotion) -> np.ndarray:
        """One frame's motion as a flat float64 vector, to smooth over time: rotation, expression,
        translation, scale, then whichever of the eye/lip ratios and the crop-to-frame map it has."""
        parts = [getattr(motion, name) for name in _VECTOR_FIELDS]
        return np.concatenate([np.asarray(a, np.float64).reshape(-1) for a in parts if a is not None])

    @staticmethod
    def from_vector(motion: DrivingMotion | KeypointMotion, vector: np.ndarray):
        """``motion`` with the values of :meth:`motion_vector` replaced by ``vector`` (a smoothed
        one); the rotation is brought back to the nearest rotation matrix."""
        values, start = {}, 0
        for name in _VECTOR_FIELDS:
            old = getattr(motion, name, None)
            if old is not None:
                values[name] = vector[start : start + old.size].reshape(old.shape).astype(np.float32)
                start += old.size
        values["rotation"] = nearest_rotation(values["rotation"]).astype(np.float32)
        return dataclasses.replace(motion, **values)

    def _pose(self, motions: Sequence, in_frame: bool) -> _Pose:
        """Stack T motions (DrivingMotion or KeypointMotion) into batched tensors."""
        ts, scales = [], []
        for m in motions:
            t, s = _frame_coordinates(m.t, m.scale, getattr(m, "to_frame", None) if in_frame else None)
            ts.append(t)
            scales.append(s)
        cat = np.concatenate
        return _Pose(
            rotation=self._tensor(cat([m.rotation for m in motions])),
            exp=self._tensor(cat([np.reshape(m.exp, (len(m.exp), -1, 3)) for m in motions])),
            t=self._tensor(cat(ts)),
            scale=self._tensor(cat(scales)).reshape(-1, 1),
        )

    @staticmethod
    def _edited(pose: _Pose, edit: FaceEdit | None) -> _Pose:
        """Driving motion with editing controls added in every frame (angles, exp, scale)."""
        if edit is None or edit.is_neutral:
            return pose
        rotation, exp, scale, t = apply_edit(pose.rotation, pose.exp, pose.scale, pose.t, edit)
        return _Pose(rotation=rotation, exp=exp, t=t, scale=scale)

    @staticmethod
    def reference(pose, expression):
        """Reference motion: head rotation, translation and scale of ``pose``, expression of
        ``expression`` (either may be a :class:`DrivingMotion` or a template frame)."""
        return dataclasses.replace(pose, exp=expression.exp)

    # ---------------------------------------------------------------- keypoints

    @torch.inference_mode()
    def lip_normalization(self, state: NeuralSource) -> torch.Tensor | None:
        """Offset closing the source's open mouth (spec 9.6), None for a closed one."""
        if state.lip_ratio is None:
            raise ValueError("normalize_lip needs the source's lip ratio")
        c_s = float(state.lip_ratio[0])
        if c_s < LIP_NORMALIZE_THRESHOLD:
            return None
        ratios = self._tensor([[c_s, 0.0]])
        return lip_retarget_delta(self.models.stitching_retargeting_module.lip, state.x_s, ratios)

    def _driver_ratio(self, motions: Sequence, name: str, fixed: float | None) -> np.ndarray:
        """(T,) target ratios: the fixed option value, else the drivers' own (left eye only)."""
        if fixed is not None:
            return np.full(len(motions), fixed, np.float32)
        values = [getattr(m, name, None) for m in motions]
        if any(v is None for v in values):
            part = name.split("_")[0]
            raise UserError(
                f"{part} retargeting follows the driver's {part} open ratio, which this motion "
                f"(a template without ratios) lacks: give a fixed {part} ratio"
            )
        return np.array([np.asarray(v, np.float32).reshape(-1)[0] for v in values], np.float32)

    def _transfer_inputs(self, state: NeuralSource, motions: Sequence, reference, options, still: bool):
        """Source (expanded to T), edited driving motion, anchor and anchor expression (relative mode)."""
        src = _expand(state.info, len(motions))
        drv = self._edited(self._pose(motions, in_frame=True), options.edit)
        if still:
            return src, drv, drv, self._tensor(REFERENCE_EXPRESSION)[None]
        if reference is None:
            raise ValueError("relative motion needs a reference motion")
        return src, drv, self._pose([reference], in_frame=True), None

    @torch.inference_mode()
    def video_targets(
        self, state: NeuralSource, motion, reference, options: AnimationOptions, *, still: bool = False
    ) -> np.ndarray | None:
        """What LivePortrait smooths over a source video for this frame (relative mode only).

        Returns:
            (72,) float64: the expression E (21×3) then the turned rotation R̃ (3×3), flattened
            (see :func:`vivify.motion.relative.video_source_targets`); None in absolute mode.
        """
        if not options.relative:
            return None
        e, rot = video_source_targets(*self._transfer_inputs(state, [motion], reference, options, still))
        return torch.cat([e.reshape(-1), rot.reshape(-1)]).double().cpu().numpy()

    @torch.inference_mode()
    def driving_keypoints(
        self,
        state: NeuralSource,
        motions: Sequence,
        reference,
        options: AnimationOptions,
        *,
        still: bool = False,
        source_video: bool = False,
        targets: np.ndarray | None = None,
    ) -> torch.Tensor:
        """Final driving keypoints of T frames (spec 9.4 then 9.5 steps 1-4), (T, 21, 3).

        Args:
            state: the prepared source.
            motions: T driving motions (:class:`DrivingMotion` or template frames).
            reference: the reference (anchor) frame's motion for relative mode.
            options: what to transfer and how.
            still: a single driving image: its own anchor with LivePortrait's reference
                expression, no expression-friendly rescale.
            source_video: the source is a frame of a video: it keeps its own scale and position
                (:func:`video_source_keypoints`), no expression-friendly rescale.
            targets: source video, relative mode: (T, 72) values of :meth:`video_targets`
                smoothed over the video, used instead of each frame's own.
        """
        n = len(motions)
        x_s = state.x_s.expand(n, -1, -1)
        mlps = self.models.stitching_retargeting_module
        if options.relative:
            src, drv, anchor, ref_exp = self._transfer_inputs(state, motions, reference, options, still)
            if source_video:
                smoothed = None
                if targets is not None:
                    t = self._tensor(np.asarray(targets).reshape(n, -1))
                    smoothed = (t[:, :63].reshape(n, 21, 3), t[:, 63:].reshape(n, 3, 3))
                x_d = video_source_keypoints(src, drv, anchor, options.region, ref_exp, smoothed)
            else:
                x_d = relative_keypoints(src, drv, anchor, options.region, anchor_exp=ref_exp)
                if options.driving_option == "expression-friendly" and not still:
                    x_0 = relative_keypoints(state.info, anchor, anchor, options.region)
                    key = (options.region, _digest(reference))
                    if key not in state.hull_scales:
                        state.hull_scales[key] = hull_motion_multiplier(state.x_s, x_0)
                    x_d = expression_friendly(x_s, x_d, x_0, state.hull_scales[key])
        else:
            drv = self._edited(self._pose(motions, in_frame=False), options.edit)
            x_d = absolute_keypoints(_expand(state.info, n), drv, options.region)

        if not (options.eye_retargeting or options.lip_retargeting):
            if options.stitching:
                x_d = stitch(mlps.stitching, x_s, x_d)
            lip_norm = self.lip_normalization(state) if options.normalize_lip and options.relative else None
            if lip_norm is not None:
                x_d = x_d + lip_norm
        else:
            # retargeting replaces the relative motion by the source plus the offsets (spec 9.5)
            x_d = x_s if options.relative else x_d
            if options.eye_retargeting:
                if state.eye_ratio is None:
                    raise ValueError("eye retargeting needs the source's eye ratios")
                c_d = self._driver_ratio(motions, "eye_ratio", options.eye_ratio)
                ratios = np.stack([np.full(n, state.eye_ratio[0]), np.full(n, state.eye_ratio[1]), c_d], 1)
                x_d = x_d + eye_retarget_delta(mlps.eye, x_s, self._tensor(ratios))
            if options.lip_retargeting:
                if state.lip_ratio is None:
                    raise ValueError("lip retargeting needs the source's lip ratio")
                c_d = self._driver_ratio(motions, "lip_ratio", options.lip_ratio)
                ratios = np.stack([np.full(n, state.lip_ratio[0]), c_d], 1)
                x_d = x_d + lip_retarget_delta(mlps.lip, x_s, self._tensor(ratios))
            if options.stitching:
                x_d = stitch(mlps.stitching, x_s, x_d)
        return apply_multiplier(x_s, x_d, options.multiplier)

    # ---------------------------------------------------------------- decoding

    @torch.inference_mode()
    def warp_decode(self, state: NeuralSource, x_d: torch.Tensor) -> DecodedFrames:
        """W and G for B keypoint sets: (B, 21, 3) → 512 images in (0, 1)."""
        n = len(x_d)
        f_s = state.features.expand(n, *state.features.shape[1:])
        speed = self.speed
        with speed.autocast(self.device):
            warped = self._warp(speed.layout(f_s), x_d, state.x_s.expand(n, -1, -1))
            image = self._decode(speed.layout(warped.out))
        image, occlusion = image.to(self.dtype), warped.occlusion_map.to(self.dtype)
        if speed.compile:  # CUDA-graph outputs are overwritten by the next call: hand out copies
            image, occlusion = image.clone(), occlusion.clone()
        return DecodedFrames(image, occlusion)

    @staticmethod
    def uint8_images(image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in (0, 1) → (B, H, W, 3) uint8 on the same device, truncating like
        LivePortrait (spec 9.5)."""
        return (image.clamp(0, 1) * 255).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)

    @classmethod
    def to_uint8(cls, image: torch.Tensor) -> np.ndarray:
        """(B, 3, H, W) in (0, 1) → (B, H, W, 3) uint8 numpy (see :meth:`uint8_images`)."""
        return cls.uint8_images(image).cpu().numpy()

    def paste(self, state: NeuralSource, crop: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
        """Blend a 512 output crop into ``canvas`` (default the source picture) with the feathered mask."""
        base = state.image if canvas is None else canvas
        if base is None or state.m_c2o is None:
            raise ValueError("this source was prepared from a bare crop: there is no picture to paste into")
        if canvas is not None and state.image is not None and canvas.shape != state.image.shape:
            raise ValueError(f"canvas {canvas.shape} does not match the source picture {state.image.shape}")
        return paste_back(base, crop, state.m_c2o, feather_mask(CROP_SIZE))

    def render_batch_async(
        self,
        state: NeuralSource,
        motions: Sequence,
        reference,
        options: AnimationOptions,
        *,
        still: bool = False,
        canvas: np.ndarray | None = None,
        source_video: bool = False,
        targets: np.ndarray | None = None,
    ) -> PendingFrames:
        """Queue T frames in one network batch (see :meth:`render`) without waiting for them.

        With ``device_paste`` (default on a GPU) a picture source is pasted into on the device
        and finished frames are downloaded; otherwise (a CPU, a canvas of several faces, a frame
        of a source video) the 512 crops are downloaded and pasted on the host.
        """
        x_d = self.driving_keypoints(state, motions, reference, options, still=still,
                                     source_video=source_video, targets=targets)  # fmt: skip
        image = self.warp_decode(state, x_d).image
        if not options.paste_back or state.image is None:
            return PendingFrames(self.uint8_images(image))
        if self.device_paste and canvas is None and not source_video:
            if state.paste_target is None:
                assert state.m_c2o is not None
                mask = feather_mask(CROP_SIZE)
                state.paste_target = paste_target(state.image, state.m_c2o, mask, self.device)
            return PendingFrames(paste_crops(state.paste_target, image))
        return PendingFrames(self.uint8_images(image), lambda crop: self.paste(state, crop, canvas))

    def render_batch(self, state: NeuralSource, motions: Sequence, reference, options: AnimationOptions,
                     **kwargs) -> list[np.ndarray]:  # fmt: skip
        """Render T frames in one network batch (see :meth:`render` for the arguments)."""
        return self.render_batch_async(state, motions, reference, options, **kwargs).result()

    def render(
        self,
        state: NeuralSource,
        motion,
        reference,
        options: AnimationOptions,
        *,
        still: bool = False,
        canvas: np.ndarray | None = None,
        source_video: bool = False,
        targets: np.ndarray | None = None,
    ) -> np.ndarray:
        """One output frame: the source animated by ``motion`` relative to ``reference``.

        ``targets``: a source video frame's :meth:`video_targets`, smoothed over the video.

        Returns:
            The source-sized (or ``canvas``-sized) RGB uint8 picture, or the (512, 512, 3) crop
            when ``options.paste_back`` is off or the source was prepared from a bare crop.
        """
        return self.render_batch(state, [motion], reference, options, still=still, canvas=canvas,
                                 source_video=source_video, targets=targets)[0]  # fmt: skip

    @torch.inference_mode()
    def edit(
        self,
        state: NeuralSource,
        edit: FaceEdit,
        options: AnimationOptions,
        *,
        canvas: np.ndarray | None = None,
    ) -> np.ndarray:
        """The source with editing controls applied to its own motion (then stitched, decoded)."""
        x_d = edited_keypoints(state.info, edit)
        if options.stitching:
            x_d = stitch(self.models.stitching_retargeting_module.stitching, state.x_s, x_d)
        crop = self.to_uint8(self.warp_decode(state, x_d).image)[0]
        if not options.paste_back or state.image is None:
            return crop
        return self.paste(state, crop, canvas)
