"""derl from Python: sandboxed Meta-Rewards for TRL and verl, Python rewards
run in WebAssembly, and Gymnasium environments over derl components.

- :class:`MetaReward` composes the primitives of a text-primitives extractor
  (the bundled ``"math"`` one: outcome, format, reasoning, loose_outcome) with
  a Meta-Reward program such as ``"outcome + 0.5*format"``; it is a TRL
  ``reward_funcs`` entry and has a verl ``compute_score``.
- :class:`PythonReward` runs reward code someone else wrote (an LLM, say),
  compiled with componentize-py into a component under hard limits.
- :func:`make` returns a ``gymnasium.Env`` over any derl environment.

Every failure is a subclass of :class:`DerlError`; nothing fails silently
into a 0.
"""

from ._derl import (
    BUNDLED_ENVIRONMENTS,
    BUNDLED_EXTRACTORS,
    CONTRACT_VERSION,
    BuildError,
    Deadline,
    DerlError,
    FuelExhausted,
    GuestError,
    HostError,
    InterfaceMismatch,
    InvalidOutput,
    InvalidProgram,
    MemoryLimit,
    NotAComponent,
    OutputLimit,
    OverBudget,
    StackOverflow,
    TimeBudget,
    Trap,
    UnsupportedImport,
    __version__,
)
from ._rewards import MetaReward, PythonReward, SampleError
from ._gym import DerlEnv, make

__all__ = [
    "BUNDLED_ENVIRONMENTS",
    "BUNDLED_EXTRACTORS",
    "CONTRACT_VERSION",
    "BuildError",
    "Deadline",
    "DerlEnv",
    "DerlError",
    "FuelExhausted",
    "GuestError",
    "HostError",
    "InterfaceMismatch",
    "InvalidOutput",
    "InvalidProgram",
    "MemoryLimit",
    "MetaReward",
    "NotAComponent",
    "OutputLimit",
    "OverBudget",
    "PythonReward",
    "SampleError",
    "StackOverflow",
    "TimeBudget",
    "Trap",
    "UnsupportedImport",
    "__version__",
    "make",
]
