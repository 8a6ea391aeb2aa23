"""The editing controls and their ranges: plain data (no torch), so that the command line can
offer them without loading the networks' libraries."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONTROLS", "POSE_CONTROLS", "ControlRange"]


@dataclass(frozen=True)
class ControlRange:
    """Allowed values of one editing control and the official slider it stands for."""

    low: float
    high: float
    neutral: float = 0.0
    spec: str = "vivify"  # the official variable name, or "vivify" for vivify's own controls


CONTROLS: dict[str, ControlRange] = {
    "pitch": ControlRange(-15.0, 15.0, spec="head pitch"),
    "yaw": ControlRange(-25.0, 25.0, spec="head yaw"),
    "roll": ControlRange(-15.0, 15.0, spec="head roll"),
    "shift_x": ControlRange(-0.19, 0.19, spec="mov_x (sign inverted)"),
    "shift_y": ControlRange(-0.19, 0.19, spec="mov_y"),
    "scale": ControlRange(0.9, 1.2, 1.0, spec="mov_z"),
    "smile": ControlRange(-0.3, 1.3, spec="smile"),
    "blink": ControlRange(-5.0, 39.0),
    "wink": ControlRange(0.0, 39.0, spec="wink"),
    "eyebrow": ControlRange(-30.0, 30.0, spec="eyebrow"),
    "gaze_x": ControlRange(-30.0, 30.0, spec="eyeball_direction_x"),
    "gaze_y": ControlRange(-63.0, 63.0, spec="eyeball_direction_y"),
    "mouth_open": ControlRange(-90.0, 120.0, spec="lip_variation_three"),
    "grin": ControlRange(0.0, 15.0, spec="lip_variation_two"),
    "purse": ControlRange(-20.0, 15.0, spec="lip_variation_one"),
    "pout": ControlRange(-0.09, 0.09, spec="lip_variation_zero"),
    "aaa": ControlRange(0.0, 1.0),
    "eee": ControlRange(0.0, 1.0),
    "woo": ControlRange(0.0, 1.0),
}

POSE_CONTROLS = ("pitch", "yaw", "roll", "shift_x", "shift_y", "scale")
