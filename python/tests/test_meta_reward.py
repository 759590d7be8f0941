"""derl.MetaReward over the bundled math extractor, in TRL's and verl's call forms."""

import math

import pytest

import derl

COMPLETIONS = [
    "Step 1: 3 + 4 = 7.\nStep 2: check it.\nThe answer is \\boxed{7}.",
    "I think it is 7, but \\boxed{8}.",
    "seven",
    "1. add 40 and 2\n2. that is 42\n#### 42",
]
ANSWERS = ["7", "7", "7", "The total is 42.\n#### 42"]


@pytest.fixture(scope="module")
def full():
    return derl.MetaReward("outcome + 0.5*format + 0.25*reasoning + 0.125*loose_outcome")


def test_the_math_primitives_are_declared_in_order():
    reward = derl.MetaReward("outcome")
    assert reward.names == ["outcome", "format", "reasoning", "loose_outcome"]
    info = reward.extractor
    assert info["name"] == "math"
    assert [p["name"] for p in info["primitives"]] == reward.names
    assert all(p["min"] == 0.0 and p["max"] == 1.0 for p in info["primitives"])


def test_trl_form_scores_each_completion(full):
    scores = full(prompts=["q"] * 4, completions=COMPLETIONS, answer=ANSWERS)
    assert scores == [1.875, 0.625, 0.0, 1.375]
    assert full.last_primitives[1] == {"outcome": 0.0, "format": 1.0, "reasoning": 0.0, "loose_outcome": 1.0}
    assert full.last_errors == []


def test_positional_names_mean_the_same(full):
    same = derl.MetaReward("g1 + 0.5*g2 + 0.25*g3 + 0.125*g4")
    assert same(completions=COMPLETIONS, answer=ANSWERS) == full(completions=COMPLETIONS, answer=ANSWERS)


def test_trl_conversational_completions_and_other_reference_columns():
    reward = derl.MetaReward("outcome")
    completions = [[{"role": "assistant", "content": "\\boxed{12}"}], [{"role": "assistant", "content": "11"}]]
    prompts = [[{"role": "user", "content": "6+6?"}], [{"role": "user", "content": "6+6?"}]]
    assert reward(prompts=prompts, completions=completions, solution=["12", "12"]) == [1.0, 0.0]
    assert reward(prompts=prompts, completions=completions, ground_truth=["12", "12"]) == [1.0, 0.0]
    named = derl.MetaReward("outcome", reference_column="target")
    assert named(completions=completions, target=["12", "11"], answer=["x", "x"]) == [1.0, 1.0]


def test_the_trainer_name_is_set_for_logging():
    assert derl.MetaReward("outcome").__name__ == "derl_meta_reward"
    assert derl.MetaReward("outcome", name="math_outcome").__name__ == "math_outcome"


def test_verl_compute_score(full):
    assert full.compute_score("openai/gsm8k", COMPLETIONS[3], ANSWERS[3]) == 1.375
    assert full.compute_score("math", "\\boxed{0.5}", 0.5, extra_info={"split": "test"}) == 1.625


def test_same_inputs_give_the_same_scores(full):
    first = full(completions=COMPLETIONS, answer=ANSWERS)
    for _ in range(3):
        assert full(completions=COMPLETIONS, answer=ANSWERS) == first
    assert derl.MetaReward("outcome + 0.5*format + 0.25*reasoning + 0.125*loose_outcome")(
        completions=COMPLETIONS, answer=ANSWERS
    ) == first


def test_wrong_lengths_are_errors_that_name_the_argument(full):
    with pytest.raises(ValueError, match="references has 3 items but completions has 4"):
        full(completions=COMPLETIONS, answer=ANSWERS[:3])
    with pytest.raises(ValueError, match="prompts has 2 items but completions has 4"):
        full(prompts=["a", "b"], completions=COMPLETIONS, answer=ANSWERS)


def test_bad_inputs_are_errors_that_name_the_argument(full):
    with pytest.raises(TypeError, match="completions must be a list"):
        full(completions="one string", answer=["7"])
    with pytest.raises(TypeError, match=r"completions\[1\] is a int"):
        full(completions=["a", 3], answer=["7", "7"])
    with pytest.raises(TypeError, match=r"references\[0\] is None"):
        full(completions=["a"], answer=[None])
    with pytest.raises(ValueError, match="no reference answers"):
        full(completions=["a"], question=["q"])
    with pytest.raises(ValueError, match="on_error must be 'raise' or a finite number"):
        derl.MetaReward("outcome", on_error=math.nan)
    with pytest.raises(TypeError, match="program must be a string"):
        derl.MetaReward(42)


