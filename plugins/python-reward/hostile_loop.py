"""Hostile reward: never returns. derl stops it when its fuel runs out (or
at the deadline, when fuel is plentiful)."""


def reward(primitives: list[float]) -> float:
    while True:
        pass
