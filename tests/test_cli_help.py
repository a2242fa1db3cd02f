"""Every `samrefiner` help text leads with one example, and the examples run as printed."""

from __future__ import annotations

import argparse
import json
import shlex

import numpy as np
import pytest

from samrefiner_lib.cli import EXAMPLE, build_parser, main
from samrefiner_lib.cli.demo_data import write_demo


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _example_of(parser: argparse.ArgumentParser) -> str:
    """The command under 'example:', which must come right after the usage lines."""
    text = parser.format_help()
    after_usage = text.split("\n\n", 1)[1]
    head, command = after_usage.splitlines()[:2]
    assert head == "example:", f"{parser.prog}: the help does not lead with an example"
    return command.strip()


def _all_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return {"samrefiner": parser, **_subparsers(parser)}


def test_every_help_leads_with_an_example():
    parsers = _all_parsers()
    assert {"refine", "refine-semantic", "evaluate", "refine-dataset", "adapt",
            "demo-data"} <= set(parsers)  # fmt: skip
    for name, parser in parsers.items():
        command = _example_of(parser)
        assert command.startswith("samrefiner "), name
        used = command.split("&&")[-1].split()[1]
        assert name == "samrefiner" or used == name, f"{name}'s example runs {used}"
    assert _example_of(parsers["samrefiner"]) == EXAMPLE


def test_demo_data_files_are_what_the_commands_read(tmp_path):
    from samrefiner_lib.adaption import pairs_from_list
    from samrefiner_lib.datasets import CocoInstances
    from samrefiner_lib.io import load_image, load_masks
    from samrefiner_lib.stm import load_label_map

    files = write_demo(tmp_path, seed=0, objects=3)
    image = load_image(tmp_path / files["image"])
    masks = load_masks([tmp_path / f for f in files["coarse"]], image.shape[:2])
    gts = load_masks([tmp_path / f for f in files["gt"]], image.shape[:2])
    assert image.shape == (256, 256, 3) and len(masks) == len(gts) >= 1
    for coarse, gt in zip(masks, gts, strict=True):
        iou = (coarse & gt).sum() / (coarse | gt).sum()
        assert 0.5 < iou < 0.95  # coarse, but about the object
    labels = load_label_map(tmp_path / files["labels"], shape=image.shape[:2])
    assert set(np.unique(labels)) - {0}
    assert len(pairs_from_list(tmp_path / files["pairs"])) == 1
    coco = CocoInstances(tmp_path / files["coco"], tmp_path)
    sample = coco[0]
    assert sample.gt.shape[0] == len(files["coarse"])
    assert json.loads((tmp_path / files["coco"]).read_text())["images"][0]["file_name"] == (
        "image.png"
    )
    # Deterministic: the same seed writes the same files.
    again = tmp_path / "again"
    write_demo(again, seed=0, objects=3)
    assert (again / "coarse_1.png").read_bytes() == (tmp_path / "coarse_1.png").read_bytes()


@pytest.mark.slow
def test_every_example_runs_as_printed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, parser in _all_parsers().items():
        for part in _example_of(parser).split("&&"):
            argv = shlex.split(part)
            assert argv[0] == "samrefiner"
            assert main(argv[1:]) == 0, f"{name}: `{part.strip()}` failed:\n{capsys.readouterr()}"
    assert (tmp_path / "demo" / "refined" / "coarse_1_refined.png").is_file()
    assert (tmp_path / "demo" / "adaptor.pt").is_file()
    assert (tmp_path / "synth.json").is_file()
