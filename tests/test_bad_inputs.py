"""Bad input and unusual environments: every command and loader fails early with a message that
names the input and what was expected, and never writes a silently wrong result.

One section per class of problem: output locations, devices, very large images, palette and
colour masks, repeated mask file names, malformed COCO segmentations, VOC labels out of range.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from samrefiner_lib import InputError, load_image, load_masks
from samrefiner_lib import devices as devices_module
from samrefiner_lib.cli import build_parser, main
from samrefiner_lib.cli.refine import output_names
from samrefiner_lib.datasets import (
    CocoInstances,
    DatasetError,
    VocSemantic,
    voc_palette,
    write_label_png,
)
from samrefiner_lib.datasets.readers import read_gray, read_rgb
from samrefiner_lib.datasets.sample import Sample
from samrefiner_lib.devices import resolve_device
from samrefiner_lib.evaluation.semantic_maps import evaluate_semantic
from samrefiner_lib.io import MAX_PIXELS_ENV, check_output_file, check_output_folder
from samrefiner_lib.metrics import coco_mask_ap

from .test_evaluate_cli import make_scene, write_coco, write_voc

# --------------------------------------------------------------------------- helpers


def _palette_png(indices: np.ndarray, path: Path, colours: dict[int, tuple[int, int, int]]
                 ) -> Path:
    """Write an HxW index array as a palette PNG whose listed indices get the given colours."""
    pal = np.zeros((256, 3), np.uint8)
    for i, c in colours.items():
        pal[i] = c
    img = Image.fromarray(indices.astype(np.uint8), mode="P")
    img.putpalette(pal.reshape(-1).tolist())
    img.save(path)
    return path


def _object(h: int = 90, w: int = 120) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[20:60, 30:80] = True
    return m


@pytest.fixture()
def one_image(tmp_path, scene):
    """An image, two coarse 0/255 masks of it and the tiny checkpoint, on disk."""
    img, masks = scene
    Image.fromarray(img).save(tmp_path / "img.png")
    paths = []
    for i, m in enumerate(masks):
        p = tmp_path / f"coarse{i}.png"
        Image.fromarray((m * 255).astype(np.uint8)).save(p)
        paths.append(p)
    return tmp_path, paths


def _refine_args(tmp: Path, masks: list[Path], out: Path, ckpt: Path, *extra: str) -> list[str]:
    args = ["refine", "--image", str(tmp / "img.png"), "--out", str(out),
            "--checkpoint", str(ckpt), "--device", "cpu"]
    for m in masks:
        args += ["--mask", str(m)]
    return args + list(extra)


# Arguments that parse for every writing command; none of the inputs exist, so an output
# location error proves the location was checked before any input was read.
def _command(name: str, tmp: Path, out: Path) -> list[str]:
    missing = str(tmp / "missing")
    return {
        "refine": ["refine", "--image", missing, "--mask", missing, "--out", str(out)],
        "refine-semantic": ["refine-semantic", "--image", missing, "--labels", missing,
                            "--out", str(out)],
        "evaluate": ["evaluate", "--dataset", "grabcut", "--root", missing, "--out", str(out)],
        "refine-dataset": ["refine-dataset", "--dataset", "davis585", "--root", missing,
                           "--out", str(out)],
        "adapt": ["adapt", "--images", missing, "--masks", missing, "--out", str(out)],
    }[name]


FOLDER_COMMANDS = ("refine", "refine-semantic", "refine-dataset")
FILE_COMMANDS = {"evaluate": "res.json", "adapt": "adaptor.pt"}
ALL_COMMANDS = (*FOLDER_COMMANDS, *FILE_COMMANDS)


# --------------------------------------------------------------------------- 1. output locations


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_output_folder_that_is_a_file_is_refused_first(tmp_path, command, capsys):
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    assert main(_command(command, tmp_path, taken)) == 2
    err = capsys.readouterr().err
    assert "--out" in err and str(taken) in err and "not a folder" in err
    assert taken.read_text() == "not a folder"


def test_refine_into_an_existing_file_with_real_inputs(one_image, ckpt, capsys):
    tmp, paths = one_image
    taken = tmp / "out"
    taken.write_text("x")
    assert main(_refine_args(tmp, paths, taken, ckpt)) == 2
    assert f"--out: {taken} exists and is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_output_below_a_regular_file_is_refused_first(tmp_path, command, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    name = FILE_COMMANDS.get(command, "out")
    out = blocker / "sub" / name
    assert main(_command(command, tmp_path, out)) == 2
    err = capsys.readouterr().err
    assert "--out" in err and f"{blocker} is a file, not a folder" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_unwritable_output_folder_is_refused_first(tmp_path, command, monkeypatch, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: (
        False if Path(p) == locked else real_access(p, mode, *a, **k)))
    out = locked / FILE_COMMANDS.get(command, "out")
    assert main(_command(command, tmp_path, out)) == 2
    err = capsys.readouterr().err
    assert "--out" in err and f"{locked} is not writable" in err
    assert not out.exists()


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_output_file_that_is_a_folder_is_refused(tmp_path, command, capsys):
    folder = tmp_path / FILE_COMMANDS[command]
    folder.mkdir()
    assert main(_command(command, tmp_path, folder)) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "is a folder; expected the name of a file" in err


def test_secondary_outputs_are_checked_too(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    args = _command("evaluate", tmp_path, tmp_path / "res.csv")
    assert main([*args, "--per-object", str(blocker / "objects.csv")]) == 2
    assert "--per-object" in capsys.readouterr().err
    assert main([*args, "--per-object", str(tmp_path / "res.csv")]) == 2
    err = capsys.readouterr().err
    assert "--per-object" in err and "also the --out file" in err
    adapt = _command("adapt", tmp_path, tmp_path / "a.pt")
    assert main([*adapt, "--log", str(blocker / "log.csv")]) == 2
    assert "--log" in capsys.readouterr().err
    assert main([*adapt, "--log", str(tmp_path / "a.pt")]) == 2
    err = capsys.readouterr().err
    assert "--log" in err and "also the --out file" in err


def test_output_checks_accept_usable_locations(tmp_path):
    assert check_output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert check_output_folder(tmp_path) == tmp_path
    (tmp_path / "old.json").write_text("{}")
    assert check_output_file(tmp_path / "old.json") == tmp_path / "old.json"  # replaced
    assert check_output_file(tmp_path / "new" / "r.json") == tmp_path / "new" / "r.json"
    assert not (tmp_path / "new").exists()  # checking creates nothing


# --------------------------------------------------------------------------- 2. devices


def _no_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(devices_module, "_mps_available", lambda: False)


def test_device_strings_are_checked_against_this_machine(monkeypatch):
    _no_accelerators(monkeypatch)
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu"
    assert resolve_device("CPU") == "cpu"
    with pytest.raises(InputError, match=r"--device: 'tpu9' is not a device.*has: cpu\)"):
        resolve_device("tpu9", "--device")
    with pytest.raises(InputError, match=r"--device: cannot use 'cuda'.*no usable CUDA.*cpu"):
        resolve_device("cuda", "--device")
    with pytest.raises(InputError, match="MPS"):
        resolve_device("mps", "--device")
    with pytest.raises(InputError, match="not supported"):
        resolve_device("meta", "--device")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    _no_accelerators(monkeypatch)
    monkeypatch.setattr(devices_module, "_mps_available", lambda: True)
    assert resolve_device("auto") == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "Fake GPU")
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(InputError, match=r"CUDA device 3 does not exist.*cuda:0 \(Fake GPU\)"):
        resolve_device("cuda:3", "--device")


def test_cli_device_default_is_auto():
    args = build_parser().parse_args(["refine", "--image", "i", "--mask", "m", "--out", "o"])
    assert args.device == "auto"
    assert "auto" in build_parser()._subparsers._group_actions[0].choices[
        "evaluate"].format_help()


@pytest.mark.parametrize("command", ALL_COMMANDS)
@pytest.mark.parametrize("device", ["tpu9", "cuda"])
def test_cli_refuses_unusable_devices_before_work(tmp_path, command, device, monkeypatch,
                                                  capsys):
    _no_accelerators(monkeypatch)
    out = tmp_path / FILE_COMMANDS.get(command, "out")
    assert main([*_command(command, tmp_path, out), "--device", device]) == 2
    err = capsys.readouterr().err
    assert "--device" in err and "this machine has: cpu" in err and "Traceback" not in err
    assert not out.exists()


def test_refine_with_auto_device_runs(one_image, ckpt):
    tmp, paths = one_image
    args = _refine_args(tmp, paths, tmp / "out", ckpt)
    args[args.index("--device") + 1] = "auto"
    assert main(args) == 0


# --------------------------------------------------------------------------- 3. large images


def _small_png(path: Path, w: int = 20, h: int = 10) -> Path:
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(path)
    return path


def test_image_above_the_pixel_limit_names_file_and_size(tmp_path, monkeypatch):
    p = _small_png(tmp_path / "big.png")
    monkeypatch.setenv(MAX_PIXELS_ENV, "100")
    with pytest.raises(InputError, match=r"image: .*big\.png is 20x10 \(WxH\) = 200 pixels.*"
                                         r"limit of 100.*SAMREFINER_MAX_IMAGE_PIXELS=200"):
        load_image(p)
    with pytest.raises(DatasetError, match="big.png is 20x10"):
        read_rgb(p)
    monkeypatch.setenv(MAX_PIXELS_ENV, "200")
    assert load_image(p).shape == (10, 20, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, "none")
    assert load_image(p).shape == (10, 20, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(InputError, match="SAMREFINER_MAX_IMAGE_PIXELS: expected a positive"):
        load_image(p)


def test_pillow_bomb_limit_gives_input_error_or_is_lifted_on_purpose(tmp_path, monkeypatch):
    p = _small_png(tmp_path / "bomb.png")
    # A 200-pixel image is a "bomb" to Pillow with this limit (it refuses above 2 x 50).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)
    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)
    with pytest.raises(InputError, match=r"bomb\.png is 20x10.*limit of 100 pixels"):
        load_image(p)
    with pytest.raises(InputError, match="bomb.png is 20x10"):
        load_masks(p)
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    assert load_image(p).shape == (10, 20, 3)
    assert Image.MAX_IMAGE_PIXELS == 50  # Pillow's own setting is left as it was


def test_cli_flag_sets_the_limit_for_one_run(one_image, ckpt, monkeypatch, capsys):
    tmp, paths = one_image
    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)
    args = _refine_args(tmp, paths, tmp / "out", ckpt)
    assert main([*args, "--max-image-pixels", "1000"]) == 2
    err = capsys.readouterr().err
    assert "--image" in err and "img.png is 120x90" in err and "10,800 pixels" in err
    assert MAX_PIXELS_ENV not in os.environ  # restored after the command
    assert main([*args, "--max-image-pixels", "-5"]) == 2
    assert "--max-image-pixels: expected a positive" in capsys.readouterr().err
    assert main([*args, "--max-image-pixels", "none"]) == 0


# --------------------------------------------------------------------------- 4. palette masks


def test_palette_mask_is_read_by_index_not_colour(tmp_path):
    m = _object()
    green = _palette_png(m.astype(np.uint8), tmp_path / "green.png", {1: (0, 255, 0)})
    assert np.array_equal(load_masks(green)[0], m)
    voc = _palette_png(m.astype(np.uint8) * 15, tmp_path / "person.png",
                       {i: tuple(c) for i, c in enumerate(voc_palette())})
    assert np.array_equal(load_masks(voc)[0], m)
    # The same rule for PIL images in memory and for the dataset readers.
    assert np.array_equal(load_masks(Image.open(green))[0], m)
    dark_red = _palette_png(m.astype(np.uint8), tmp_path / "dark.png", {1: (128, 0, 0)})
    assert np.array_equal(read_gray(dark_red) > 128, m)  # luminance 38 read as empty before


def test_palette_label_map_is_refused_quoting_indices(tmp_path):
    labels = np.zeros((90, 120), np.uint8)
    labels[20:60, 30:80] = 15
    labels[20:60, 28:30] = 255  # VOC void band
    labels[70:80, 10:20] = 3
    path = _palette_png(labels, tmp_path / "voc.png",
                        {i: tuple(c) for i, c in enumerate(voc_palette())})
    with pytest.raises(InputError) as info:
        load_masks(path, name="--mask")
    msg = str(info.value)
    assert "--mask[0]" in msg and "voc.png" in msg and "[0, 3, 15, 255]" in msg
    assert "(192, 128, 128)" not in msg and "224" not in msg  # indices, not colours
    assert "refine-semantic" in msg
    with pytest.raises(DatasetError, match=r"\[0, 3, 15, 255\]"):
        read_gray(path)


def test_palette_that_contradicts_the_index_rule_is_refused(tmp_path):
    path = _palette_png(_object().astype(np.uint8), tmp_path / "inverted.png",
                        {0: (255, 255, 255), 1: (0, 0, 0)})
    with pytest.raises(InputError, match="read inverted"):
        load_masks(path)


def test_colour_masks_black_plus_one_colour_or_refused(tmp_path):
    m = _object()
    rgb = np.zeros((90, 120, 3), np.uint8)
    rgb[m] = (0, 200, 0)
    Image.fromarray(rgb).save(tmp_path / "green_rgb.png")
    assert np.array_equal(load_masks(tmp_path / "green_rgb.png")[0], m)
    rgb[:5, :5] = (0, 0, 255)
    Image.fromarray(rgb).save(tmp_path / "two.png")
    with pytest.raises(InputError, match=r"colour mask with 3 colours.*\(0, 0, 0\)"):
        load_masks(tmp_path / "two.png")
    gray = np.repeat((m * 255).astype(np.uint8)[..., None], 3, axis=2)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    assert np.array_equal(load_masks(tmp_path / "gray.png")[0], m)


def test_cli_refines_a_green_palette_mask(one_image, ckpt, scene):
    tmp, _ = one_image
    _, masks = scene
    green = _palette_png(masks[0].astype(np.uint8), tmp / "green.png", {1: (0, 255, 0)})
    assert main(_refine_args(tmp, [green], tmp / "out", ckpt)) == 0
    rec = json.loads((tmp / "out" / "result.json").read_text())
    assert rec["scores"][0] is not None and rec["selected"][0] >= 0  # not skipped as empty


# --------------------------------------------------------------------------- 5. repeated names


def test_masks_with_the_same_file_name_get_their_own_outputs(one_image, ckpt):
    tmp, paths = one_image
    for sub, src in (("a", paths[0]), ("b", paths[1])):
        (tmp / sub).mkdir()
        (tmp / sub / "obj.png").write_bytes(src.read_bytes())
    masks = [tmp / "a" / "obj.png", tmp / "b" / "obj.png", paths[0]]
    out = tmp / "out"
    assert main(_refine_args(tmp, masks, out, ckpt)) == 0
    rec = json.loads((out / "result.json").read_text())
    assert rec["refined"] == [str(out / "obj_0_refined.png"), str(out / "obj_1_refined.png"),
                              str(out / "coarse0_refined.png")]
    assert [(o["mask"], o["refined"]) for o in rec["outputs"]] == list(
        zip([str(m) for m in masks], rec["refined"], strict=True))
    assert all(Path(f).is_file() for f in rec["refined"])


def test_output_names_stay_distinct_or_refuse():
    assert output_names(["x.png", "y.png"]) == ["x_refined.png", "y_refined.png"]
    assert output_names(["m.png", "m.png"]) == ["m_0_refined.png", "m_1_refined.png"]
    assert output_names(["a/Obj.png", "b/obj.png"]) == ["Obj_0_refined.png", "obj_1_refined.png"]
    with pytest.raises(InputError, match="same output name.*x_0_refined.png"):
        output_names(["a/x.png", "b/x.png", "x_0.png"])


# --------------------------------------------------------------------------- 6. COCO polygons


@pytest.mark.parametrize("polygon, problem", [
    ([1, 2, 30, 4, 10], "polygon 0 has 5 numbers"),
    ([1, 2, 30, 4, 10, 20, 5], "polygon 0 has 7 numbers"),
    ([1, 2, 30, 4], "polygon 0 has 4 numbers"),
])
def test_malformed_annotation_polygons_are_named_on_load(tmp_path, polygon, problem):
    paths = write_coco(tmp_path / "coco", n=2)
    data = json.loads(paths["ann"].read_text())
    ann = data["annotations"][2]
    ann["segmentation"] = [[0, 0, 10, 0, 10, 10], polygon]
    paths["ann"].write_text(json.dumps(data))
    with pytest.raises(DatasetError) as info:
        CocoInstances(paths["ann"], paths["images"])
    msg = str(info.value)
    assert str(paths["ann"]) in msg and f"annotation id {ann['id']}" in msg
    assert f"image id {ann['image_id']}" in msg and problem.replace("0", "1", 1) in msg
    with pytest.raises(ValueError, match=f"annotation id {ann['id']}"):
        coco_mask_ap(data, [])


def test_malformed_detection_polygon_names_entry_image_and_file(tmp_path):
    paths = write_coco(tmp_path / "coco", n=2)
    dets = json.loads(paths["dets"].read_text())
    dets[3]["segmentation"] = [[5, 5, 20, 5, 20]]
    paths["dets"].write_text(json.dumps(dets))
    with pytest.raises(DatasetError, match=rf"{paths['dets'].name}: entry 3 \(image id "
                                           rf"{dets[3]['image_id']}\).*5 numbers"):
        CocoInstances(paths["ann"], paths["images"], paths["dets"])


def test_evaluate_and_refine_dataset_name_the_bad_annotation(tmp_path, ckpt, capsys):
    paths = write_coco(tmp_path / "coco", n=2)
    data = json.loads(paths["ann"].read_text())
    data["annotations"][0]["segmentation"] = [[1, 2, 30, 4, 10]]
    paths["ann"].write_text(json.dumps(data))
    common = ["--ann-file", str(paths["ann"]), "--image-dir", str(paths["images"]),
              "--checkpoint", str(ckpt), "--device", "cpu", "--no-progress"]
    assert main(["evaluate", "--dataset", "coco", "--detections", str(paths["dets"]),
                 "--out", str(tmp_path / "r.json"), *common]) == 2
    err = capsys.readouterr().err
    assert "annotation id 1 (image id 1)" in err and str(paths["ann"]) in err
    assert "input type is not supported" not in err
    out = tmp_path / "refined"
    assert main(["refine-dataset", "--dataset", "coco", "--out", str(out), *common]) == 2
    err = capsys.readouterr().err
    assert "annotation id 1 (image id 1)" in err and "5 numbers" in err
    assert not (out / "refined_results.json").exists()


# --------------------------------------------------------------------------- 7. VOC labels


def _with_label(path: Path, value: int) -> None:
    labels = np.asarray(Image.open(path)).copy()
    labels[10:14, 10:14] = value
    write_label_png(labels, path)


@pytest.mark.parametrize("which", ["coarse", "ground-truth"])
def test_voc_labels_out_of_range_name_file_value_and_input(tmp_path, which, capsys):
    paths = write_voc(tmp_path / "voc", n=2)
    folder = paths["coarse"] if which == "coarse" else paths["root"] / "SegmentationClass"
    bad = folder / "2007_000001.png"
    _with_label(bad, 30)
    assert main(["evaluate", "--dataset", "voc", "--root", str(paths["root"]), "--coarse-dir",
                 str(paths["coarse"]), "--methods", "morph-open", "--out",
                 str(tmp_path / "voc.json"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{which} label map {bad}" in err and "30" in err and "0...20" in err
    with pytest.raises(DatasetError, match=f"{which} label map"):
        VocSemantic(paths["root"], "val", coarse_dir=paths["coarse"])[1]


def test_evaluate_semantic_names_the_input_of_an_out_of_range_label():
    img, masks = make_scene(0)
    gt = np.zeros(img.shape[:2], np.uint8)
    coarse = gt.copy()
    coarse[masks[0]] = 30
    sample = Sample(image=img, gt=None, coarse=None, ignore=None, name="in-memory",
                    meta={"label_map": gt, "coarse_label_map": coarse})
    with pytest.raises(ValueError, match=r"image 'in-memory': the coarse label map holds class "
                                         r"indices 30, outside 0\.\.20"):
        evaluate_semantic([sample], {}, progress=False)
