"""Gymnasium environments over derl environment components.

``derl.make("household", split="train")`` returns a :class:`DerlEnv`: a
text observation (the task, a blank line, then the situation), ``Discrete``
actions indexing the admissible actions (``info["admissible_actions"]``,
``info["action_mask"]``), ``terminated`` (the task ended) apart from
``truncated`` (the split's step limit), and at episode end
``info["primitives"]`` and a reward computed by a Meta-Reward program over
them (by default ``g1``, the first primitive). ``reset(seed=...)`` is
reproducible: the seed picks the task and seeds the episode.
"""

from __future__ import annotations

import json
import string
from typing import Any, Mapping

import numpy as np

from . import _derl
from ._rewards import _settings

try:
    import gymnasium as gym
    from gymnasium import spaces
except ImportError as missing:  # pragma: no cover - exercised without gymnasium
    gym = None
    _GYM_MISSING = missing
else:
    _GYM_MISSING = None

#: The characters of observations as the observation space declares them
#: (printable ASCII with white space: the bundled environments' alphabet).
OBSERVATION_CHARSET = string.printable

_Base = gym.Env if gym is not None else object


class DerlEnv(_Base):
    """A derl environment as a ``gymnasium.Env``. See :func:`make`."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        env: str = "household",
        split: str = "train",
        *,
        reward: str = "g1",
        max_actions: int = 64,
        invalid_action: str = "noop",
        invalid_action_reward: float = 0.0,
        limits: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        settings: Mapping[str, Any] | None = None,
        **more_settings: Any,
    ):
        if gym is None:
            raise ImportError("derl.make needs gymnasium: pip install gymnasium") from _GYM_MISSING
        if invalid_action not in ("noop", "raise"):
            raise ValueError(f"invalid_action must be 'noop' or 'raise', not {invalid_action!r}")
        if not isinstance(max_actions, int) or isinstance(max_actions, bool) or max_actions < 1:
            raise ValueError(f"max_actions must be a positive integer, not {max_actions!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', not {render_mode!r}")
        all_settings = dict(settings or {})
        all_settings.update(more_settings)
        self._core = _derl.EnvCore(
            str(env), _settings(all_settings), None if limits is None else json.dumps(dict(limits)), 0
        )
        if split not in self._core.splits:
            raise ValueError(f"split {split!r} is not one of this environment's splits {self._core.splits}")
        self.split = split
        self.primitive_names = [name for name, _, _, _ in self._core.primitives]
        self._reward = _derl.RewardCore(reward, self.primitive_names, None, False)
        self.reward_program = self._reward.description
        self._invalid_action = invalid_action
        self._invalid_action_reward = float(invalid_action_reward)
        self.render_mode = render_mode
        self.max_steps = self._core.max_steps(split)
        self.task_count = self._core.task_count(split)
        self.action_space = spaces.Discrete(max_actions)
        self.observation_space = spaces.Text(
            max_length=self._core.max_observation_bytes + 2, min_length=0, charset=OBSERVATION_CHARSET
        )
        self._actions: list[str] = []
        self._steps = 0
        self._running = False
        self._last_text = ""
        self._last_info: dict[str, Any] = {}
        name, version, description = self._core.identity
        self.spec_info = {"name": name, "version": version, "description": description}

    def _observe(self, observation: tuple) -> tuple[str, dict[str, Any]]:
        task, text, actions, features = observation
        if len(actions) > self.action_space.n:
            raise _derl.OverBudget(
                f"the observation has {len(actions)} admissible actions, more than max_actions="
                f"{self.action_space.n}: make the environment with a larger max_actions"
            )
        self._actions = list(actions)
        self._last_text = f"{task}\n\n{text}"
        self._last_info = {
            "task": task,
            "text": text,
            "admissible_actions": list(actions),
            "action_mask": self._mask(),
            "features": np.asarray(features, dtype=np.float32),
            "split": self.split,
        }
        return self._last_text, self._info()

    def _info(self) -> dict[str, Any]:
        info = dict(self._last_info)
        info["admissible_actions"] = list(self._actions)
        info["action_mask"] = self._mask()
        info["steps"] = self._steps
        return info

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        """Starts an episode: ``options={"task": i}`` picks the task,
        otherwise the environment's random generator (seeded by ``seed``) does."""
        super().reset(seed=seed)
        options = dict(options or {})
        task = options.pop("task", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)} (known: task)")
        if task is None:
            task = int(self.np_random.integers(self.task_count))
        elif isinstance(task, bool) or not isinstance(task, (int, np.integer)):
            raise TypeError(f"options['task'] must be an integer, not {task!r}")
        episode_seed = int(self.np_random.integers(2**63))
        self._steps = 0
        observation = self._core.reset(self.split, int(task), episode_seed)
        self._running = True
        obs, info = self._observe(observation)
        info["task_index"] = int(task)
        return obs, info

    def step(self, action: Any):
        """Takes admissible action ``action``. An index beyond the admissible
        actions is a no-op that costs a step (``info["invalid_action"]``), as
        in Gymnasium's masked environments, or raises with
        ``invalid_action="raise"``."""
        if not self._running:
            raise RuntimeError("call reset() before step(): the episode has ended or not started")
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)):
            raise TypeError(f"action must be an integer index into info['admissible_actions'], not {action!r}")
        action = int(action)
        if not 0 <= action < len(self._actions):
            if self._invalid_action == "raise" or not 0 <= action < self.action_space.n:
                raise ValueError(
                    f"action {action} is not admissible: this observation has {len(self._actions)} actions"
                )
            self._steps += 1
            truncated = self._steps >= self.max_steps
            self._running = not truncated
            info = self._info()
            info["invalid_action"] = True
            return self._last_text, self._invalid_action_reward, False, truncated, info
        observation, feedback, terminated, truncated, primitives = self._core.step(action)
        self._steps += 1
        obs, info = self._observe(observation)
        info["feedback"] = feedback
        info["invalid_action"] = False
        reward = 0.0
        if terminated or truncated:
            self._running = False
            info["primitives"] = dict(zip(self.primitive_names, primitives))
            reward = float(self._reward.score_rows([list(primitives)])[0])
        return obs, reward, terminated, truncated, info

    def _mask(self) -> np.ndarray:
        mask = np.zeros(self.action_space.n, dtype=np.int8)
        mask[: len(self._actions)] = 1
        return mask

    def expert_action(self) -> int | None:
        """The environment's scripted solver's next action, when it has one."""
        return self._core.expert_action()

    def render(self) -> str | None:
        """The current observation as text (``render_mode="ansi"``)."""
        if self.render_mode == "ansi":
            return self._last_text
        return None


def make(env: str = "household", split: str = "train", **kwargs: Any) -> DerlEnv:
    """A Gymnasium environment over the derl environment ``env`` (a bundled
    name such as ``household``, ``lab``, ``arith``, or a component path).

    Keywords: ``reward`` (a Meta-Reward program over the environment's
    primitives, scored at episode end; default ``g1``), ``max_actions`` (the
    size of the ``Discrete`` action space; default 64), ``invalid_action``
    (``"noop"`` or ``"raise"``), ``invalid_action_reward``, ``limits`` (the
    environment's ``EnvLimits``: ``{"sandbox": {...}, "budgets": {...}}``),
    ``render_mode`` (``"ansi"``), ``settings`` (a dict of environment
    settings, for names that are not Python identifiers such as
    ``{"max-steps": 20}``); any other keyword is an environment setting too
    (``derl.make("household", difficulty="hard")``)."""
    return DerlEnv(env, split, **kwargs)
