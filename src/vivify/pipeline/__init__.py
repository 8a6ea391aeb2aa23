"""Orchestration: options, sources of motion, motion templates and the Animator."""

from vivify.pipeline.animator import Animator
from vivify.pipeline.driving import DrivingSource, record_template
from vivify.pipeline.lp_template import load_liveportrait_template
from vivify.pipeline.motion_source import DrivingFrame, MotionSource
from vivify.pipeline.options import AnimationOptions, OutputOptions, TransferOptions
from vivify.pipeline.source_track import PreparedSource
from vivify.pipeline.templates import MotionTemplate, load_template, save_template

__all__ = [
    "AnimationOptions",
    "Animator",
    "DrivingFrame",
    "DrivingSource",
    "MotionSource",
    "MotionTemplate",
    "OutputOptions",
    "PreparedSource",
    "TransferOptions",
    "load_liveportrait_template",
    "load_template",
    "record_template",
    "save_template",
]
