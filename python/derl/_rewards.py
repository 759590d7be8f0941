"""Meta-Rewards over text primitives, in the forms TRL and verl call them.

TRL calls ``reward(prompts=..., completions=..., **columns)`` and wants one
float per completion; verl calls ``compute_score(data_source, solution_str,
ground_truth, extra_info=None)`` per sample. Both land in
:meth:`TextReward.score`, which checks every argument (a wrong length is an
error naming the argument, never a broadcast) and runs the batch in the
sandbox without the GIL.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import _derl

#: Dataset columns searched, in order, for the reference answer when no
#: ``reference_column`` is given (GSM8K's ``answer``, MATH's ``solution``,
#: verl's ``ground_truth``).
REFERENCE_COLUMNS = ("answer", "solution", "ground_truth", "reference")

#: Limits of Python reward calls over the host's Python defaults (256 MiB,
#: 20 billion fuel): a one-second deadline, so an endless loop ends in about
#: a second while a batch of thousands of samples fits easily.
PYTHON_REWARD_LIMITS = {"deadline_ms": 1000}

_EXCEPTIONS = {
    "not-a-component": _derl.NotAComponent,
    "unsupported-import": _derl.UnsupportedImport,
    "interface-mismatch": _derl.InterfaceMismatch,
    "fuel-exhausted": _derl.FuelExhausted,
    "deadline": _derl.Deadline,
    "memory-limit": _derl.MemoryLimit,
    "stack-overflow": _derl.StackOverflow,
    "output-limit": _derl.OutputLimit,
    "trap": _derl.Trap,
    "guest-error": _derl.GuestError,
    "invalid-output": _derl.InvalidOutput,
    "over-budget": _derl.OverBudget,
    "time-budget": _derl.TimeBudget,
    "host": _derl.HostError,
}


@dataclass(frozen=True)
class SampleError:
    """Why one sample of the last batch got the penalty instead of a score."""

    index: int
    kind: str
    message: str


def sample_exception(error: SampleError) -> _derl.DerlError:
    """The typed exception for a sample's failure, with ``kind`` and ``sample``."""
    cls = _EXCEPTIONS.get(error.kind, _derl.DerlError)
    exc = cls(f"sample {error.index}: {error.message}")
    exc.kind = error.kind
    exc.sample = error.index
    return exc


