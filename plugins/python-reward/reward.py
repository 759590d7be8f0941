"""Eureka-style shaped reward for environments whose first two primitives are
`success` (1 when the task was accomplished, else 0) and `progress` (the
fraction of the task's milestones reached, 0 to 1)."""

import math

DESCRIPTION = "10*success + 2*tanh(progress/0.3) - 0.5*[no success but progress >= 0.9]"
MIN_STRIDE = 2

SUCCESS_WEIGHT = 10.0
PROGRESS_WEIGHT = 2.0
PROGRESS_TEMPERATURE = 0.3
STALL_PENALTY = 0.5


def reward(primitives: list[float]) -> float:
    success, progress = primitives[0], primitives[1]
    # Dense shaping that saturates: the first milestones matter most.
    progress_bonus = PROGRESS_WEIGHT * math.tanh(progress / PROGRESS_TEMPERATURE)
    # Reaching almost every milestone without finishing is discouraged.
    stalled = success < 0.5 and progress >= 0.9
    return SUCCESS_WEIGHT * success + progress_bonus - (STALL_PENALTY if stalled else 0.0)