def test_bad_programs_and_extractors_are_typed_errors():
    with pytest.raises(derl.InvalidProgram, match="invalid program"):
        derl.MetaReward("outcome +")
    with pytest.raises(derl.InvalidProgram, match="g5"):
        derl.MetaReward("g5")
    with pytest.raises(derl.InvalidProgram):
        derl.MetaReward("successes")
    with pytest.raises(ValueError, match="neither a bundled extractor"):
        derl.MetaReward("g1", primitives="physics")


def test_a_program_text_that_starts_with_a_minus_is_a_program():
    reward = derl.MetaReward("-outcome + 1")
    assert reward(completions=["\\boxed{1}", "2"], answer=["1", "1"]) == [0.0, 1.0]


def test_division_by_zero_is_zero_not_nan():
    reward = derl.MetaReward("outcome / (format - format)")
    assert reward(completions=["\\boxed{1}"], answer=["1"]) == [0.0]


def test_extractor_settings_are_applied_and_checked():
    strict = derl.MetaReward("reasoning", settings={"min_steps": 3})
    assert strict(completions=["1. a\n2. b", "1. a\n2. b\n3. c"], answer=["x", "x"]) == [0.0, 1.0]
    with pytest.raises(derl.GuestError, match="min_steps"):
        derl.MetaReward("reasoning", settings={"min_steps": 0})
    with pytest.raises(derl.GuestError, match="no setting `strict`"):
        derl.MetaReward("reasoning", settings={"strict": True})


def test_limits_are_named_when_wrong():
    with pytest.raises(ValueError, match="unknown field `fuel`"):
        derl.MetaReward("outcome", limits={"fuel": 10})
    with pytest.raises(ValueError, match="reward_limits applies to reward components"):
        derl.MetaReward("outcome", reward_limits={"deadline_ms": 10})


def test_megabyte_completions_and_nested_braces_are_scored():
    reward = derl.MetaReward("outcome + format + reasoning + loose_outcome")
    megabyte = "step " * 200_000 + "\\boxed{7}"
    nested = "\\boxed{" + "{" * 500_000 + "}" * 500_000 + "}"
    slashes = "\\boxed{" + "1/" * 300_000 + "1}"
    assert reward(completions=[megabyte, nested, slashes], answer=["7", "7", "1"]) == [3.0, 1.0, 2.0]


def test_text_beyond_the_budget_is_a_typed_error_for_that_sample():
    reward = derl.MetaReward("outcome", budgets={"sample_bytes": 1000})
    with pytest.raises(derl.OverBudget, match="sample 1") as caught:
        reward(completions=["\\boxed{1}", "x" * 2000, "\\boxed{1}"], answer=["1", "1", "1"])
    assert caught.value.kind == "over-budget"
    assert caught.value.sample == 1


def test_a_penalty_replaces_only_the_failed_sample_and_says_why():
    reward = derl.MetaReward("outcome", budgets={"sample_bytes": 1000}, on_error=-1.0)
    scores = reward(completions=["\\boxed{1}", "x" * 2000, "\\boxed{2}"], answer=["1", "1", "1"])
    assert scores == [1.0, -1.0, 0.0]
    assert [(e.index, e.kind) for e in reward.last_errors] == [(1, "over-budget")]
    assert "sample 1" in reward.last_errors[0].message
    assert reward.last_primitives[1] == {}


def test_an_extractor_that_runs_out_of_fuel_raises_fuel_exhausted():
    reward = derl.MetaReward("outcome", limits={"fuel_per_call": 1_000_000})
    with pytest.raises(derl.FuelExhausted):
        reward(completions=["step " * 500_000], answer=["1"])


def test_an_environment_is_not_an_extractor():
    import derl._derl as core

    assert "household" in core.BUNDLED_ENVIRONMENTS
    with pytest.raises(derl.InterfaceMismatch, match="text-primitives"):
        derl.MetaReward("g1", primitives=str(_household_component()))


def _household_component():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    path = root / "target" / "guests" / "wasm32-wasip2" / "guest" / "household_plugin.wasm"
    if not path.is_file():
        pytest.skip(f"{path} is not built")
    return path


def test_an_empty_batch_is_an_empty_list(full):
    assert full(completions=[], answer=[]) == []


def test_trl_log_metric_receives_the_primitive_means(full):
    logged = {}
    full(completions=COMPLETIONS, answer=ANSWERS, log_metric=lambda name, value: logged.setdefault(name, value),
         trainer_state=object(), completion_ids=[[1]] * 4)
    assert logged["derl_meta_reward/outcome"] == 0.5
    assert logged["derl_meta_reward/format"] == 0.5
    assert logged["derl_meta_reward/failed_samples"] == 0.0
