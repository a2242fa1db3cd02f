"""Scale-out over processes with ``torch.distributed``: who am I, and wait for the others.

``torchrun --nproc-per-node K -m samrefiner_lib.cli refine-dataset ...`` starts K processes with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set.
:func:`init_distributed` joins them into one process group. Only barriers are exchanged (every
rank writes its own items to the shared output folder; rank 0 merges after the last barrier), so
the group always uses the CPU ``gloo`` backend, also when the models run on GPUs. Without
``WORLD_SIZE`` (or with 1) everything runs in this process and barriers are no-ops.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist

#: How long a rank waits at a barrier for the slowest rank (shards can be uneven).
BARRIER_TIMEOUT = timedelta(hours=12)

T = TypeVar("T")


@dataclass
class DistContext:
    """This process's place in the group.

    Attributes:
      rank: 0 .. world_size - 1.
      world_size: number of processes.
      local_rank: rank on this machine (picks the GPU).
      owns_group: this context created the process group (and destroys it in :meth:`close`).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0: merges the shards and prints the summary."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait until every rank reaches this point (no-op for one process)."""
        if self.world_size > 1:
            dist.barrier()

    def sum(self, values: Sequence[int]) -> list[int]:
        """Element-wise sum of integer counts over all ranks (the values themselves for one)."""
        if self.world_size == 1:
            return [int(v) for v in values]
        t = torch.tensor([int(v) for v in values], dtype=torch.int64)
        dist.all_reduce(t)
        return [int(v) for v in t.tolist()]

    def close(self) -> None:
        """Leave the process group if this context created it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def init_distributed() -> DistContext:
    """Join the process group described by the environment, if any.

    Returns:
      DistContext: rank 0 of 1 when ``WORLD_SIZE`` is unset or 1.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world <= 1:
        return DistContext()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    owns = False
    if not dist.is_initialized():
        dist.init_process_group("gloo", init_method="env://", timeout=BARRIER_TIMEOUT)
        owns = True
    return DistContext(dist.get_rank(), dist.get_world_size(), local, owns)


def shard(items: Sequence[T], rank: int, world_size: int) -> list[T]:
    """Round-robin share of ``items`` for one rank (item i goes to rank i mod world_size).

    Round-robin rather than contiguous blocks keeps the shards balanced when item cost drifts
    along the list (e.g. image size varying by sequence).
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside 0..{world_size - 1}")
    return list(items[rank::world_size])
