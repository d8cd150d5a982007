"""Loader and transcript inputs (issue 15): the items always match the hashed bytes, empty files say
"no items", JSON errors cite the file's line, transcript errors name the file's event index and a
finite-number problem, unknown gesture classes / taxonomies are refused (or warned about)."""

from __future__ import annotations

import json
import os
import warnings

import pytest

from helpers import make_items, run_cli, write_scenario
from mgreason.errors import MGReasonWarning, ScenarioError, printable
from mgreason.scenario import load_scenario


def test_same_size_edit_with_restored_mtime_is_seen(tmp_path):
    path = write_scenario(tmp_path)
    items = tmp_path / "data" / "items.jsonl"
    first = load_scenario(path)
    st = items.stat()
    text = items.read_text()
    assert '"it03"' in text
    items.write_text(text.replace('"it03"', '"zz03"'))  # same size
    os.utime(items, ns=(st.st_atime_ns, st.st_mtime_ns))  # as cp -p / rsync / tar restore it
    assert items.stat().st_size == st.st_size and items.stat().st_mtime_ns == st.st_mtime_ns
    second = load_scenario(path)
    assert [it.id for it in second.items][3] == "zz03" and [it.id for it in first.items][3] == "it03"
    assert second.sha256 != first.sha256


@pytest.mark.parametrize(
    "name,content",
    [
        ("items.jsonl", ""),
        ("items.jsonl", "\n  \n\n"),
        ("items.json", "[]"),
        ("items.json", "  "),
        ("items.csv", "id,label,transcript\n"),
        ("items.csv", ""),
    ],
)
def test_empty_items_file_says_no_items(tmp_path, name, content):
    path = write_scenario(tmp_path, items_name=name, fmt=name.rsplit(".", 1)[1])
    (tmp_path / "data" / name).write_text(content)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert str(e.value) == f"{tmp_path / 'data' / name}: items: the items file has no items"


@pytest.mark.parametrize(
    "fmt,text,where",
    [
        ("jsonl", '{"id": "a", "label": "positive"}\n{"id": "b", "label": \n', "line 2, column"),
        ("jsonl", '\n\n{"id": "a", "label": "positive"}\n[1, 2]\n', "line 4: an item must be a JSON object"),
        ("json", '[\n  {"id": "a", "label": "positive"},\n  {"id": "b" "label": "negative"}\n]', "line 3, column"),
    ],
)
def test_json_errors_cite_the_line_of_the_file(tmp_path, fmt, text, where):
    path = write_scenario(tmp_path, fmt=fmt)
    items = tmp_path / "data" / f"items.{fmt}"
    items.write_text(text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert str(e.value).startswith(f"{items}: {where}"), str(e.value)


@pytest.mark.parametrize("field", ["start_s", "end_s", "confidence"])
def test_nan_time_or_confidence_says_finite(tmp_path, field):
    items = make_items(3)
    items[1]["transcript"]["events"][0][field] = float("nan")
    path = write_scenario(tmp_path / "yaml", items=items, fmt="inline")  # YAML .nan
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert "finite number" in str(e.value) and "events.0." + field in str(e.value), str(e.value)
    assert "greater than or equal" not in str(e.value)
    path = write_scenario(tmp_path / "jsonl", items=items, fmt="jsonl")  # json.dumps writes NaN: not JSON
    with pytest.raises(ScenarioError, match=r"items.jsonl: line 2: invalid JSON: NaN is not a JSON number"):
        load_scenario(path)


def test_event_error_cites_the_index_in_the_file(tmp_path):
    items = make_items(3)
    t = items[0]["transcript"]
    t["duration_s"] = 10.0
    # file order: a late event first (index 0, fine), then one ending after duration_s (index 1)
    t["events"] = [
        {"start_s": 5.0, "end_s": 6.0, "label": t["events"][0]["label"]},
        {"start_s": 1.0, "end_s": 12.0, "label": t["events"][1]["label"]},
    ]
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError, match=r"events\[1\] ends at 12\.000s"):
        load_scenario(path)


@pytest.mark.parametrize(
    "change,needle",
    [
        ({"label": "juggling chainsaws"}, "'juggling chainsaws' not in the imigue taxonomy"),
        ({"label": "\x1b[31mred"}, "not in the imigue taxonomy"),
    ],
)
def test_unknown_gesture_label_is_refused_by_default(tmp_path, change, needle):
    items = make_items(3)
    items[2]["transcript"]["events"][1].update(change)
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert needle in str(e.value) and "item it02" in str(e.value) and "transcripts.labels" in str(e.value)


def test_unknown_taxonomy_is_refused_and_policy_warn_or_any_allows(tmp_path):
    items = make_items(3)
    items[0]["transcript"]["taxonomy"] = "imigu"
    path = write_scenario(tmp_path / "strict", items=items)
    with pytest.raises(ScenarioError, match="unknown taxonomy 'imigu'"):
        load_scenario(path)
    path = write_scenario(tmp_path / "warn", items=items, spec={"transcripts": {"labels": "warn"}})
    with pytest.warns(MGReasonWarning, match="unknown taxonomy 'imigu'"):
        sc = load_scenario(path)
    assert sc.items[0].transcript.taxonomy == "imigu"
    path = write_scenario(tmp_path / "any", items=items, spec={"transcripts": {"labels": "any"}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scenario(path)


def test_labels_without_taxonomy_must_belong_to_some_taxonomy(tmp_path):
    items = make_items(3)
    for it in items:
        it["transcript"].pop("taxonomy")
    load_scenario(write_scenario(tmp_path / "ok", items=items))  # imigue names: fine
    items[1]["transcript"]["events"][0]["label"] = "waving a flag"
    with pytest.raises(ScenarioError, match="'waving a flag' not in any known taxonomy"):
        load_scenario(write_scenario(tmp_path / "bad", items=items))


def test_warning_is_one_cli_line(tmp_path, monkeypatch, capsys):
    items = make_items(3)
    items[0]["transcript"]["events"][0]["label"] = "odd\x1b[2Jlabel"
    path = write_scenario(tmp_path, items=items, spec={"transcripts": {"labels": "warn"}})
    code, out, err = run_cli(["validate", path], monkeypatch, capsys)
    assert code == 0, err
    assert "\x1b" not in err and "odd\\x1b[2Jlabel" in err and err.startswith("warning: "), err


def test_ansi_escapes_in_an_item_id_reach_the_terminal_escaped(tmp_path, monkeypatch, capsys):
    items = make_items(3)
    items[1]["id"] = items[2]["id"] = "evil\x1b]0;title\x07\x1b[31m"
    path = write_scenario(tmp_path, items=items)
    code, out, err = run_cli(["validate", path], monkeypatch, capsys)
    assert code == 2 and "\x1b" not in err and "\x07" not in err and "evil\\x1b]0;title\\x07" in err, err
    assert printable("a\nb\tc") == "a\\nb\\tc" and printable("plain é") == "plain é"


def test_show_prompt_header_escapes_an_item_id(tmp_path, monkeypatch, capsys):
    items = make_items(3)
    items[0]["id"] = "x\x1b[2Jy"
    path = write_scenario(tmp_path, items=items)
    code, out, err = run_cli(["show-prompt", path, "--condition", "without_mg"], monkeypatch, capsys)
    assert code == 0, err
    header = out.splitlines()[0]
    assert "\x1b" not in header and "x\\x1b[2Jy" in header, header
