"""Face detection, tracking, geometry, aligned crops and paste-back."""

from vivify.face.align import CropConfig, crop_matrix, invert_affine, resize_to_limit, transform_points
from vivify.face.crop import FaceCrop, crop_face, feather_mask, paste_back
from vivify.face.detect import FaceDetector, MediaPipeFaceDetector, find_face, sort_faces
from vivify.face.geometry import head_pose
from vivify.face.openness import eye_open, eye_open_ratios, lip_open
from vivify.face.track import FaceTracker, OneEuroConfig, OneEuroFilter, TrackedFace, track_faces
from vivify.face.types import Face, FaceBox

__all__ = [
    "CropConfig",
    "Face",
    "FaceBox",
    "FaceCrop",
    "FaceDetector",
    "FaceTracker",
    "MediaPipeFaceDetector",
    "OneEuroConfig",
    "OneEuroFilter",
    "TrackedFace",
    "crop_face",
    "crop_matrix",
    "eye_open",
    "eye_open_ratios",
    "feather_mask",
    "find_face",
    "head_pose",
    "invert_affine",
    "lip_open",
    "paste_back",
    "resize_to_limit",
    "sort_faces",
    "track_faces",
    "transform_points",
]