def _text(value: Any, argument: str, index: int) -> str:
    """A sample's text: a string, or TRL's conversational form (a message
    dict or a list of them, whose ``content`` is joined by new lines)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("content"), str):
        return value["content"]
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        parts = []
        for message in value:
            if not (isinstance(message, Mapping) and isinstance(message.get("content"), str)):
                break
            parts.append(message["content"])
        else:
            return "\n".join(parts)
    raise TypeError(
        f"{argument}[{index}] is a {type(value).__name__}: expected a string or "
        f"chat messages (dicts with a string 'content')"
    )


def _texts(values: Any, argument: str) -> list[str]:
    if values is None:
        raise TypeError(f"{argument} is required")
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(
            f"{argument} must be a list with one item per sample, not a {type(values).__name__}"
        )
    return [_text(v, argument, i) for i, v in enumerate(values)]


def _reference(value: Any, argument: str, index: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{argument}[{index}] is {value!r}: expected the reference answer as text or a number")
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    raise TypeError(
        f"{argument}[{index}] is a {type(value).__name__}: expected the reference answer as text or a number"
    )


def _same_length(name: str, values: list, n: int) -> None:
    if len(values) != n:
        raise ValueError(
            f"{name} has {len(values)} items but completions has {n}: every completion needs one"
        )


def _settings(settings: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if settings is None:
        return []
    if not isinstance(settings, Mapping):
        raise TypeError(f"settings must be a dict, not a {type(settings).__name__}")
    pairs = []
    for key, value in settings.items():
        if not isinstance(key, str):
            raise TypeError(f"settings keys must be strings, not {key!r}")
        if isinstance(value, bool):
            value = "true" if value else "false"
        pairs.append((key, str(value)))
    return pairs


def _json(value: Mapping[str, Any] | None, argument: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{argument} must be a dict, not a {type(value).__name__}")
    return json.dumps(dict(value))


def _penalty(on_error: Any) -> float | None:
    """``None`` for "raise", else the finite penalty a failed sample gets."""
    if on_error == "raise":
        return None
    if isinstance(on_error, bool) or not isinstance(on_error, (int, float)) or not math.isfinite(on_error):
        raise ValueError(f"on_error must be 'raise' or a finite number (the penalty), not {on_error!r}")
    return float(on_error)


class TextReward:
    """What :class:`MetaReward` and :class:`PythonReward` share: the TRL and
    verl call forms over a sandboxed reward of text primitives."""

    def __init__(self, core: _derl.MetaRewardCore, on_error: Any, reference_column: str | None, name: str):
        self._core = core
        self._penalty = _penalty(on_error)
        if reference_column is not None and not isinstance(reference_column, str):
            raise TypeError("reference_column must be a column name (a string)")
        self._reference_column = reference_column
        #: The name TRL logs this reward under.
        self.__name__ = name
        #: Failures of the last batch (only in penalty mode; in raise mode
        #: the first one is raised).
        self.last_errors: list[SampleError] = []
        #: Primitive values of each sample of the last batch, by name
        #: (empty for a sample whose extraction failed).
        self.last_primitives: list[dict[str, float]] = []

    @property
    def names(self) -> list[str]:
        """The primitive names, ``g1`` first."""
        return list(self._core.names)

    @property
    def description(self) -> str:
        """The reward program as it describes itself (a program's normalized text)."""
        return self._core.description

    @property
    def extractor(self) -> dict[str, Any]:
        """The extractor's declaration: name, version, description, primitives."""
        name, version, description, primitives = self._core.extractor_info
        return {
            "name": name,
            "version": version,
            "description": description,
            "primitives": [
                {"name": n, "description": d, "min": lo, "max": hi} for n, d, lo, hi in primitives
            ],
        }

    def __call__(self, prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float]:
        """TRL's ``reward_funcs`` form: one float per completion. The
        reference answers come from the dataset column ``reference_column``
        (by default the first of :data:`REFERENCE_COLUMNS` present). When TRL
        passes ``log_metric``, the batch means of the primitives and the
        number of failed samples are logged under ``<name>/<primitive>``."""
        completions = _texts(completions, "completions")
        references = self._references(kwargs)
        prompts = [""] * len(completions) if prompts is None else prompts
        scores = self.score(completions, references, prompts=prompts)
        log_metric = kwargs.get("log_metric")
        if callable(log_metric):
            self._log(log_metric)
        return scores

    def _log(self, log_metric: Any) -> None:
        """Reports the batch's mean of every primitive and its failed
        samples through TRL's ``log_metric`` (TRL >= 1.x passes it)."""
        rows = [row for row in self.last_primitives if row]
        for name in self._core.names:
            if rows:
                log_metric(f"{self.__name__}/{name}", sum(row[name] for row in rows) / len(rows))
        log_metric(f"{self.__name__}/failed_samples", float(len(self.last_errors)))

    def _references(self, columns: Mapping[str, Any]) -> Any:
        if self._reference_column is not None:
            if self._reference_column not in columns:
                raise ValueError(
                    f"reference_column {self._reference_column!r} is not among the columns passed: "
                    f"{sorted(columns)}"
                )
            return columns[self._reference_column]
        for column in REFERENCE_COLUMNS:
            if column in columns:
                return columns[column]
        raise ValueError(
            f"no reference answers: none of the columns {list(REFERENCE_COLUMNS)} was passed "
            f"(got {sorted(columns)}); name yours with reference_column="
        )

    def score(self, completions: Sequence[Any], references: Sequence[Any], prompts: Sequence[Any] | None = None) -> list[float]:
        """One score per completion, ``references[i]`` being completion
        ``i``'s reference answer. Raises the first sample's failure as its
        typed exception, or (with ``on_error=<penalty>``) gives the failed
        samples the penalty and records why in :attr:`last_errors`."""
        completions = _texts(completions, "completions")
        n = len(completions)
        if isinstance(references, (str, bytes)) or not isinstance(references, Sequence):
            raise TypeError(
                f"references must be a list with one item per completion, not a {type(references).__name__}"
            )
        references = [_reference(r, "references", i) for i, r in enumerate(references)]
        _same_length("references", references, n)
        prompts = [""] * n if prompts is None else _texts(prompts, "prompts")
        _same_length("prompts", prompts, n)
        outcomes = self._core.score_each(prompts, completions, references, self._penalty is None)
        names = self._core.names
        self.last_primitives = [dict(zip(names, values)) for _, values, _ in outcomes]
        errors = [
            SampleError(i, failure[0], failure[1])
            for i, (_, _, failure) in enumerate(outcomes)
            if failure is not None
        ]
        if errors and self._penalty is None:
            self.last_errors = []
            raise sample_exception(errors[0])
        self.last_errors = errors
        return [self._penalty if score is None else score for score, _, _ in outcomes]

    def primitives(self, completions: Sequence[Any], references: Sequence[Any], prompts: Sequence[Any] | None = None) -> list[dict[str, float]]:
        """The primitive values of each completion, by name."""
        self.score(completions, references, prompts)
        return self.last_primitives

    def compute_score(self, data_source: Any, solution_str: str, ground_truth: Any, extra_info: Any = None) -> float:
        """verl's reward-function form for one sample."""
        if not isinstance(solution_str, str):
            raise TypeError(f"solution_str must be a string, not a {type(solution_str).__name__}")
        return self.score([solution_str], [ground_truth])[0]


class MetaReward(TextReward):
    """A Meta-Reward program over text primitives, sandboxed.

    >>> reward = derl.MetaReward("outcome + 0.5*format", primitives="math")
    >>> reward(prompts=["2+2?"], completions=["\\\\boxed{4}"], answer=["4"])
    [1.5]

    ``program``: a program in derl's reward language over the extractor's
    primitive names (or ``g1``..``gN``), or the path of a reward component.
    ``primitives``: a bundled extractor (``"math"``) or the path of a
    text-primitives component; ``settings`` are its settings. ``limits``:
    the extractor's sandbox limits (``fuel_per_call``, ``deadline_ms``,
    ``memory_bytes``, ...); ``reward_limits``: a reward component's;
    ``budgets``: the most text the host hands the extractor
    (``sample_bytes``, ``call_bytes``, ``call_samples``, ``batch_samples``).
    ``on_error``: ``"raise"`` (default) or the score a failed sample gets.
    """

    def __init__(
        self,
        program: str,
        primitives: str = "math",
        *,
        settings: Mapping[str, Any] | None = None,
        limits: Mapping[str, Any] | None = None,
        reward_limits: Mapping[str, Any] | None = None,
        budgets: Mapping[str, Any] | None = None,
        on_error: Any = "raise",
        reference_column: str | None = None,
        name: str | None = None,
    ):
        if not isinstance(program, (str, os.PathLike)):
            raise TypeError(f"program must be a string, not a {type(program).__name__}")
        if not isinstance(primitives, (str, os.PathLike)):
            raise TypeError(f"primitives must be a bundled extractor name or a path, not a {type(primitives).__name__}")
        core = _derl.MetaRewardCore(
            os.fspath(program),
            os.fspath(primitives),
            _settings(settings),
            _json(reward_limits, "reward_limits"),
            _json(limits, "limits"),
            _json(budgets, "budgets"),
            False,
        )
        super().__init__(core, on_error, reference_column, name or "derl_meta_reward")

    def __repr__(self) -> str:
        return f"MetaReward({self.description!r}, primitives={self.extractor['name']!r})"


def default_cache_dir() -> Path:
    """Where derl caches compiled components: ``$DERL_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/derl``, else ``~/.cache/derl`` (as the ``derl`` binary)."""
    if os.environ.get("DERL_CACHE_DIR"):
        return Path(os.environ["DERL_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "derl"
    return Path.home() / ".cache" / "derl"


def _componentize_py(explicit: str | os.PathLike | None) -> str | None:
    """The componentize-py to build with: the argument, ``$DERL_COMPONENTIZE_PY``,
    the one on ``PATH`` or next to this interpreter; ``None`` lets derl look in
    the project's ``.venv-componentize``."""
    if explicit is not None:
        return os.fspath(explicit)
    if os.environ.get("DERL_COMPONENTIZE_PY"):
        return os.environ["DERL_COMPONENTIZE_PY"]
    found = shutil.which("componentize-py")
    if found:
        return found
    beside = Path(sys.executable).parent / "componentize-py"
    return str(beside) if beside.is_file() else None


def build_python_reward(
    source: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    componentize_py: str | os.PathLike | None = None,
    timeout: float = 300.0,
) -> Path:
    """Compiles a Python reward (a ``.py`` path, or the module's source
    text) into a component, once: the component is cached under
    ``cache_dir/python-rewards/`` by the sha256 of the source (and of derl's
    version), so the same source builds once per machine."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source and source.endswith(".py")):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no Python reward file {path}")
        text, module, from_file = path.read_text(encoding="utf-8"), path.stem, path
    elif isinstance(source, str):
        text, module, from_file = source, "reward", None
    else:
        raise TypeError(f"source must be Python source text or a .py path, not a {type(source).__name__}")
    key = hashlib.sha256(
        json.dumps([_derl.__version__, _derl.CONTRACT_VERSION, module, text]).encode()
    ).hexdigest()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    out = folder / "python-rewards" / f"{key}.wasm"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tool = _componentize_py(componentize_py)
    with tempfile.TemporaryDirectory(prefix="derl-python-reward-") as scratch:
        if from_file is None:
            from_file = Path(scratch) / f"{module}.py"
            from_file.write_text(text, encoding="utf-8")
        # Built beside its final name, then renamed: a reader never sees half a component.
        partial = out.with_name(f".{key}.{os.getpid()}.partial")
        try:
            _derl.build_python_reward(str(from_file), str(partial), tool, float(timeout))
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return out


class PythonReward(TextReward):
    """Reward code in Python (written by someone else: an LLM, say) run in
    the sandbox: compiled with componentize-py into a component (cached), its
    calls under hard limits. The module defines ``reward(primitives) ->
    float`` over the extractor's primitive values, in declaration order
    (``primitives[0]`` is ``g1``), and optionally ``DESCRIPTION`` and
    ``MIN_STRIDE``.

    With ``primitives=None`` there is no extractor: :meth:`score_rows` scores
    rows of primitive values directly. ``limits`` are the reward's sandbox
    limits over :data:`PYTHON_REWARD_LIMITS`; ``extractor_limits`` the
    extractor's. Everything else as :class:`MetaReward`.
    """

    def __init__(
        self,
        source: str | os.PathLike,
        primitives: str | None = "math",
        *,
        settings: Mapping[str, Any] | None = None,
        limits: Mapping[str, Any] | None = None,
        extractor_limits: Mapping[str, Any] | None = None,
        budgets: Mapping[str, Any] | None = None,
        on_error: Any = "raise",
        reference_column: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        componentize_py: str | os.PathLike | None = None,
        build_timeout: float = 300.0,
        name: str | None = None,
    ):
        #: The compiled component.
        self.component = build_python_reward(
            source, cache_dir=cache_dir, componentize_py=componentize_py, timeout=build_timeout
        )
        reward_limits = dict(PYTHON_REWARD_LIMITS)
        if limits is not None:
            if not isinstance(limits, Mapping):
                raise TypeError(f"limits must be a dict, not a {type(limits).__name__}")
            reward_limits.update(limits)
        self._rows = None
        if primitives is None:
            self._rows = _derl.RewardCore(str(self.component), [], json.dumps(reward_limits), True)
            self._penalty = _penalty(on_error)
            self.__name__ = name or "derl_python_reward"
            self.last_errors, self.last_primitives = [], []
            return
        core = _derl.MetaRewardCore(
            str(self.component),
            os.fspath(primitives),
            _settings(settings),
            json.dumps(reward_limits),
            _json(extractor_limits, "extractor_limits"),
            _json(budgets, "budgets"),
            True,
        )
        super().__init__(core, on_error, reference_column, name or "derl_python_reward")

    def _text_reward(self) -> None:
        if self._rows is not None:
            raise TypeError("this PythonReward has no extractor (primitives=None): use score_rows(rows)")

    def __call__(self, prompts: Any = None, completions: Any = None, **kwargs: Any) -> list[float]:
        self._text_reward()
        return super().__call__(prompts, completions, **kwargs)

    def score(self, completions, references, prompts=None) -> list[float]:
        self._text_reward()
        return super().score(completions, references, prompts)

    def score_rows(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """Scores rows of primitive values (one row per episode or sample)."""
        if self._rows is None:
            raise TypeError("score_rows is for a PythonReward without an extractor (primitives=None)")
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise TypeError(f"rows must be a list of rows of numbers, not a {type(rows).__name__}")
        return self._rows.score_rows([[float(v) for v in row] for row in rows])

    def __repr__(self) -> str:
        return f"PythonReward({str(self.component)!r})"
