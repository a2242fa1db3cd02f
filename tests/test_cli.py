"""The ``samrefiner refine`` command end to end, with a checkpoint the test writes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from samrefiner_lib.cli import main
from samrefiner_lib.models import TEST_SPEC, build_sam_from_spec, save_checkpoint


@pytest.fixture()
def files(tmp_path, scene):
    img, masks = scene
    Image.fromarray(img).save(tmp_path / "img.png")
    paths = []
    for i, m in enumerate(masks):
        Image.fromarray((m * 255).astype(np.uint8)).save(tmp_path / f"coarse{i}.png")
        paths.append(str(tmp_path / f"coarse{i}.png"))
    ckpt = tmp_path / "tiny.pt"
    save_checkpoint(build_sam_from_spec(TEST_SPEC, seed=0), TEST_SPEC, ckpt)
    return tmp_path, paths, ckpt


def _args(tmp, paths, ckpt, *extra):
    out = ["refine", "--image", str(tmp / "img.png"), "--out", str(tmp / "out"),
           "--checkpoint", str(ckpt), "--model", "vit_b", "--device", "cpu"]
    for p in paths:
        out += ["--mask", p]
    return out + list(extra)


def test_refine_writes_masks_json_and_figure(files):
    tmp, paths, ckpt = files
    # A project checkpoint names its own architecture; load it without a registry name.
    args = _args(tmp, paths, ckpt, "--viz", "--preset", "reference", "--iterations", "2")
    del args[args.index("--model") : args.index("--model") + 2]
    assert main(args) == 0
    out = tmp / "out"
    for i in range(len(paths)):
        m = np.asarray(Image.open(out / f"coarse{i}_refined.png"))
        assert m.shape == (90, 120) and set(np.unique(m)) <= {0, 255}
    rec = json.loads((out / "result.json").read_text())
    assert rec["preset"] == "reference (iterations=2)"
    assert len(rec["scores"]) == 2 and len(rec["boxes"]) == 2
    assert rec["weights"]["checkpoint"] == str(ckpt) and len(rec["weights"]["checkpoint_md5"]) == 32
    assert (out / "img_viz.png").stat().st_size > 10_000


def test_refine_names_the_registered_model_everywhere(files, capsys):
    tmp, paths, _ = files
    out = tmp / "out"
    args = ["refine", "--image", str(tmp / "img.png"), "--out", str(out), "--model",
            "sam_tiny_synth", "--device", "cpu", "--mask", paths[0]]
    assert main(args) == 0
    rec = json.loads((out / "result.json").read_text())
    assert rec["model"] == "sam_tiny_synth" and rec["weights"]["name"] == "sam_tiny_synth"
    assert rec["weights"]["checkpoint"].endswith(".pt")
    captured = capsys.readouterr()
    assert "model sam_tiny_synth, preset 'paper'" in captured.out
    # Progress goes to stderr, stage by stage.
    assert "loading model sam_tiny_synth" in captured.err and "encoding the 120x90" in captured.err


def test_bad_inputs_exit_2_with_message(files, capsys):
    tmp, paths, ckpt = files
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp / "small.png")
    assert main(_args(tmp, [str(tmp / "small.png")], ckpt)) == 2
    assert "--mask[0]" in capsys.readouterr().err
    assert main(_args(tmp, paths, tmp / "missing.pt")) == 2
    assert "not found" in capsys.readouterr().err


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "samrefiner_lib.cli", "refine", "--help"],
                         capture_output=True, text=True, check=True)
    assert "--preset" in out.stdout and "--viz" in out.stdout


def test_model_name_resolves_the_default():
    import argparse

    from samrefiner_lib.cli.common import model_label, model_name
    from samrefiner_lib.models.defaults import DEFAULT_MODEL

    plain = argparse.Namespace(model=None, checkpoint=None)
    assert model_name(plain) == DEFAULT_MODEL and model_label(plain) == DEFAULT_MODEL
    own = argparse.Namespace(model=None, checkpoint="w.pt")
    assert model_name(own) is None and model_label(own) == "checkpoint (w.pt)"
