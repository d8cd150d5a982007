"""Tests for mgreason.scenario.loader: YAML → spec → items (JSONL / JSON / CSV / inline) → transcripts."""

from __future__ import annotations

import json

import pytest

from helpers import DELETE, make_items, make_transcript, write_items, write_scenario
from mgreason.errors import DatasetMissingError, ScenarioError
from mgreason.scenario import load_scenario, load_spec
from mgreason.transcript import Transcript


def expected_transcripts(n=6, source="annotation"):
    return [Transcript.model_validate({"id": f"it{k:02d}", **make_transcript(k, source)}) for k in range(n)]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "inline"])
def test_items_in_every_format_load_the_same(tmp_path, fmt):
    sc = load_scenario(write_scenario(tmp_path, fmt=fmt))
    assert [it.id for it in sc.items] == [f"it{k:02d}" for k in range(6)]
    assert [it.gold for it in sc.items] == ["positive", "negative"] * 3
    assert [it.transcript for it in sc.items] == expected_transcripts()
    assert sc.items[2].fields["context"] == "Press conference number 2."
    assert sc.labels == ["positive", "negative"]
    assert [c.name for c in sc.conditions] == ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"]
    assert sc.user_template == tmp_path / "prompts" / "user.j2"
    assert sc.system_template == tmp_path / "prompts" / "system.j2"
    if fmt == "inline":
        assert sc.items_path is None
    else:
        assert sc.items_path == tmp_path / "data" / f"items.{fmt}"


def test_recognizer_transcripts_keep_confidence(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, items=make_items(4, source="recognizer")))
    assert [it.transcript for it in sc.items] == expected_transcripts(4, "recognizer")


def test_nested_item_fields_reach_templates_as_data(tmp_path):
    items = make_items(3)
    for it in items:
        it["dialogue"] = [{"speaker": "Journalist", "text": "How was it?"}, {"speaker": "Player", "text": "Fine."}]
    sc = load_scenario(write_scenario(tmp_path, items=items))
    assert sc.items[0].fields["dialogue"][1] == {"speaker": "Player", "text": "Fine."}


def test_csv_cells_are_kept_as_written(tmp_path):
    items = make_items(4)
    items[0]["id"], items[1]["id"], items[2]["id"], items[3]["id"] = "007", "010", "1", "2"
    items[1]["context"] = "NA"
    items[2]["context"] = ""
    items[3]["text"] = "null"
    sc = load_scenario(write_scenario(tmp_path, items=items, fmt="csv"))
    assert [it.id for it in sc.items] == ["007", "010", "1", "2"]
    assert sc.items[1].fields["context"] == "NA"
    assert sc.items[2].fields["context"] == ""
    assert sc.items[3].fields["text"] == "null"
    assert sc.items[0].transcript.events == Transcript.model_validate({"id": "x", **make_transcript(0)}).events


def test_csv_empty_transcript_cell_is_no_transcript(tmp_path):
    items = make_items(3)
    items[1]["transcript"] = ""
    sc = load_scenario(write_scenario(tmp_path, items=items, fmt="csv", spec={"conditions": ["without_mg"]}))
    assert sc.items[1].transcript is None and sc.items[0].transcript is not None


def test_items_format_overrides_the_suffix(tmp_path):
    path = write_scenario(tmp_path, items_name="items.txt", fmt="jsonl", spec={"items": {"format": "jsonl"}})
    assert len(load_scenario(path).items) == 6


def test_unknown_suffix_without_format(tmp_path):
    path = write_scenario(tmp_path, items_name="items.txt", fmt="jsonl")
    with pytest.raises(ScenarioError, match="items.format") as e:
        load_scenario(path)
    assert e.value.file == str(path)


