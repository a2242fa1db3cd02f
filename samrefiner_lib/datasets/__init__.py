"""Datasets: checksummed downloads, preparation steps, and loaders yielding uniform samples.

* :mod:`.registry` / :mod:`.download`: the files to download (with their checksums) and the
  resumable, verified downloads on pooch.
* :mod:`.prepare`: the per-dataset download-and-prepare steps behind ``data_scripts/``.
* Loaders, each yielding :class:`Sample` (image HxWx3 uint8, gt NxHxW bool, coarse MxHxW bool,
  ignore HxW bool, name, meta): :class:`Davis585`, :class:`CocoInstances`,
  :class:`VocSemantic`, :class:`InteractiveFolder` (GrabCut, Berkeley, DAVIS-345, COCO MVal),
  and :func:`load_real_pairs` for the real pairs shipped beside the project.
"""

from .coco import CocoInstances, load_detections, select_coco_subset, write_coco_subset
from .davis585 import Davis585, find_davis585_root
from .download import (
    LOCK_NAME,
    ChecksumError,
    ChecksumLock,
    DownloadError,
    DownloadUnavailableError,
    ManualDownloadRequired,
    UnsafeArchiveError,
    download_file,
    extract_archive,
    fetch,
    verify_file,
)
from .interactive import (
    LAYOUTS,
    InteractiveFolder,
    berkeley,
    coco_mval,
    davis345,
    find_dataset_folder,
    grabcut,
)
from .lvis import cocofy_lvis
from .real import RealDataMissingWarning, RealPairs, default_real_root, load_real_pairs
from .registry import DATASET_FILES, REGISTRY, RemoteFile, checksum_table
from .sample import DatasetError, Sample, SampleError
from .voc import (
    VOC_CLASSES,
    VocSemantic,
    labels_to_masks,
    masks_to_labels,
    prepare_voc_trainaug,
    voc_palette,
    write_label_png,
)

__all__ = [
    "DATASET_FILES",
    "LAYOUTS",
    "LOCK_NAME",
    "REGISTRY",
    "VOC_CLASSES",
    "ChecksumError",
    "ChecksumLock",
    "CocoInstances",
    "DatasetError",
    "Davis585",
    "DownloadError",
    "DownloadUnavailableError",
    "InteractiveFolder",
    "ManualDownloadRequired",
    "RealDataMissingWarning",
    "RealPairs",
    "RemoteFile",
    "Sample",
    "SampleError",
    "UnsafeArchiveError",
    "VocSemantic",
    "berkeley",
    "checksum_table",
    "coco_mval",
    "cocofy_lvis",
    "davis345",
    "default_real_root",
    "download_file",
    "extract_archive",
    "fetch",
    "find_dataset_folder",
    "find_davis585_root",
    "grabcut",
    "labels_to_masks",
    "load_detections",
    "load_real_pairs",
    "masks_to_labels",
    "prepare_voc_trainaug",
    "select_coco_subset",
    "verify_file",
    "voc_palette",
    "write_coco_subset",
    "write_label_png",
]
