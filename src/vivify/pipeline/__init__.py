"""Orchestration: options, driving sources, motion templates and the Animator."""

from vivify.pipeline.animator import Animator, PreparedSource
from vivify.pipeline.driving import DrivingFrame, DrivingSource, record_template
from vivify.pipeline.lp_template import load_liveportrait_template
from vivify.pipeline.options import AnimationOptions
from vivify.pipeline.templates import MotionTemplate, load_template, save_template

__all__ = [
    "AnimationOptions",
    "Animator",
    "DrivingFrame",
    "DrivingSource",
    "MotionTemplate",
    "PreparedSource",
    "load_liveportrait_template",
    "load_template",
    "record_template",
    "save_template",
]