def test_field_mapping(tmp_path):
    items = [{"clip": it["id"], "emotion": it["label"], "mg": it["transcript"], **it} for it in make_items(4)]
    for it in items:
        del it["id"], it["label"], it["transcript"]
    path = write_scenario(
        tmp_path, items=items, spec={"items": {"fields": {"id": "clip", "label": "emotion", "transcript": "mg"}}}
    )
    sc = load_scenario(path)
    assert [it.id for it in sc.items] == ["it00", "it01", "it02", "it03"]
    assert sc.items[1].gold == "negative"
    assert sc.items[1].transcript == expected_transcripts(4)[1]


def test_no_transcript_column(tmp_path):
    items = make_items(3)
    for it in items:
        del it["transcript"]
    path = write_scenario(
        tmp_path, items=items, spec={"items": {"fields": {"transcript": None}}, "conditions": ["without_mg"]}
    )
    assert all(it.transcript is None for it in load_scenario(path).items)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_transcripts_from_files_relative_to_the_items_file(tmp_path, fmt):
    items = make_items(4)
    for k, it in enumerate(items):
        Transcript.model_validate({"id": it["id"], **it["transcript"]}).write(tmp_path / "data" / "tr" / f"{k}.json")
        it["transcript"] = f"tr/{k}.json"
    sc = load_scenario(write_scenario(tmp_path, items=items, fmt=fmt, spec={"transcripts": {"source": "path"}}))
    assert [it.transcript for it in sc.items] == expected_transcripts(4)


def test_transcripts_base_dir_is_relative_to_the_scenario(tmp_path):
    items = make_items(3)
    for k, it in enumerate(items):
        Transcript.model_validate({"id": it["id"], **it["transcript"]}).write(tmp_path / "mg" / f"{k}.json")
        it["transcript"] = f"{k}.json"
    sc = load_scenario(
        write_scenario(tmp_path, items=items, spec={"transcripts": {"source": "path", "base_dir": "mg"}})
    )
    assert [it.transcript for it in sc.items] == expected_transcripts(3)


def test_missing_transcript_file_names_the_item(tmp_path):
    items = make_items(3)
    for k, it in enumerate(items):
        Transcript.model_validate({"id": it["id"], **it["transcript"]}).write(tmp_path / "data" / f"{k}.json")
        it["transcript"] = f"{k}.json"
    items[2]["transcript"] = "missing.json"
    path = write_scenario(tmp_path, items=items, spec={"transcripts": {"source": "path"}})
    with pytest.raises(ScenarioError, match="transcript file not found") as e:
        load_scenario(path)
    assert e.value.field == "item it02: transcript"
    assert e.value.file == str(tmp_path / "data" / "items.jsonl")


def test_items_path_with_environment_variable(tmp_path, monkeypatch):
    path = write_scenario(tmp_path, spec={"items": {"path": "$MG_TEST_DATA/items.jsonl"}})
    monkeypatch.setenv("MG_TEST_DATA", str(tmp_path / "data"))
    assert len(load_scenario(path).items) == 6


def test_scenario_sha256_tracks_spec_templates_and_items(tmp_path):
    path = write_scenario(tmp_path)
    h0 = load_scenario(path).sha256
    assert load_scenario(path).sha256 == h0
    (tmp_path / "prompts" / "user.j2").write_text("changed {{ item.text }}")
    h1 = load_scenario(path).sha256
    items = make_items(6)
    items[0]["text"] = "something else"
    write_items(tmp_path / "data" / "items.jsonl", items, "jsonl")
    h2 = load_scenario(path).sha256
    path.write_text(path.read_text().replace("version: 1", "version: 2"))
    h3 = load_scenario(path).sha256
    assert len({h0, h1, h2, h3}) == 4


def test_item_lookup(tmp_path):
    sc = load_scenario(write_scenario(tmp_path))
    assert sc.item("it03").gold == "negative"
    with pytest.raises(ScenarioError, match="no item with id 'nope'"):
        sc.item("nope")


# ---- errors: every one a ScenarioError naming the file and the field --------------------


