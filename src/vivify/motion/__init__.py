"""Motion math: pure functions (no modules, no I/O) on keypoint motion and face meshes, and the
transfer policy that turns driving motion into the keypoints a source is rendered with."""

from vivify.face.openness import eye_ratios_203, lip_ratio_203
from vivify.motion.editing import CONTROLS, FaceEdit, apply_edit, edited_keypoints, expression_offset
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
