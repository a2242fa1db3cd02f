"""Fixed, disjoint seed splits.

A scene is a pure function of (generator, seed, size, style), so a split is just a seed range:

- ``train``: seeds 0 .. 9_999_999
- ``val``:   seeds 10_000_000 .. 19_999_999
- ``test``:  seeds 20_000_000 .. 29_999_999

Training code takes its seeds from ``split_seeds("train", ...)`` only; ``split_of`` tells which
split a seed belongs to, so data loaders can assert that they never touch val/test scenes.
"""

from __future__ import annotations

SPLIT_SIZE = 10_000_000

SPLITS: dict[str, range] = {
    "train": range(0, SPLIT_SIZE),
    "val": range(SPLIT_SIZE, 2 * SPLIT_SIZE),
    "test": range(2 * SPLIT_SIZE, 3 * SPLIT_SIZE),
}


def split_seeds(split: str, n: int, start: int = 0) -> list[int]:
    """The seeds ``start .. start + n - 1`` (counted from the beginning) of a split.

    Arguments:
      split: "train", "val" or "test".
      n: how many seeds (>= 0).
      start: offset inside the split (>= 0), e.g. to take disjoint chunks.

    Returns:
      list[int]: n consecutive seeds, all inside the split.

    Raises:
      ValueError: for an unknown split, a negative n/start, or a request past the split's end.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
    if n < 0 or start < 0:
        raise ValueError(f"n and start must be >= 0, got n={n}, start={start}")
    seeds = SPLITS[split]
    if start + n > len(seeds):
        raise ValueError(f"split {split!r} has {len(seeds)} seeds; asked for {start}..{start + n}")
    return list(seeds[start : start + n])


def split_of(seed: int) -> str:
    """The split a seed belongs to.

    Arguments:
      seed: a scene seed.

    Returns:
      str: "train", "val" or "test".

    Raises:
      ValueError: if the seed lies in no split.
    """
    for name, seeds in SPLITS.items():
        if seed in seeds:
            return name
    raise ValueError(f"seed {seed} is in no split")