def test_malformed_yaml(tmp_path):
    path = write_scenario(tmp_path, raw_yaml="id: demo\nlabels: [positive, negative\nversion: 1\n")
    with pytest.raises(ScenarioError, match="malformed YAML: line 3") as e:
        load_spec(path)
    assert e.value.file == str(path)
    assert str(e.value).startswith(f"{path}: ")


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = write_scenario(tmp_path, raw_yaml="- a\n- b\n")
    with pytest.raises(ScenarioError, match="must be a YAML mapping"):
        load_spec(path)


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match="file not found") as e:
        load_scenario(tmp_path / "nope.yaml")
    assert e.value.file == str(tmp_path / "nope.yaml")


def test_unknown_top_level_field(tmp_path):
    path = write_scenario(tmp_path, spec={"promt": "typo"})
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert (e.value.file, e.value.field) == (str(path), "promt")
    assert str(e.value) == f"{path}: promt: unknown field"


def test_missing_required_field(tmp_path):
    path = write_scenario(tmp_path, spec={"question": DELETE})
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert str(e.value) == f"{path}: question: required field is missing"


def test_unknown_nested_field(tmp_path):
    path = write_scenario(tmp_path, spec={"generation": {"temprature": 0.5}})
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert e.value.field == "generation.temprature"


def test_unknown_condition_name(tmp_path):
    path = write_scenario(tmp_path, spec={"conditions": ["without_mg", "with_mgg"]})
    with pytest.raises(ScenarioError, match="unknown condition 'with_mgg'") as e:
        load_scenario(path)
    assert e.value.field == "conditions"


def test_bad_condition_object_names_its_field(tmp_path):
    # a condition is a name *or* an object: the message must be about the object's bad field,
    # not "input should be a valid string"
    path = write_scenario(tmp_path, spec={"conditions": ["without_mg", {"name": "x", "evidence": "video"}]})
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert e.value.field is not None and e.value.field.startswith("conditions.1") and e.value.field.endswith("evidence")
    assert "'none', 'timeline' or 'aggregate'" in str(e.value)
    assert "valid string" not in str(e.value)


def test_unknown_label_names_the_item(tmp_path):
    items = make_items(4)
    items[2]["label"] = "neutral"
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError, match="label 'neutral' is not in the scenario's label set") as e:
        load_scenario(path)
    assert e.value.file == str(tmp_path / "data" / "items.jsonl")
    assert e.value.field == "item it02: label"


def test_unknown_label_in_inline_items_names_the_scenario_file(tmp_path):
    items = make_items(3)
    items[1]["label"] = "meh"
    path = write_scenario(tmp_path, items=items, fmt="inline")
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert (e.value.file, e.value.field) == (str(path), "item it01: label")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_duplicate_item_ids(tmp_path, fmt):
    items = make_items(5)
    items[3]["id"] = "it01"
    path = write_scenario(tmp_path, items=items, fmt=fmt)
    with pytest.raises(ScenarioError, match="duplicate item id 'it01'") as e:
        load_scenario(path)
    assert e.value.field == "items[3].id"


def test_item_without_id(tmp_path):
    items = make_items(3)
    items[1]["id"] = None
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError, match="item #2 has no 'id' column") as e:
        load_scenario(path)
    assert e.value.field == "items[1].id"


@pytest.mark.parametrize("value", ["", "   "])
def test_mixing_labelled_and_unlabelled_items_names_the_item(tmp_path, value):
    items = make_items(3)
    items[1]["label"] = value
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError, match=f"item '{items[1]['id']}' has no label but item '{items[0]['id']}' has one") as e:
        load_scenario(path)
    assert e.value.field == f"item {items[1]['id']}: label"


def test_no_item_labelled_points_at_the_unlabelled_declaration(tmp_path):
    items = make_items(3)
    for it in items:
        del it["label"]
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError, match=r"item #1 has no 'label' column \(for items without gold labels set items.fields.label: null\)"):
        load_scenario(path)


