"""``kiosk decode`` and ``kiosk cameras``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from kiosk.cli import cli
from kiosk.vision import synth
from kiosk.vision.sources import CameraInfo


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pictures")
    made = {
        "code": synth.make_frame("clean", 21, text="GP1:CLI"),
        "chinese": synth.make_frame("phone", 22, text="门禁通行证：李娜"),
        "empty": synth.make_frame("none", 23),
    }
    paths = {}
    for name, frame in made.items():
        paths[name] = folder / f"{name}.png"
        cv2.imwrite(str(paths[name]), frame.image)
    paths["webp"] = folder / "code.webp"
    cv2.imwrite(str(paths["webp"]), made["code"].image)
    paths["broken"] = folder / "broken.jpg"
    paths["broken"].write_bytes(b"\xff\xd8 not really a jpeg")
    return paths


def run(args: list[str], home: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_decode_json_one_object_per_image_and_errors_in_line(
    pictures: dict[str, Path], home_dir: Path
) -> None:
    args = [
        "decode",
        "--json",
        str(pictures["code"]),
        str(pictures["broken"]),
        str(home_dir / "gone.png"),
        str(pictures["chinese"]),
        str(pictures["empty"]),
        str(pictures["webp"]),
    ]
    code, out, _ = run(args, home_dir)
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [Path(line["path"]).name for line in lines] == [
        "code.png",
        "broken.jpg",
        "gone.png",
        "chinese.png",
        "empty.png",
        "code.webp",
    ]
    first = lines[0]
    assert set(first) == {"path", "codes", "ms"}
    assert first["codes"][0]["text"] == "GP1:CLI"
    corners = first["codes"][0]["corners"]
    assert len(corners) == 4 and all(len(p) == 2 for p in corners)
    assert isinstance(first["ms"], float | int) and first["ms"] > 0
    assert set(lines[1]) == {"path", "error"} and "image" in lines[1]["error"]
    assert lines[2]["error"] == "file not found"
    assert lines[3]["codes"][0]["text"] == "门禁通行证：李娜"
    assert lines[4]["codes"] == []
    assert lines[5]["codes"][0]["text"] == "GP1:CLI"
    # decoding needs no checkpoint, and must not create one
    assert not (home_dir / "gatepass.db").exists()


def test_decode_all_good_exits_0_with_readable_lines(
    pictures: dict[str, Path], home_dir: Path
) -> None:
    code, out, _ = run(["decode", str(pictures["code"]), str(pictures["empty"])], home_dir)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(str(pictures["code"])) and "GP1:CLI" in lines[0]
    assert "no code" in lines[1]


def test_decode_in_chinese(pictures: dict[str, Path], home_dir: Path) -> None:
    code, out, _ = run(["--lang", "zh_CN", "decode", str(home_dir / "gone.png")], home_dir)
    assert code == 1
    assert "找不到文件" in out


def test_decode_with_a_missing_zbar_says_so_and_goes_on(
    pictures: dict[str, Path], home_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    code, out, err = run(["decode", "--decoder", "zbar", "--json", str(pictures["code"])], home_dir)
    assert code == 0
    assert "libzbar0" in err and "zxing" in err
    assert json.loads(out)["codes"][0]["text"] == "GP1:CLI"


def test_decode_each_backend(pictures: dict[str, Path], home_dir: Path) -> None:
    for name in ("zxing", "zbar", "opencv"):
        code, out, _ = run(["decode", "--decoder", name, "--json", str(pictures["code"])], home_dir)
        assert code == 0, name
        assert json.loads(out)["codes"][0]["text"] == "GP1:CLI", name


def test_cameras_on_this_machine(home_dir: Path) -> None:
    code, out, err = run(["cameras"], home_dir)
    assert code == 0
    lines = out.splitlines()
    assert lines, err
    assert lines[0].startswith("No camera found") or all(
        line.startswith("camera ") for line in lines
    )


def test_cameras_none(home_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kiosk.cli.vision as commands

    monkeypatch.setattr(commands, "list_cameras", lambda max_index=10: [])
    code, out, _ = run(["cameras"], home_dir)
    assert code == 0
    assert out.startswith("No camera found (tried numbers 0 to 9)")


def test_cameras_listed(home_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kiosk.cli.vision as commands

    monkeypatch.setattr(
        commands,
        "list_cameras",
        lambda max_index=10: [CameraInfo(0, 1280, 720, "V4L2"), CameraInfo(2, 640, 480, "V4L2")],
    )
    code, out, _ = run(["cameras"], home_dir)
    assert code == 0
    assert out.splitlines() == ["camera 0: 1280x720 (V4L2)", "camera 2: 640x480 (V4L2)"]
