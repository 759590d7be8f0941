"""Hostile reward: builds a list of 10**8 entries (400 MB of pointers on
wasm32), beyond the memory cap of Python rewards. derl stops it when it asks
for more memory than the cap."""


def reward(primitives: list[float]) -> float:
    hoard = [primitives[0]] * 10**8
    return float(len(hoard))
