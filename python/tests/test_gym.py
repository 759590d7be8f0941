"""derl.make: Gymnasium environments over derl components."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

import derl  # noqa: E402


def run_expert(env, seed):
    obs, info = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        action = env.expert_action()
        assert action is not None
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        steps += 1
        if terminated or truncated:
            return total, steps, terminated, info


def test_the_expert_solves_household_and_the_reward_is_the_first_primitive():
    env = derl.make("household", split="validation")
    total, steps, terminated, info = run_expert(env, seed=3)
    assert terminated
    assert info["primitives"]["success"] == 1.0
    assert total == 1.0
    assert 0 < steps <= env.max_steps


def test_observations_and_infos_have_the_documented_shape():
    env = derl.make("household")
    obs, info = env.reset(seed=0)
    assert isinstance(obs, str) and obs.startswith(info["task"] + "\n\n")
    assert env.observation_space.contains(obs)
    actions = info["admissible_actions"]
    assert 0 < len(actions) <= env.action_space.n
    mask = info["action_mask"]
    assert mask.dtype == np.int8 and mask.shape == (env.action_space.n,)
    assert mask.sum() == len(actions) and mask[: len(actions)].all()
    assert info["features"].dtype == np.float32
    assert isinstance(env.action_space, gym.spaces.Discrete)


def test_reset_with_a_seed_is_reproducible():
    env = derl.make("lab")
    first = env.reset(seed=42)[0]
    rng = np.random.default_rng(0)
    trajectory = []
    for _ in range(5):
        mask = env._mask()
        action = int(rng.choice(np.flatnonzero(mask)))
        trajectory.append(env.step(action)[:4])
        if trajectory[-1][2] or trajectory[-1][3]:
            break
    assert env.reset(seed=42)[0] == first
    rng = np.random.default_rng(0)
    again = []
    for _ in range(len(trajectory)):
        action = int(rng.choice(np.flatnonzero(env._mask())))
        again.append(env.step(action)[:4])
    assert again == trajectory
    other = derl.make("lab")
    assert other.reset(seed=42)[0] == first


def test_a_task_can_be_chosen():
    env = derl.make("arith", split="ood")
    _, info = env.reset(seed=1, options={"task": 3})
    assert info["task_index"] == 3
    with pytest.raises(ValueError, match="out of range"):
        env.reset(options={"task": 10**6})
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"level": 2})


def test_an_inadmissible_action_is_a_noop_that_costs_a_step():
    env = derl.make("household")
    obs, info = env.reset(seed=0)
    n = len(info["admissible_actions"])
    obs2, reward, terminated, truncated, info2 = env.step(env.action_space.n - 1 if n < env.action_space.n else 0)
    assert info2["invalid_action"] and obs2 == obs and reward == 0.0
    assert not terminated and info2["steps"] == 1
    strict = derl.make("household", invalid_action="raise")
    strict.reset(seed=0)
    with pytest.raises(ValueError, match="not admissible"):
        strict.step(strict.action_space.n - 1)


def test_truncation_is_separate_from_termination():
    env = derl.make("household")
    env.reset(seed=0)
    for _ in range(env.max_steps):
        _, _, terminated, truncated, info = env.step(env.action_space.n - 1)
        assert not terminated
    assert truncated
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


def test_a_meta_reward_over_the_primitives_is_the_episode_reward():
    env = derl.make("household", reward="success + 0.5*progress")
    total, _, terminated, info = run_expert(env, seed=3)
    assert terminated
    assert total == pytest.approx(info["primitives"]["success"] + 0.5 * info["primitives"]["progress"])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="split 'dev'"):
        derl.make("household", split="dev")
    with pytest.raises(derl.InvalidProgram):
        derl.make("household", reward="succes")
    with pytest.raises(derl.DerlError, match="nowhere"):
        derl.make("nowhere")
    with pytest.raises(derl.GuestError):
        derl.make("household", no_such_setting=1)
    env = derl.make("household")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="action must be an integer"):
        env.step("go north")
    with pytest.raises(derl.OverBudget, match="max_actions"):
        derl.make("household", max_actions=1).reset(seed=0)


def test_settings_reach_the_environment():
    short = derl.make("household", settings={"max-steps": 12})
    assert short.max_steps == 12
    hard = derl.make("household", difficulty="hard")
    assert hard.reset(seed=0)[0] != derl.make("household").reset(seed=0)[0]


def test_it_passes_gymnasiums_checker():
    env = derl.make("household")
    check_env(env, skip_render_check=True)
