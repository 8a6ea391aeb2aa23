"""Neural renderer: LivePortrait's five networks behind the render-backend protocol.

Per source (``prepare``): aligned 512 crop → 256 network input → appearance features ``f_s``
(F) and motion ``x_s`` (M). Per driving frame (``motion``): a 256 input → M → head pose,
expression, translation, scale, plus eye/lip open ratios from the frame's face mesh. Per batch
of output frames (``render_async``): final keypoints from the transfer policy
(:func:`vivify.motion.transfer.driving_keypoints`: spec 9.4-9.6), warp (W) and decode (G) to
512 crops, pasted back through the feathered mask (9.8), on the device when it is a GPU. The
order of operations follows shared/spec/liveportrait-architecture.md so that the same inputs
give the reference pipeline's numbers (tests/parity/test_pipeline_backend.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from vivify.backends.base import (
    KEYPOINTS,
    LANDMARKS,
    PIXELS,
    BackendCapabilities,
    DrivingFrame,
    SyncRendering,
)
from vivify.backends.device_paste import paste_crops, paste_target
from vivify.backends.neural import driving as drv
from vivify.backends.neural.driving import CROP_SIZE, INPUT_SIZE, DrivingMotion, stack_motions
from vivify.backends.neural.frames import DecodedFrames, PendingFrames, uint8_images
from vivify.backends.neural.source import NeuralSource, source_crop
from vivify.backends.speed import SpeedOptions, compiled, to_channels_last
from vivify.face.align import invert_affine
from vivify.face.crop import feather_mask, paste_back
from vivify.face.openness import retarget_eye_ratios, retarget_lip_ratio
from vivify.face.types import Face
from vivify.motion import transfer
from vivify.motion.editing import FaceEdit, edited_keypoints
from vivify.motion.keypoint_motion import KeypointMotion
from vivify.motion.keypoints import transform_keypoints
from vivify.motion.relative import KeypointInfo
from vivify.motion.stitching import stitch
from vivify.motion.transfer_options import DriveMode, TransferOptions
from vivify.runtime.threads import use_cores
from vivify.weights.build import LivePortraitModels, load_liveportrait

logger = logging.getLogger(__name__)


def _ratio(value: np.ndarray | None) -> np.ndarray | None:
    return None if value is None else np.asarray(value, np.float32).reshape(-1)


class NeuralBackend(SyncRendering):
    """The ``neural`` backend: LivePortrait-compatible networks (CPU or GPU).

    Args:
        weights_dir: official-layout weights folder (default ``$VIVIFY_WEIGHTS`` or the user cache).
        device, dtype: where and in which precision the networks run.
        models: already loaded networks (tests, ONNX); ``weights_dir`` is then ignored.
        speed: reduced precision, channels-last layout, compilation of W and G
            (:class:`~vivify.backends.speed.SpeedOptions`; default float32 eager, the reference).
            Channels-last converts the given networks' weights in place.

    Raises:
        WeightsNotFoundError: weights missing (the message says how to get them).

    Examples:
        >>> backend = NeuralBackend()  # doctest: +SKIP
        >>> state = backend.prepare(image, face)  # doctest: +SKIP
        >>> frame = backend.render(state, backend.motion(drv), ref, TransferOptions())  # doctest: +SKIP
    """

    name = "neural"

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
        # a GPU extracts motion that the host reads (smoothing, templates) on its own stream, so
        # that its download does not wait for the frames being rendered
        self._motion_stream = None
        if self.device.type == "cuda":
            self._motion_stream = torch.cuda.Stream(self.device)
            torch.cuda.synchronize(self.device)  # the weights are in place before that stream reads them
        self.capabilities = BackendCapabilities(
            drives_from=(frozenset({KEYPOINTS}), frozenset({PIXELS, LANDMARKS})),
            default_reference="first",  # as LivePortrait does
            asynchronous=self._motion_stream is not None,
            video_targets=True,
        )

    def _input(self, images: np.ndarray) -> torch.Tensor:
        """(B, H, W, 3) or (H, W, 3) uint8 → (B, 3, H, W) in [0, 1] (a float32 division, spec 9.1)."""
        x = np.asarray(images)
        x = x[None] if x.ndim == 3 else x
        t = torch.from_numpy(x.astype(np.float32) / np.float32(255.0)).clamp(0, 1)
        return t.permute(0, 3, 1, 2).contiguous().to(self.device, self.dtype)

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
        features = self.models.appearance_feature_extractor(x)
        return NeuralSource(crop=crop, features=features, info=info, x_s=x_s,
                            eye_ratio=_ratio(eye_ratio), lip_ratio=_ratio(lip_ratio))  # fmt: skip

    def prepare(self, image: np.ndarray, face: Face) -> NeuralSource:
        """Crop, encode and measure one source face (spec 9.1-9.2, 9.7), see :func:`source_crop`."""
        landmarks = np.asarray(face.landmarks, np.float32)
        crop, m_o2c = source_crop(image, landmarks)
        state = self.prepare_crop(crop, retarget_eye_ratios(landmarks), retarget_lip_ratio(landmarks))
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
        *,
        host: bool = True,
    ) -> list[DrivingMotion]:
        """Motion of T ready network inputs in one batch.

        Args:
            crops: (T, 256, 256, 3) uint8.
            eye_ratios, lip_ratios: (T, 2) and (T, 1) open ratios, or None.
            to_frame: (T, 3) input → frame coordinate maps (see :class:`DrivingMotion`), or None.
            host: return numpy arrays; False leaves the motion on a GPU as tensors (no download,
                no wait), for a pipeline where nothing on the host reads it.
        """
        crops = np.asarray(crops)
        crops = crops[None] if crops.ndim == 3 else crops
        n = len(crops)
        keep = not host and self.device.type != "cpu"
        side = None if keep else self._motion_stream
        with contextlib.nullcontext() if side is None else torch.cuda.stream(side):
            info = KeypointInfo.from_raw(self.models.motion_extractor(self._input(crops)))
            values = {"rotation": info.rotation, "exp": info.exp, "t": info.t, "scale": info.scale}
            values = {k: v.float() for k, v in values.items()}
            if not keep:  # one download for all of them
                flat = torch.cat([v.reshape(n, -1) for v in values.values()], 1).cpu().numpy()
                widths = np.cumsum([0] + [v[0].numel() for v in values.values()])
                values = {k: flat[:, a:b].reshape(v.shape) for (k, v), a, b in
                          zip(values.items(), widths[:-1], widths[1:], strict=True)}  # fmt: skip
        maps = to_frame
        if keep and to_frame is not None:  # uploaded here, in the motion thread, not per rendered batch
            maps = torch.as_tensor(np.asarray(to_frame, np.float32)).to(self.device)

        def row(a, i: int, width: int):
            if a is None:
                return None
            return a.reshape(-1, width)[i : i + 1] if isinstance(a, torch.Tensor) else \
                np.asarray(a, np.float32).reshape(-1, width)[i : i + 1]  # fmt: skip

        return [
            DrivingMotion(
                **{k: v[i : i + 1] for k, v in values.items()},
                eye_ratio=row(eye_ratios, i, 2),
                lip_ratio=row(lip_ratios, i, 1),
                to_frame=row(maps, i, 3),
            )  # fmt: skip
            for i in range(n)
        ]

    def driving_input(self, image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The network input of a driving frame and its input → frame map (:func:`driving_input`)."""
        return drv.driving_input(image, landmarks)

    def motion(self, frame: DrivingFrame, *, host: bool = True) -> DrivingMotion | KeypointMotion | None:
        """A driving frame's motion: its keypoints when it carries them, else extracted from its
        pixels (see :meth:`motion_from_crops` for ``host``). None without keypoints or a face."""
        if frame.keypoints is not None:
            return frame.keypoints
        if frame.image is None or frame.landmarks is None:
            return None
        crop, to_frame = drv.driving_input(frame.image, frame.landmarks)
        return self.motion_from_crops(
            crop[None],
            retarget_eye_ratios(frame.landmarks)[None],
            retarget_lip_ratio(frame.landmarks)[None],
            None if to_frame is None else to_frame[None],
            host=host,
        )[0]

    motion_vector = staticmethod(drv.motion_vector)
    from_vector = staticmethod(drv.from_vector)

    @staticmethod
    def reference(pose: KeypointMotion, expression: KeypointMotion) -> KeypointMotion:
        """Reference motion: head rotation, translation and scale of ``pose``, expression of
        ``expression`` (either may be a :class:`DrivingMotion` or a template frame)."""
        return dataclasses.replace(pose, exp=expression.exp)

    # ---------------------------------------------------------------- keypoints

    @torch.inference_mode()
    def lip_normalization(self, state: NeuralSource) -> torch.Tensor | None:
        """Offset closing the source's open mouth (spec 9.6), None for a closed one."""
        return transfer.lip_normalization(state, self.models.stitching_retargeting_module.lip)

    def _friendly_scale(
        self,
        state: NeuralSource,
        reference,
        pose: transfer.DrivingPose | None,
        options: TransferOptions,
        mode,
    ) -> float | None:
        """The expression-friendly scale for ``reference``, computed once per animation: a host
        computation, keyed by the reference object (kept alive with it, so the key stays its own)."""
        if pose is None or not transfer.uses_expression_friendly(options, mode):
            return None
        key = (options.region, id(reference))
        if key not in state.friendly_scales:
            state.friendly_scales[key] = (reference, transfer.expression_friendly_scale(state, pose, options))
        return state.friendly_scales[key][1]

    @torch.inference_mode()
    def driving_keypoints(
        self,
        state: NeuralSource,
        motions: Sequence[KeypointMotion],
        reference: KeypointMotion | None,
        options: TransferOptions,
        mode: DriveMode = DriveMode.SEQUENCE,
        *,
        targets: np.ndarray | None = None,
    ) -> torch.Tensor:
        """Final driving keypoints of T frames, (T, 21, 3): the transfer policy
        (:func:`vivify.motion.transfer.driving_keypoints`) on these motions.

        ``targets``: source video, relative mode: (T, 72) :meth:`video_targets` smoothed over
        the video, used instead of each frame's own.
        """
        pose = stack_motions(motions, self.device, self.dtype)
        ref = None if reference is None else stack_motions([reference], self.device, self.dtype)
        smoothed = None
        if targets is not None:
            smoothed = torch.as_tensor(np.asarray(targets, np.float32).reshape(len(motions), -1))
            smoothed = smoothed.to(self.device, self.dtype)
        return transfer.driving_keypoints(
            state, pose, ref, options, mode, self.models.stitching_retargeting_module,
            targets=smoothed, friendly_scale=self._friendly_scale(state, reference, ref, options, mode),
        )  # fmt: skip

    @torch.inference_mode()
    def video_targets(
        self,
        state: NeuralSource,
        motion,
        reference,
        options: TransferOptions,
        mode: DriveMode = DriveMode.VIDEO,
    ) -> np.ndarray | None:
        """What LivePortrait smooths over a source video for this frame (relative mode only).

        Returns:
            (72,) float64: the expression E (21×3) then the turned rotation R̃ (3×3), flattened
            (see :func:`vivify.motion.transfer.video_targets`); None in absolute mode.
        """
        pose = stack_motions([motion], self.device, self.dtype)
        ref = None if reference is None else stack_motions([reference], self.device, self.dtype)
        values = transfer.video_targets(state, pose, ref, options, mode)
        return None if values is None else values[0].double().cpu().numpy()

    # ---------------------------------------------------------------- rendering

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

    uint8_images = staticmethod(uint8_images)

    @staticmethod
    def to_uint8(image: torch.Tensor) -> np.ndarray:
        """(B, 3, H, W) in (0, 1) → (B, H, W, 3) uint8 numpy (see :func:`uint8_images`)."""
        return uint8_images(image).cpu().numpy()

    def paste(self, state: NeuralSource, crop: np.ndarray, canvas: np.ndarray | None = None) -> np.ndarray:
        """Blend a 512 output crop into ``canvas`` (default the source picture) with the feathered mask."""
        base = state.image if canvas is None else canvas
        if base is None or state.m_c2o is None:
            raise ValueError("this source was prepared from a bare crop: there is no picture to paste into")
        if canvas is not None and state.image is not None and canvas.shape != state.image.shape:
            raise ValueError(f"canvas {canvas.shape} does not match the source picture {state.image.shape}")
        return paste_back(base, crop, state.m_c2o, feather_mask(CROP_SIZE))

    def render_async(
        self,
        state: NeuralSource,
        motions: Sequence[KeypointMotion],
        reference: KeypointMotion | None,
        options: TransferOptions,
        mode: DriveMode = DriveMode.SEQUENCE,
        *,
        paste_back: bool = True,
        canvas: np.ndarray | None = None,
        targets: np.ndarray | None = None,
    ) -> PendingFrames:
        """Queue T frames in one network batch without waiting for them.

        With ``device_paste`` (default on a GPU) a picture source is pasted into on the device
        and finished frames are downloaded; otherwise (a CPU, a canvas of several faces, a frame
        of a source video) the 512 crops are downloaded and pasted on the host.
        """
        x_d = self.driving_keypoints(state, motions, reference, options, mode, targets=targets)
        image = self.warp_decode(state, x_d).image
        if not paste_back or state.image is None:
            return PendingFrames(uint8_images(image))
        if self.device_paste and canvas is None and not mode.source_video:
            if state.paste_target is None:
                assert state.m_c2o is not None
                state.paste_target = paste_target(
                    state.image, state.m_c2o, feather_mask(CROP_SIZE), self.device
                )
            return PendingFrames(paste_crops(state.paste_target, image))
        return PendingFrames(uint8_images(image), lambda crop: self.paste(state, crop, canvas))

    @torch.inference_mode()
    def edit(
        self,
        state: NeuralSource,
        edit: FaceEdit,
        options: TransferOptions,
        *,
        paste_back: bool = True,
        canvas: np.ndarray | None = None,
    ) -> np.ndarray:
        """The source with editing controls applied to its own motion (then stitched, decoded)."""
        x_d = edited_keypoints(state.info, edit)
        if options.stitching:
            x_d = stitch(self.models.stitching_retargeting_module.stitching, state.x_s, x_d)
        crop = self.to_uint8(self.warp_decode(state, x_d).image)[0]
        if not paste_back or state.image is None:
            return crop
        return self.paste(state, crop, canvas)
