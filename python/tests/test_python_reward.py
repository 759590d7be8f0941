"""derl.PythonReward: reward code compiled with componentize-py and run in the
sandbox, hostile code included. Builds take seconds, so each module is built
once per session (the cache) and reused."""

import time

import pytest

import derl

SHAPED = '''
"""Outcome, plus a little for the format."""
DESCRIPTION = "outcome + 0.1*format"
MIN_STRIDE = 2


def reward(primitives):
    return primitives[0] + 0.1 * primitives[1]
'''

LOOP = '''
def reward(primitives):
    while True:
        pass
'''

MEMORY = '''
def reward(primitives):
    hoard = [primitives[0]] * 10**8
    return float(len(hoard))
'''

SOCKET = '''
import socket


def reward(primitives):
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.connect(("93.184.216.34", 80))
    return 1.0
'''

RAISES = '''
def reward(primitives):
    if primitives[0] > 0.5:
        raise ValueError("no correct answers, please")
    return 0.0
'''


@pytest.fixture(scope="module")
def build(componentize_py, cache_dir):
    def build(source, **kwargs):
        return derl.PythonReward(source, componentize_py=componentize_py, cache_dir=cache_dir, **kwargs)

    return build


def test_a_python_reward_scores_like_its_meta_reward_twin(build):
    reward = build(SHAPED)
    twin = derl.MetaReward("outcome + 0.1*format")
    completions = ["\\boxed{3}", "\\boxed{4}", "3"]
    answers = ["3", "3", "3"]
    assert reward(completions=completions, answer=answers) == pytest.approx(
        twin(completions=completions, answer=answers)
    )
    assert reward.compute_score("gsm8k", "\\boxed{3}", "3") == pytest.approx(1.1)
    assert reward.description == "outcome + 0.1*format"


def test_the_build_is_cached(build, componentize_py, cache_dir):
    first = build(SHAPED)
    started = time.monotonic()
    again = derl.PythonReward(SHAPED, componentize_py=componentize_py, cache_dir=cache_dir)
    assert again.component == first.component
    assert time.monotonic() - started < 5, "a cached build must not run componentize-py"


def test_without_an_extractor_it_scores_rows(build):
    reward = build(SHAPED, primitives=None)
    assert reward.score_rows([[1.0, 1.0], [0.0, 1.0]]) == pytest.approx([1.1, 0.1])
    with pytest.raises(TypeError, match="no extractor"):
        reward(completions=["x"], answer=["x"])
    with pytest.raises(ValueError, match=r"rows\[1\] has 1 values"):
        reward.score_rows([[1.0, 1.0], [0.0]])


def timed(call):
    started = time.monotonic()
    try:
        call()
    except derl.DerlError as error:
        return error, time.monotonic() - started
    raise AssertionError("the hostile reward did not fail")


def test_an_endless_loop_is_stopped_in_about_a_second(build):
    reward = build(LOOP)
    error, seconds = timed(lambda: reward(completions=["\\boxed{1}"], answer=["1"]))
    assert isinstance(error, (derl.FuelExhausted, derl.Deadline)), error
    assert error.sample == 0
    assert seconds < 5, seconds
    # The interpreter lives on and healthy rewards still work.
    assert derl.MetaReward("outcome")(completions=["\\boxed{1}"], answer=["1"]) == [1.0]


def test_a_memory_bomb_hits_the_memory_cap(build):
    reward = build(MEMORY)
    error, seconds = timed(lambda: reward(completions=["x"], answer=["1"]))
    assert isinstance(error, derl.MemoryLimit), error
    assert error.kind == "memory-limit"
    assert seconds < 5, seconds


def test_sockets_are_unavailable(build):
    reward = build(SOCKET)
    error, _ = timed(lambda: reward(completions=["x"], answer=["1"]))
    assert isinstance(error, derl.GuestError), error
    assert "PermissionError" in str(error)


def test_an_exception_in_the_reward_fails_only_its_sample_in_penalty_mode(build):
    reward = build(RAISES, on_error=-5.0)
    scores = reward(completions=["\\boxed{1}", "\\boxed{2}", "\\boxed{1}"], answer=["1", "1", "1"])
    assert scores == [-5.0, 0.0, -5.0]
    assert [e.index for e in reward.last_errors] == [0, 2]
    assert all(e.kind == "guest-error" and "no correct answers" in e.message for e in reward.last_errors)


def test_source_that_does_not_compile_is_a_build_error(componentize_py, cache_dir):
    with pytest.raises(derl.BuildError):
        derl.PythonReward("def reward(primitives)\n    return 1\n", componentize_py=componentize_py, cache_dir=cache_dir)


def test_a_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="no_such_reward.py"):
        derl.PythonReward("no_such_reward.py")


def test_the_bundled_example_reward_builds_from_its_path(repo_root, componentize_py, cache_dir):
    reward = derl.PythonReward(
        repo_root / "plugins" / "python-reward" / "reward.py", componentize_py=componentize_py, cache_dir=cache_dir
    )
    # 10*success + 2*tanh(progress/0.3) - ...: with the math primitives, outcome and format.
    scores = reward(completions=["\\boxed{2}", "nothing"], answer=["2", "2"])
    assert scores[0] > 10 and scores[1] == pytest.approx(0.0)
