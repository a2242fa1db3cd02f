"""Dataset-scale refinement: resumable, failure-tolerant, shardable over ``torchrun`` ranks.

* :func:`run_job` (:mod:`.engine`): runs a job's items, skipping finished ones, logging and
  skipping failing ones, and merging every finished item on rank 0 at the end.
* Jobs: :class:`CocoRefineJob` (COCO detections or annotations -> refined RLE results),
  :class:`Davis585RefineJob` (initial masks -> refined mask PNGs), :class:`VocRefineJob` (coarse
  label maps -> refined label PNGs).
* :func:`init_distributed` / :class:`DistContext`: process-group setup from ``torchrun``'s
  environment; :func:`shard` is the round-robin split.
"""

from .atomic import write_bytes_atomic, write_json_atomic
from .coco_job import SCORE_MODES, CocoRefineJob
from .davis_job import Davis585RefineJob
from .distributed import DistContext, init_distributed, shard
from .engine import FAILURES, MANIFEST, Job, OutputFolderMismatch, RunSummary, marker_name, run_job
from .refine_fns import instance_refine, label_map_refine
from .voc_job import VocRefineJob

__all__ = [
    "FAILURES",
    "MANIFEST",
    "SCORE_MODES",
    "CocoRefineJob",
    "Davis585RefineJob",
    "DistContext",
    "Job",
    "OutputFolderMismatch",
    "RunSummary",
    "VocRefineJob",
    "init_distributed",
    "instance_refine",
    "label_map_refine",
    "marker_name",
    "run_job",
    "shard",
    "write_bytes_atomic",
    "write_json_atomic",
]
