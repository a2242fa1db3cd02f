"""Registry of the public dataset files this project downloads.

Every entry says where its checksum comes from. A published checksum is used whenever one could
be found in public code or documentation (the source is named in ``checksum_source``); none was
invented. Entries with ``checksum=None`` are "trust on first use": the first complete download's
SHA-256 is printed and recorded in the data root's lock file
(:data:`samrefiner_lib.datasets.download.LOCK_NAME`) and enforced on every later run.

Sizes: ``size`` is set only where the exact byte count was found in two independent public
sources; ``approx_size`` is for people.

This module holds data only and imports nothing else of the package: the downloader
(:mod:`.download`) reads it, never the other way round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

ARCHIVE_TYPES = ("zip", "tar", "tar.gz")
"""Archive kinds an entry may declare (extracted with pooch's Unzip / Untar)."""

_ALGORITHMS = {"md5": 32, "sha256": 64}


def parse_checksum(checksum: str, where: str = "checksum") -> tuple[str, str]:
    """Split ``"algo:hex"`` into (algo, lower-case hex), validating both parts.

    Arguments:
      checksum: e.g. ``"md5:6cd6e144f989b92b3379bac3b3de84fd"``.
      where: how error messages refer to the value.

    Returns:
      tuple[str, str]: (``"md5"`` or ``"sha256"``, hex digest).
    """
    algo, sep, digest = checksum.partition(":")
    algo = algo.lower()
    digest = digest.lower()
    if not sep or algo not in _ALGORITHMS:
        raise ValueError(f"{where}: checksum must look like 'md5:<hex>' or 'sha256:<hex>'")
    if len(digest) != _ALGORITHMS[algo] or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ValueError(f"{where}: {algo} digest must be {_ALGORITHMS[algo]} hex characters")
    return algo, digest


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file of the registry.

    Arguments:
      name: registry key, e.g. ``"voc2012_trainval"``.
      urls: download URLs, tried in order (mirrors); for a manual entry, the web page to visit.
      filename: name of the downloaded file inside the data root.
      checksum: ``"md5:<hex>"`` or ``"sha256:<hex>"`` when a checksum is published, else None
        (trust on first use: the first download's SHA-256 is recorded in the lock file). The
        format is pooch's ``known_hash``.
      checksum_source: where the published checksum was found, or why there is none.
      size: exact size in bytes when known (checked before hashing), else None.
      approx_size: human-readable size for documentation, e.g. ``"778 MB"``.
      archive: ``"zip"``, ``"tar"``, ``"tar.gz"`` or None for a plain file.
      extract_to: folder (relative to the data root) to extract the archive into; ``"."`` for
        the root itself.
      manual: True when the URL is a web page that cannot be fetched by a program; the
        downloader then explains what to download and where to put it.
      description: one line on what the file holds.
      license: licence or terms of use, as stated by the source.
    """

    name: str
    urls: tuple[str, ...]
    filename: str
    checksum: str | None = None
    checksum_source: str = ""
    size: int | None = None
    approx_size: str = ""
    archive: str | None = None
    extract_to: str | None = None
    manual: bool = False
    description: str = ""
    license: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.urls, str):
            object.__setattr__(self, "urls", (self.urls,))
        if not self.urls:
            raise ValueError(f"registry entry {self.name!r}: at least one URL is required")
        if self.checksum is not None:
            parse_checksum(self.checksum, where=f"registry entry {self.name!r}")
        if self.archive is not None and self.archive not in ARCHIVE_TYPES:
            raise ValueError(
                f"registry entry {self.name!r}: archive must be one of {ARCHIVE_TYPES}, "
                f"got {self.archive!r}"
            )
        if PurePosixPath(self.filename).name != self.filename:
            raise ValueError(f"registry entry {self.name!r}: filename must be a bare file name")

    @property
    def trust_on_first_use(self) -> bool:
        """True when no checksum is published and the lock file's recorded hash is used."""
        return self.checksum is None


_TOFU = "none published (trust on first use: SHA-256 recorded in the lock file on first download)"
_RITM_RELEASE = "https://github.com/saic-vul/fbrs_interactive_segmentation/releases/download/v1.0"
_RITM_NOTE = (
    "Evaluation copy distributed by the f-BRS / RITM authors (Samsung AI Center; repository code "
    "MIT). No data licence is stated; the images come from the original dataset (see its terms). "
    "Research use only."
)
_COCO_LICENSE = (
    "COCO: annotations CC BY 4.0 (COCO Consortium); images remain under their individual Flickr "
    "licences (see cocodataset.org/#termsofuse)."
)

_ENTRIES = [
    # ---------------------------------------------------------------- PASCAL VOC 2012 + SBD
    RemoteFile(
        name="voc2012_trainval",
        urls=(
            "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
            "https://pjreddie.com/media/files/VOCtrainval_11-May-2012.tar",
        ),
        filename="VOCtrainval_11-May-2012.tar",
        checksum="md5:6cd6e144f989b92b3379bac3b3de84fd",
        checksum_source="torchvision torchvision/datasets/voc.py (DATASET_YEAR_DICT['2012'])",
        approx_size="1.9 GB",
        archive="tar",
        extract_to="voc",
        description="PASCAL VOC 2012 train/val: JPEGImages, SegmentationClass palette PNGs.",
        license=(
            "PASCAL VOC: annotations by the VOC organisers; images from Flickr under their "
            "terms of use (host.robots.ox.ac.uk/pascal/VOC/voc2012)."
        ),
    ),
    RemoteFile(
        name="sbd_benchmark",
        urls=(
            "http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/"
            "benchmark.tgz",
            "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/"
            "benchmark.tgz",
        ),
        filename="benchmark.tgz",
        checksum="md5:82b4d87ceb2ed10f6038a1cba92111cb",
        checksum_source="torchvision torchvision/datasets/sbd.py (SBDataset.md5)",
        approx_size="1.4 GB",
        archive="tar.gz",
        extract_to="sbd",
        description="Semantic Boundaries Dataset (Hariharan et al. 2011): cls/*.mat for VOC aug.",
        license="SBD: research use; see home.bharathh.info/pubs/codes/SBD/download.html.",
    ),
    RemoteFile(
        name="sbd_train_noval",
        urls=("http://home.bharathh.info/pubs/codes/SBD/train_noval.txt",),
        filename="train_noval.txt",
        checksum="md5:79bff800c5f0b1ec6b21080a3c066722",
        checksum_source="torchvision torchvision/datasets/sbd.py (SBDataset.voc_split_md5)",
        approx_size="60 KB",
        description="SBD train images that are not in VOC 2012 segmentation val.",
        license="SBD: research use.",
    ),
    # ---------------------------------------------------------------- COCO 2017
    RemoteFile(
        name="coco2017_val_images",
        urls=("http://images.cocodataset.org/zips/val2017.zip",),
        filename="val2017.zip",
        checksum="md5:442b8da7639aecaf257c1dceb8ba8c80",
        checksum_source=(
            "PaddleDetection ppdet tests (COCO_VAL_MD5SUM), ContinualAI avalanche "
            "lvis_dataset/lvis_data.py, mlcommons/cm COCO scripts (all agree)"
        ),
        size=815585330,
        approx_size="778 MB",
        archive="zip",
        extract_to="coco",
        description="COCO val2017 images (5,000).",
        license=_COCO_LICENSE,
    ),
    RemoteFile(
        name="coco2017_train_images",
        urls=("http://images.cocodataset.org/zips/train2017.zip",),
        filename="train2017.zip",
        checksum="md5:cced6f7f71b7629ddf16f17bbcfab6b2",
        checksum_source=(
            "ContinualAI avalanche lvis_dataset/lvis_data.py, mlcommons COCO checksum.md5sum "
            "(agree)"
        ),
        approx_size="18 GB",
        archive="zip",
        extract_to="coco",
        description="COCO train2017 images (118,287); only needed with --use-zip for train5K.",
        license=_COCO_LICENSE,
    ),
    RemoteFile(
        name="coco2017_annotations",
        urls=("http://images.cocodataset.org/annotations/annotations_trainval2017.zip",),
        filename="annotations_trainval2017.zip",
        checksum="md5:f4bbac642086de4f52a3fdda2de5fa2c",
        checksum_source=(
            "PaddleDetection ppdet tests (COCO_ANNO_MD5SUM), mlcommons COCO checksum.md5sum, "
            "torch for R (agree)"
        ),
        size=252907541,
        approx_size="241 MB",
        archive="zip",
        extract_to="coco",
        description="COCO 2017 train/val annotations (instances_*.json with polygons and RLE).",
        license=_COCO_LICENSE,
    ),
    # ---------------------------------------------------------------- LVIS v1
    RemoteFile(
        name="lvis_v1_val",
        urls=(
            "https://dl.fbaipublicfiles.com/LVIS/lvis_v1_val.json.zip",
            "https://s3-us-west-2.amazonaws.com/dl.fbaipublicfiles.com/LVIS/lvis_v1_val.json.zip",
        ),
        filename="lvis_v1_val.json.zip",
        checksum="md5:87734a7f895990b9552075d7ce723e27",
        checksum_source="ContinualAI avalanche benchmarks/datasets/lvis_dataset/lvis_data.py",
        approx_size="tens of MB zipped; 201 MB unpacked",
        archive="zip",
        extract_to="lvis",
        description="LVIS v1 val annotations (19,809 images of COCO 2017 train+val).",
        license="LVIS annotations: CC BY 4.0 (lvisdataset.org); images: COCO terms.",
    ),
    RemoteFile(
        name="lvis_coco_to_synset",
        urls=(
            "https://raw.githubusercontent.com/lvis-dataset/lvis-api/"
            "59899d3a0591df4e422e9668c1171c7971359339/data/coco_to_synset.json",
        ),
        filename="coco_to_synset.json",
        checksum=None,
        checksum_source=_TOFU,
        approx_size="10 KB",
        description=(
            "Official LVIS mapping of the 80 COCO categories to LVIS synsets, used to build the "
            "'cocofied' LVIS annotations (pinned to an lvis-api commit)."
        ),
        license="lvis-api repository, MIT licence.",
    ),
    # ---------------------------------------------------------------- interactive segmentation
    RemoteFile(
        name="grabcut",
        urls=(f"{_RITM_RELEASE}/GrabCut.zip",),
        filename="GrabCut.zip",
        checksum=None,
        checksum_source=_TOFU,
        approx_size="11 MB",
        archive="zip",
        extract_to=".",
        description="GrabCut, 50 images: data_GT/ images, boundary_GT/ masks (128 = ignore band).",
        license=_RITM_NOTE + " GrabCut: Rother et al. 2004, Microsoft Research Cambridge.",
    ),
    RemoteFile(
        name="berkeley",
        urls=(f"{_RITM_RELEASE}/Berkeley.zip",),
        filename="Berkeley.zip",
        checksum=None,
        checksum_source=_TOFU,
        approx_size="7 MB",
        archive="zip",
        extract_to=".",
        description="Berkeley (McGuinness & O'Connor), 96 images, 100 instances: images/, masks/.",
        license=_RITM_NOTE + " Images from BSDS (non-commercial research and education use).",
    ),
    RemoteFile(
        name="davis345",
        urls=(f"{_RITM_RELEASE}/DAVIS.zip",),
        filename="DAVIS.zip",
        checksum=None,
        checksum_source=_TOFU,
        approx_size="43 MB",
        archive="zip",
        extract_to=".",
        description="DAVIS-345 interactive set: 345 frames of DAVIS 2016, img/ and gt/.",
        license=_RITM_NOTE + " DAVIS: CC BY-NC (davischallenge.org).",
    ),
    RemoteFile(
        name="coco_mval",
        urls=(f"{_RITM_RELEASE}/COCO_MVal.zip",),
        filename="COCO_MVal.zip",
        checksum=None,
        checksum_source=_TOFU,
        approx_size="127 MB",
        archive="zip",
        extract_to=".",
        description="COCO MVal, 800 instances (10 per category) of COCO val2017: img/, gt/.",
        license=_RITM_NOTE + " " + _COCO_LICENSE,
    ),
    # ---------------------------------------------------------------- DAVIS-585
    RemoteFile(
        name="davis585",
        urls=("https://drive.google.com/drive/folders/1XzUlpPqbzAyMt009HVpEeW31ln1FeXfX",),
        filename="DAVIS585.zip",
        checksum=None,
        checksum_source=_TOFU + "; the archive is only offered in a shared Google Drive folder",
        approx_size="size not stated by the source",
        archive="zip",
        extract_to="davis585_raw",
        manual=True,
        description=(
            "DAVIS-585 (FocalClick, CVPR 2022; ClickSEG release): 585 DAVIS frames with GT and "
            "simulated initial masks init_sp_*.png / init_stm_*.png."
        ),
        license="ClickSEG code MIT; the data derives from DAVIS (CC BY-NC). Research use.",
    ),
]

REGISTRY: dict[str, RemoteFile] = {e.name: e for e in _ENTRIES}
"""All downloadable files, by name."""

DATASET_FILES: dict[str, tuple[str, ...]] = {
    "davis585": ("davis585",),
    "coco_val": ("coco2017_annotations", "coco2017_val_images"),
    "coco_train5k": ("coco2017_annotations",),
    "lvis_cocofied": ("lvis_v1_val", "lvis_coco_to_synset"),
    "voc": ("voc2012_trainval",),
    "voc_sbd": ("voc2012_trainval", "sbd_benchmark", "sbd_train_noval"),
    "grabcut": ("grabcut",),
    "berkeley": ("berkeley",),
    "davis345": ("davis345",),
    "coco_mval": ("coco_mval",),
}
"""Which registry files each dataset needs (the train5K images are fetched one by one)."""


def checksum_table() -> list[dict[str, str]]:
    """One row per registry file: name, URL, checksum (or policy) and where it comes from.

    Returns:
      list[dict[str, str]]: rows with keys name, url, checksum, source, size.
    """
    return [
        {
            "name": e.name,
            "url": e.urls[0],
            "checksum": e.checksum or "trust on first use",
            "source": e.checksum_source,
            "size": e.approx_size,
        }
        for e in _ENTRIES
    ]
