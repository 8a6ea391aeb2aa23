"""Motion math: pure functions (no modules, no I/O) on keypoint motion and face meshes, and the
transfer policy that turns driving motion into the keypoints a source is rendered with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vivify.lazy import lazy_exports

#: Each name is imported on first use (most of them need torch).
_LAZY = {
    "eye_ratios_203": "vivify.face.openness",
    "lip_ratio_203": "vivify.face.openness",
    "CONTROLS": "vivify.motion.controls",
    "FaceEdit": "vivify.motion.editing",
    "apply_edit": "vivify.motion.editing",
    "edited_keypoints": "vivify.motion.editing",
    "expression_offset": "vivify.motion.editing",
    "KeypointMotion": "vivify.motion.keypoint_motion",
    "transform_keypoints": "vivify.motion.keypoints",
    "edit_landmarks": "vivify.motion.mesh_editing",
    "KeypointInfo": "vivify.motion.relative",
    "absolute_keypoints": "vivify.motion.relative",
    "expression_friendly": "vivify.motion.relative",
    "hull_motion_multiplier": "vivify.motion.relative",
    "relative_keypoints": "vivify.motion.relative",
    "bins_to_degrees": "vivify.motion.rotation",
    "rotation_matrix": "vivify.motion.rotation",
    "eye_retarget_delta": "vivify.motion.stitching",
    "lip_retarget_delta": "vivify.motion.stitching",
    "retarget_delta": "vivify.motion.stitching",
    "stitch": "vivify.motion.stitching",
    "DrivingPose": "vivify.motion.transfer",
    "SourceKeypoints": "vivify.motion.transfer",
    "driving_keypoints": "vivify.motion.transfer",
    "DriveMode": "vivify.motion.transfer_options",
    "TransferOptions": "vivify.motion.transfer_options",
}

if TYPE_CHECKING:
    from vivify.face.openness import eye_ratios_203, lip_ratio_203
    from vivify.motion.controls import CONTROLS
    from vivify.motion.editing import FaceEdit, apply_edit, edited_keypoints, expression_offset
    from vivify.motion.keypoint_motion import KeypointMotion
    from vivify.motion.keypoints import transform_keypoints
    from vivify.motion.mesh_editing import edit_landmarks
    from vivify.motion.relative import (
        KeypointInfo,
        absolute_keypoints,
        expression_friendly,
        hull_motion_multiplier,
        relative_keypoints,
    )
    from vivify.motion.rotation import bins_to_degrees, rotation_matrix
    from vivify.motion.stitching import eye_retarget_delta, lip_retarget_delta, retarget_delta, stitch
    from vivify.motion.transfer import DrivingPose, SourceKeypoints, driving_keypoints
    from vivify.motion.transfer_options import DriveMode, TransferOptions

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "CONTROLS",
    "DriveMode",
    "DrivingPose",
    "SourceKeypoints",
    "TransferOptions",
    "driving_keypoints",
    "FaceEdit",
    "KeypointMotion",
    "apply_edit",
    "edit_landmarks",
    "edited_keypoints",
    "expression_offset",
    "KeypointInfo",
    "absolute_keypoints",
    "expression_friendly",
    "hull_motion_multiplier",
    "relative_keypoints",
    "retarget_delta",
    "bins_to_degrees",
    "eye_ratios_203",
    "eye_retarget_delta",
    "lip_ratio_203",
    "lip_retarget_delta",
    "rotation_matrix",
    "stitch",
    "transform_keypoints",
]
