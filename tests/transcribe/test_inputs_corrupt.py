"""Every decoding error of every input format is one line naming the file, exit 2, no traceback;
``--person`` beyond the people present is an error (issue 15)."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest

from helpers import run_cli


def _npz(path, **arrays):
    np.savez_compressed(path, **arrays)
    return path


def _flip_payload(path, out):
    """Corrupt the deflate stream of the first member after its npy header (CRC / zlib error on read)."""
    b = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.infolist()[0]
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        end = start + info.compress_size
    for i in range(max(start + 200, end - 300), end - 20):
        b[i] ^= 0x5A
    out.write_bytes(bytes(b))
    return out


def _make(tmp_path, kind):
    kp = np.random.default_rng(0).random((60, 22, 3)).astype(np.float32)
    good = _npz(tmp_path / "good.npz", keypoint=kp)
    if kind == "npz: corrupt payload":
        return _flip_payload(good, tmp_path / "x.npz")
    if kind == "npz: truncated":
        p = tmp_path / "x.npz"
        p.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
        return p
    if kind == "npz: corrupt npy header":
        b = bytearray(good.read_bytes())
        with zipfile.ZipFile(good) as z:
            info = z.infolist()[0]
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        for i in range(start + 2, start + 40):
            b[i] ^= 0xFF
        p = tmp_path / "x.npz"
        p.write_bytes(bytes(b))
        return p
    if kind == "npz: not a zip":
        p = tmp_path / "x.npz"
        p.write_bytes(b"hello, not a zip file")
        return p
    if kind == "npy: garbage":
        p = tmp_path / "x.npy"
        p.write_bytes(b"\x93NUMPY\x07\x00 garbage")
        return p
    if kind == "npy: truncated":
        p = tmp_path / "x.npy"
        np.save(p, kp)
        p.write_bytes(p.read_bytes()[:500])
        return p
    if kind == "npy: object array":
        p = tmp_path / "x.npy"
        np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        return p
    if kind == "pkl: garbage":
        p = tmp_path / "x.pkl"
        p.write_bytes(b"\x80\x04garbage")
        return p
    if kind == "pkl: truncated":
        p = tmp_path / "x.pkl"
        p.write_bytes(pickle.dumps({"annotations": [{"frame_dir": "a", "keypoint": kp[None]}], "split": {}})[:80])
        return p
    if kind == "video: garbage":
        p = tmp_path / "x.mp4"
        p.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is no video")
        return p
    raise ValueError(kind)


KINDS = [
    "npz: corrupt payload",
    "npz: truncated",
    "npz: corrupt npy header",
    "npz: not a zip",
    "npy: garbage",
    "npy: truncated",
    "npy: object array",
    "pkl: garbage",
    "pkl: truncated",
    "video: garbage",
]


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_input_is_one_line_naming_the_file(tmp_path, monkeypatch, capsys, kind):
    path = _make(tmp_path, kind)
    out = tmp_path / "t.json"
    code, stdout, err = run_cli(["transcribe", path, "--out", out], monkeypatch, capsys)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0], err
    assert not out.exists()


def test_person_beyond_the_people_present_is_an_error(tmp_path, monkeypatch, capsys):
    kp = np.random.default_rng(0).random((60, 22, 3)).astype(np.float32)
    one = tmp_path / "one.npy"
    np.save(one, kp)
    two = tmp_path / "two.npy"
    np.save(two, np.stack([kp, kp]))
    for path, person, needle in ((one, 1, "holds 1 person"), (two, 2, "holds 2 person(s)")):
        code, _, err = run_cli(["transcribe", path, "--out", tmp_path / "t.json", "--person", str(person)], monkeypatch, capsys)
        assert code == 2 and needle in err and f"--person {person}" in err and str(path) in err, err
    d = tmp_path / "openpose"
    d.mkdir()
    code, _, err = run_cli(["transcribe", d, "--out", tmp_path / "t.json", "--person", "1"], monkeypatch, capsys)
    assert code == 2 and "--person" in err and "openpose input is read as one person" in err, err