def test_missing_items_file(tmp_path):
    path = write_scenario(tmp_path)
    (tmp_path / "data" / "items.jsonl").unlink()
    with pytest.raises(ScenarioError, match="items file not found") as e:
        load_scenario(path)
    assert (e.value.file, e.value.field) == (str(path), "items.path")
    assert not isinstance(e.value, DatasetMissingError)


def test_missing_dataset_items_file_says_how_to_obtain_it(tmp_path):
    path = write_scenario(tmp_path, spec={"items": {"obtain": "Run `mgreason datasets build x`."}})
    (tmp_path / "data" / "items.jsonl").unlink()
    with pytest.raises(DatasetMissingError, match="Run `mgreason datasets build x`") as e:
        load_scenario(path)
    assert e.value.field == "items.path"


@pytest.mark.parametrize("which", ["user", "system"])
def test_missing_template_file(tmp_path, which):
    path = write_scenario(tmp_path)
    (tmp_path / "prompts" / f"{which}.j2").unlink()
    with pytest.raises(ScenarioError, match="template not found") as e:
        load_scenario(path)
    assert (e.value.file, e.value.field) == (str(path), f"prompts.{which}")


def test_unreadable_jsonl_names_the_items_file_and_the_cause(tmp_path):
    path = write_scenario(tmp_path)
    items_path = tmp_path / "data" / "items.jsonl"
    items_path.write_text(items_path.read_text() + "{not json\n")  # the 7th line of the file
    with pytest.raises(ScenarioError, match=r"items.jsonl: line 7, column 2: invalid JSON") as e:
        load_scenario(path)
    assert e.value.file == str(items_path)
    assert "\n" not in str(e.value)


def test_invalid_transcript_names_the_item(tmp_path):
    items = make_items(3)
    items[1]["transcript"]["duration_s"] = 2.0  # events end later
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError, match="invalid transcript: .*after the recording's duration_s") as e:
        load_scenario(path)
    assert e.value.field == "item it01: transcript"


def test_transcript_json_string_that_is_not_json(tmp_path):
    items = make_items(3)
    items[0]["transcript"] = "{oops"
    path = write_scenario(tmp_path, items=items, fmt="csv")
    with pytest.raises(ScenarioError, match="invalid transcript") as e:
        load_scenario(path)
    assert e.value.field == "item it00: transcript"


def test_item_without_transcript_when_a_condition_needs_one(tmp_path):
    items = make_items(3)
    del items[2]["transcript"]
    path = write_scenario(tmp_path, items=items, fmt="inline")
    with pytest.raises(ScenarioError, match="item has no transcript, but conditions with_mg") as e:
        load_scenario(path)
    assert e.value.field == "item it02: transcript"


def test_no_items(tmp_path):
    path = write_scenario(tmp_path, items=[], fmt="inline")
    with pytest.raises(ScenarioError, match="no items"):
        load_scenario(path)


def test_shuffled_condition_needs_two_items(tmp_path):
    path = write_scenario(tmp_path, items=make_items(1), fmt="inline")
    with pytest.raises(ScenarioError, match="at least 2 items") as e:
        load_scenario(path)
    assert e.value.field == "conditions"
    # without a shuffled condition one item is fine
    path = write_scenario(tmp_path / "b", items=make_items(1), fmt="inline", spec={"conditions": ["without_mg", "with_mg"]})
    assert len(load_scenario(path).items) == 1


def test_error_messages_are_one_line(tmp_path):
    path = write_scenario(tmp_path, raw_yaml="id: [1,\n  2\nversion: {\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert "\n" not in str(e.value)
    items = make_items(3)
    items[0]["transcript"] = json.dumps({"events": [{"start_s": 2, "end_s": 1, "label": "x"}]})
    path = write_scenario(tmp_path / "b", items=items, fmt="csv")
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert "\n" not in str(e.value)
