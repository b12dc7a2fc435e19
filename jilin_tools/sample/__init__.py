"""The deterministic sample generator: a coherent world of Jilin departments' deliveries, in the exact layout and
formats of ``sources/SPEC.md``, with every known problem of SPEC §7 injected at a known rate, and the ground truth
(``_ground_truth/``: manifest of injected problems, clean values of every delivered row, the world model).

It is an independent model of the world: it imports nothing else of ``jilin_pipelines``, so the pipeline's code
never computes the expectations it is tested against.
"""

from jilin_tools.sample.generator import (
    DEFAULT_DAYS,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEFAULT_START,
    GROUND_TRUTH,
    GenerationSummary,
    generate,
)
from jilin_tools.sample.problems import DEFAULT_RATES, PROBLEMS, Problem

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_RATES",
    "DEFAULT_SCALE",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "GROUND_TRUTH",
    "PROBLEMS",
    "GenerationSummary",
    "Problem",
    "generate",
]
