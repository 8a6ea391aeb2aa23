"""Named index sets of the 478-point MediaPipe face mesh (subject's left = image right)."""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 478
N_MESH = 468  # without the iris points

# Eyes: corners (outer, inner) and three upper/lower lid pairs, outer to inner.
RIGHT_EYE_CORNERS = (33, 133)
RIGHT_EYE_LIDS = ((160, 144), (159, 145), (158, 153))
LEFT_EYE_CORNERS = (263, 362)
LEFT_EYE_LIDS = ((387, 373), (386, 374), (385, 380))
RIGHT_IRIS = tuple(range(468, 473))  # centre first
LEFT_IRIS = tuple(range(473, 478))
# per eye: the upper-lid points and the skin ring above them (between the lid and the brow)
LID_SKIN = {
    "right": ((246, 161, 160, 159, 158, 157, 173), (113, 225, 224, 223, 222, 221, 189)),
    "left": ((466, 388, 387, 386, 385, 384, 398), (342, 445, 444, 443, 442, 441, 413)),
}
EYE_CONTOURS = {  # corner, upper lid, corner, lower lid (reversed), as a closed polygon
    "right": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    "left": (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
}

# Mouth: outer corners and the inner-lip midline pair (upper, lower).
MOUTH_CORNERS = (61, 291)
INNER_LIP_MID = (13, 14)
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)

NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10

# Face outline, clockwise from the forehead top.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip

EYEBROWS = (
    70, 63, 105, 66, 107, 55, 65, 52, 53, 46,
    300, 293, 334, 296, 336, 285, 295, 282, 283, 276,
)  # fmt: skip

# Points that hardly move with expression (forehead, nose bridge and tip, eye corners, temples,
# upper cheeks): used for rigid head-pose fits so that a smile or an open mouth does not read as
# a nod.
STABLE = (
    10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1,
    33, 133, 263, 362, 127, 356, 234, 454, 93, 323,
    108, 337, 109, 338, 67, 297, 103, 332, 54, 284,
    116, 345, 117, 346, 118, 347, 119, 348, 100, 329, 47, 277,
)  # fmt: skip


def _crop_subset() -> np.ndarray:
    """Mesh points spanning the same region as the 106-point layout LivePortrait crops from.

    That layout covers jaw contour, brows, eyes, nose and mouth, but not the forehead above the
    brows, so the face-oval points above the brow line are left out.
    """
    upper_oval = {10, 338, 297, 332, 284, 251, 109, 67, 103, 54, 21}
    oval = [i for i in FACE_OVAL if i not in upper_oval]
    eyes = list(RIGHT_EYE_CORNERS) + list(LEFT_EYE_CORNERS)
    eyes += [i for pair in RIGHT_EYE_LIDS + LEFT_EYE_LIDS for i in pair]
    mouth = list(MOUTH_CORNERS) + list(INNER_LIP_MID) + [0, 17]
    nose = [1, 2, 4, 5, 6, 168, 98, 327]
    return np.array(sorted(set(oval + list(EYEBROWS) + eyes + mouth + nose)), dtype=np.int64)


CROP_SUBSET = _crop_subset()
