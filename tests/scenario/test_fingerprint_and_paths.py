"""Issue 30, items 2, 3, 8, 9, 13: the scenario fingerprint covers every file that can change a prompt
(included templates, transcript files), item values reach templates as written, every path a scenario
names obeys the path rule (a regular file, not in /proc, /sys or /dev), special files are refused
before they are read, and hostile depths / sizes / encodings are one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import assert_one_line_error, make_items, run_cli, write_scenario
from mgreason.errors import ScenarioError
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario


def _files_scenario(tmp_path: Path, spec=None, **kw) -> Path:
    items = make_items(4)
    tdir = tmp_path / "data" / "transcripts"
    tdir.mkdir(parents=True)
    for it in items:
        (tdir / f"{it['id']}.json").write_text(json.dumps({"id": it["id"], **it["transcript"]}), encoding="utf-8")
        it["transcript"] = f"transcripts/{it['id']}.json"
    return write_scenario(tmp_path, items=items, spec={"transcripts": {"source": "path"}, **(spec or {})}, **kw)


# ------------------------------------------------------------------ item 2: fingerprint coverage


def test_editing_a_transcript_file_changes_the_fingerprint(tmp_path):
    path = _files_scenario(tmp_path)
    before = load_scenario(path).sha256
    t = tmp_path / "data" / "transcripts" / "it02.json"
    data = json.loads(t.read_text())
    data["events"][0]["end_s"] += 0.1
    t.write_text(json.dumps(data))
    assert load_scenario(path).sha256 != before


def test_a_scenario_without_extra_inputs_keeps_its_fingerprint(tmp_path):
    """Scenarios with inline transcripts and no includes hash exactly as before issue 30."""
    import hashlib

    path = write_scenario(tmp_path)
    sc = load_scenario(path)
    h = hashlib.sha256()
    for p in [path, sc.user_template, sc.system_template, sc.items_path]:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    assert sc.sha256 == h.hexdigest()


@pytest.mark.parametrize(
    "user",
    [
        "{% include 'part.j2' %}\n{{ question }}",  # literal include
        "{% include 'nested.j2' %}\n{{ question }}",  # include of an include
        "{% set n = 'part' ~ '.j2' %}{% include n %}\n{{ question }}",  # computed name: the whole directory
        "{% import 'part.j2' as p with context %}{{ question }}",
        "{% extends 'part.j2' %}",
    ],
)
def test_editing_an_included_template_changes_the_fingerprint(tmp_path, user):
    path = write_scenario(tmp_path, user=user)
    (tmp_path / "prompts" / "part.j2").write_text("Context: {{ item.context }}\n")
    (tmp_path / "prompts" / "nested.j2").write_text("{% include 'part.j2' %}\n")
    sc = load_scenario(path)
    build_requests(sc)  # the templates render
    before = sc.sha256
    (tmp_path / "prompts" / "part.j2").write_text("Context (edited): {{ item.context }}\n")
    assert load_scenario(path).sha256 != before


def test_demonstration_transcript_files_are_covered(tmp_path):
    path = _files_scenario(tmp_path, spec={"transcripts": {"source": "path"}, "demonstrations": {"path": "data/items.jsonl", "k": 1}})
    before = load_scenario(path).sha256
    assert before == load_scenario(path).sha256  # stable
    (tmp_path / "data" / "transcripts" / "it03.json").write_text(
        (tmp_path / "data" / "transcripts" / "it01.json").read_text()
    )
    assert load_scenario(path).sha256 != before


# ------------------------------------------------------------------ item 3: values as written


def test_jsonl_values_reach_templates_as_written(tmp_path):
    big = 2**64 + 1
    lines = [
        '{"id": 1, "label": "positive", "n": 3, "x": 3.5, "transcript": null}',
        '{"id": 2, "label": "negative", "n": 3.0, "x": 1e2, "transcript": null}',
        '{"id": 3.5, "label": "positive", "n": %d, "x": 0.1, "transcript": null}' % big,
        '{"id": %d, "label": "negative", "n": 1, "x": 2, "transcript": null}' % (big + 1),
    ]
    root = tmp_path
    path = write_scenario(
        root, user="{{ item_id }}|{{ item.n }}|{{ item.x }}|{{ item.x * 2 }}",
        spec={"conditions": ["without_mg"]},
    )
    (root / "data" / "items.jsonl").write_text("\n".join(lines) + "\n")
    sc = load_scenario(path)
    assert [it.id for it in sc.items] == ["1", "2", "3.5", str(big + 1)]
    users = [r.messages[-1]["content"] for r in build_requests(sc)]
    assert users == ["1|3|3.5|7.0", "2|3.0|1e2|200.0", f"3.5|{big}|0.1|0.2", f"{big + 1}|1|2|4"]


def test_two_large_ids_that_a_float_would_merge_stay_distinct(tmp_path):
    big = 2**64
    path = write_scenario(tmp_path, spec={"conditions": ["without_mg"]})
    (tmp_path / "data" / "items.jsonl").write_text(
        f'{{"id": {big + 1}, "label": "positive"}}\n{{"id": {big + 2}, "label": "negative"}}\n'
    )
    assert [it.id for it in load_scenario(path).items] == [str(big + 1), str(big + 2)]


def test_csv_cells_are_text_and_duplicate_columns_are_refused(tmp_path):
    path = write_scenario(tmp_path, fmt="csv", spec={"conditions": ["without_mg"]}, user="{{ item.context }}|{{ item.n }}")
    f = tmp_path / "data" / "items.csv"
    f.write_text("id,label,context,n\n007,positive,NA,1.50\n8,negative,,2\n")
    sc = load_scenario(path)
    assert [it.id for it in sc.items] == ["007", "8"]
    assert [r.messages[-1]["content"] for r in build_requests(sc)] == ["NA|1.50", "|2"]
    f.write_text("id,label,context,context\n1,positive,a,b\n")
    with pytest.raises(ScenarioError, match="column 'context' appears twice"):
        load_scenario(path)
    f.write_text("id,label,context\n1,positive,a,b\n")
    with pytest.raises(ScenarioError, match="4 cells but the header has 3 columns"):
        load_scenario(path)


def test_json_file_values_as_written(tmp_path):
    path = write_scenario(tmp_path, fmt="json", spec={"conditions": ["without_mg"]}, user="{{ item_id }}")
    (tmp_path / "data" / "items.json").write_text('[{"id": 1, "label": "positive"}, {"id": 1.25, "label": "negative"}]')
    assert [it.id for it in load_scenario(path).items] == ["1", "1.25"]


# ------------------------------------------------------------------ items 8, 9: the path rule


@pytest.mark.parametrize("field", ["user", "system"])
@pytest.mark.parametrize("target", ["/proc/self/environ", "/dev/zero", "/sys/kernel/mm/transparent_hugepage/enabled", "/proc/self/cmdline"])
def test_template_paths_in_pseudo_file_systems_are_refused(tmp_path, monkeypatch, capsys, field, target):
    path = write_scenario(tmp_path, spec={"prompts": {field: target}})
    res = run_cli(["show-prompt", path], monkeypatch, capsys)
    assert_one_line_error(res, str(path), f"prompts.{field}")
    assert "PATH=" not in res.out and "PATH=" not in res.err


def test_a_symlink_into_proc_is_refused(tmp_path):
    path = write_scenario(tmp_path)
    (tmp_path / "prompts" / "user.j2").unlink()
    (tmp_path / "prompts" / "user.j2").symlink_to("/proc/self/environ")
    with pytest.raises(ScenarioError, match="prompts.user: .*/proc"):
        load_scenario(path)


@pytest.mark.parametrize("where", ["user", "items", "transcript", "include", "demonstrations"])
def test_fifos_are_refused_never_waited_on(tmp_path, where):
    path = _files_scenario(
        tmp_path, user="{% include 'part.j2' %}{{ question }}",
        spec={"transcripts": {"source": "path"}, "demonstrations": {"path": "data/demo.jsonl", "k": 1}},
    )
    (tmp_path / "prompts" / "part.j2").write_text("x")
    (tmp_path / "data" / "demo.jsonl").write_text((tmp_path / "data" / "items.jsonl").read_text())
    target = {
        "user": tmp_path / "prompts" / "user.j2",
        "items": tmp_path / "data" / "items.jsonl",
        "transcript": tmp_path / "data" / "transcripts" / "it01.json",
        "include": tmp_path / "prompts" / "part.j2",
        "demonstrations": tmp_path / "data" / "demo.jsonl",
    }[where]
    target.unlink()
    os.mkfifo(target)
    with pytest.raises(ScenarioError, match="FIFO"):
        sc = load_scenario(path)
        build_requests(sc)


def test_items_path_that_is_a_directory_or_device(tmp_path):
    path = write_scenario(tmp_path, spec={"items": {"path": "/dev/null", "format": "jsonl"}})
    with pytest.raises(ScenarioError, match="items.path: /dev/null: is inside /dev"):
        load_scenario(path)
    path = write_scenario(tmp_path, spec={"items": {"path": "data", "format": "jsonl"}})
    with pytest.raises(ScenarioError, match="items.path: .*is a directory"):
        load_scenario(path)


# ------------------------------------------------------------------ item 13: depth, size, encoding, times


def _deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize("depth", [100, 1000, 100_000])
def test_deep_json_in_items_is_one_line(tmp_path, depth):
    path = write_scenario(tmp_path, spec={"conditions": ["without_mg"]})
    (tmp_path / "data" / "items.jsonl").write_text('{"id": "a", "label": "positive", "x": %s}\n' % _deep(depth))
    with pytest.raises(ScenarioError, match="line 1: invalid JSON: JSON nested more than"):
        load_scenario(path)


def test_deep_inline_transcript_and_transcript_file_are_one_line(tmp_path):
    items = make_items(3)
    items[1]["transcript"] = '{"events": %s}' % _deep(5000)
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError, match="item it01: transcript: invalid transcript: JSON nested"):
        load_scenario(path)
    path = _files_scenario(tmp_path / "b")
    (tmp_path / "b" / "data" / "transcripts" / "it01.json").write_text('{"events": %s}' % _deep(5000))
    with pytest.raises(ScenarioError, match="item it01: transcript: invalid transcript .*nested"):
        load_scenario(path)


def test_non_utf8_and_oversized_transcript_files_are_one_line(tmp_path, monkeypatch):
    path = _files_scenario(tmp_path)
    t = tmp_path / "data" / "transcripts" / "it01.json"
    t.write_bytes(b'{"events": [], "id": "\xff\xfe"}')
    with pytest.raises(ScenarioError, match="item it01: transcript: .*not UTF-8"):
        load_scenario(path)
    import mgreason.scenario.loader as loader

    t.write_text(json.dumps({"events": []}) + " " * 2000)
    monkeypatch.setattr(loader, "MAX_TRANSCRIPT_BYTES", 1000)
    with pytest.raises(ScenarioError, match="item it01: transcript: .*too large"):
        load_scenario(path)


@pytest.mark.parametrize("start", [1.8e307, 1e300, 4e8])
def test_event_times_beyond_any_recording_are_refused(tmp_path, start):
    items = make_items(3)
    items[0]["transcript"] = {"events": [{"start_s": start, "end_s": start, "label": "folding arms"}]}
    path = write_scenario(tmp_path, items=items)
    with pytest.raises(ScenarioError, match="item it00: transcript: .*start_s"):
        load_scenario(path)


def test_format_time_never_overflows():
    from mgreason.transcript import format_time

    assert format_time(float("inf")) == "?" and format_time(315_576_000.0).startswith("87660:")
