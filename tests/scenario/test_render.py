"""Tests for mgreason.scenario.render: the one rendering path (Jinja sandbox, StrictUndefined)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from helpers import REPO, USER_TPL, make_items, write_scenario
from mgreason.errors import ScenarioError
from mgreason.eval.plan import build_requests
from mgreason.scenario import load_scenario
from mgreason.scenario.render import prompt_sha256, render_messages, template_variables
from mgreason.scenario.spec import BUILTIN_CONDITIONS
from mgreason.transcript import Transcript

WITH = BUILTIN_CONDITIONS["with_mg"]
WITHOUT = BUILTIN_CONDITIONS["without_mg"]


def by_key(requests):
    return {(r.item_id, r.condition): r for r in requests}


def user(req) -> str:
    return req.messages[-1]["content"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return load_scenario(write_scenario(tmp_path_factory.mktemp("render")))


@pytest.fixture(scope="module")
def requests(scenario):
    return by_key(build_requests(scenario, seed=0))


def test_messages_shape(scenario, requests):
    r = requests[("it00", "with_mg")]
    assert [m["role"] for m in r.messages] == ["system", "user"]
    assert r.messages[0]["content"] == "You judge emotions. Possible answers: positive, negative."
    assert user(r).startswith("Context: Press conference number 0.\nPlayer: Line 0: it was a long day.\n")
    assert user(r).endswith("Question: Is the player's emotional state positive or negative?")


def test_without_system_template_only_the_user_message(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, system=None))
    assert [m["role"] for m in build_requests(sc)[0].messages] == ["user"]


def test_without_mg_has_no_evidence(scenario, requests):
    all_lines = {line for it in scenario.items for line in it.transcript.render().splitlines()}
    for it in scenario.items:
        text = user(requests[(it.id, "without_mg")])
        assert "EVIDENCE" not in text
        assert not any(line in text for line in all_lines)
        assert "–" not in text and "×" not in text


def test_with_mg_shows_the_items_own_transcript(scenario, requests):
    for it in scenario.items:
        text = user(requests[(it.id, "with_mg")])
        assert "EVIDENCE (timeline):\n" + it.transcript.render() + "\nQuestion:" in text
        assert requests[(it.id, "with_mg")].evidence_from == it.id


def test_shuffled_mg_shows_another_items_transcript_never_its_own(scenario, requests):
    sources = set()
    for it in scenario.items:
        req = requests[(it.id, "shuffled_mg")]
        src = req.evidence_from
        assert src is not None and src != it.id
        sources.add(src)
        text = user(req)
        assert scenario.item(src).transcript.render() in text
        for line in it.transcript.render().splitlines():
            assert line not in text
    # a permutation: every transcript is shown exactly once
    assert sources == {it.id for it in scenario.items}


def test_aggregate_mg_renders_counts(scenario, requests):
    for it in scenario.items:
        text = user(requests[(it.id, "aggregate_mg")])
        assert "EVIDENCE (aggregate):\n" + it.transcript.render_aggregate() in text
        for label, n, dur in it.transcript.aggregate():
            assert f"{label}: {n}× (total {dur:.1f} s)" in text
        assert "recording length: 120.0 s, 2 micro-gestures in all" in text
        assert "–" not in text  # no timeline


def test_conditions_share_the_system_message_and_the_prefix_before_the_evidence(scenario, requests):
    names = [c.name for c in scenario.conditions]
    for it in scenario.items:
        reqs = [requests[(it.id, n)] for n in names]
        assert len({r.messages[0]["content"] for r in reqs}) == 1
        prefix = os.path.commonprefix([user(r) for r in reqs])
        assert prefix == f"Context: {it.fields['context']}\nPlayer: {it.fields['text']}\n"


def test_demo_scenario_conditions_share_the_dialogue_prefix():
    sc = load_scenario(REPO / "scenarios" / "demo_press_emotion.yaml")
    reqs = by_key(build_requests(sc))
    for it in sc.items:
        rs = [reqs[(it.id, c.name)] for c in sc.conditions]
        assert len({r.messages[0]["content"] for r in rs}) == 1
        prefix = os.path.commonprefix([user(r) for r in rs])
        last = it.fields["dialogue"][-1]
        assert f"{last['speaker']}: {last['text']}" in prefix
        assert it.fields["context"] in prefix
        assert "Micro-gestures" not in prefix


def test_template_syntax_inside_item_text_reaches_the_model_literally(tmp_path):
    items = make_items(3)
    items[0]["text"] = "I scored {{ 7*7 }} points {% if True %}yes{% endif %} {# note #} ${HOME} {{ item.__class__ }}"
    items[1]["context"] = "{% for x in range(3) %}loop{% endfor %}"
    sc = load_scenario(write_scenario(tmp_path, items=items))
    reqs = by_key(build_requests(sc))
    text = user(reqs[("it00", "with_mg")])
    assert "I scored {{ 7*7 }} points {% if True %}yes{% endif %} {# note #} ${HOME} {{ item.__class__ }}" in text
    assert "49" not in text
    assert "{% for x in range(3) %}loop{% endfor %}" in user(reqs[("it01", "without_mg")])
    assert "looploop" not in user(reqs[("it01", "without_mg")])


def test_non_ascii_text_is_kept(tmp_path):
    items = make_items(2)
    items[0]["text"] = "Ça va — très bien 😀"
    sc = load_scenario(write_scenario(tmp_path, items=items))
    assert "Ça va — très bien 😀" in user(build_requests(sc)[0])


@pytest.mark.parametrize(
    "template",
    [
        "{{ item.__class__ }}",
        "{{ item.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__ }}",
        "{{ labels[0].__class__.__init__.__globals__ }}",
        "{{ item.items.__self__ }}",
        "{{ question.__len__() }}",
    ],
)
def test_sandbox_blocks_unsafe_attribute_access_in_templates(tmp_path, template):
    path = write_scenario(tmp_path, user=template)
    sc = load_scenario(path)
    with pytest.raises(ScenarioError, match="not allowed by the sandbox: access to attribute '__") as e:
        build_requests(sc)
    assert e.value.file == str(tmp_path / "prompts" / "user.j2")


def test_missing_template_variable_is_an_error_not_an_empty_string(tmp_path):
    path = write_scenario(tmp_path, user=USER_TPL.replace("{{ item.text }}", "{{ item.speaker }}"))
    sc = load_scenario(path)
    with pytest.raises(ScenarioError, match=r"undefined template variable: .*'speaker' \(item it00, condition without_mg\)") as e:
        build_requests(sc)
    assert e.value.file == str(tmp_path / "prompts" / "user.j2")


def test_missing_top_level_variable(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, system="Hello {{ persona }}"))
    with pytest.raises(ScenarioError, match="'persona' is undefined") as e:
        build_requests(sc)
    assert e.value.file == str(tmp_path / "prompts" / "system.j2")


@pytest.mark.parametrize("template, line", [("ok\n{% if %}", 2), ("{{ item.text ", 1), ("{% for x in y %}", 1)])
def test_template_syntax_error(tmp_path, template, line):
    sc = load_scenario(write_scenario(tmp_path, user=template))
    with pytest.raises(ScenarioError, match=f"template syntax error at line {line}") as e:
        build_requests(sc)
    assert e.value.file == str(tmp_path / "prompts" / "user.j2")


def test_template_runtime_error(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, user="{{ item.text | no_such_filter }}"))
    with pytest.raises(ScenarioError):
        build_requests(sc)


def test_template_variables(scenario):
    it = scenario.item("it01")
    v = template_variables(scenario, it, WITH, it.transcript)
    assert v["item"] is it.fields and v["item_id"] == "it01"
    assert v["question"] == scenario.spec.question
    assert v["labels"] == [{"name": "positive", "description": "feels good"}, {"name": "negative", "description": "feels bad"}]
    assert v["label_names"] == ["positive", "negative"]
    assert v["condition"] == "with_mg" and v["evidence_form"] == "timeline"
    assert v["evidence"] == it.transcript.render()
    assert v["evidence_events"] == [e.model_dump() for e in it.transcript.events]
    assert v["recording_duration_s"] == 120.0
    v0 = template_variables(scenario, it, WITHOUT, None)
    assert v0["evidence"] is None and v0["evidence_form"] is None and v0["evidence_events"] is None


def test_evidence_events_usable_in_templates(tmp_path):
    tpl = "{% if evidence_events %}{{ evidence_events | length }} events, first {{ evidence_events[0].label }}{% else %}none{% endif %}"
    sc = load_scenario(write_scenario(tmp_path, user=tpl))
    reqs = by_key(build_requests(sc))
    assert user(reqs[("it00", "without_mg")]) == "none"
    assert user(reqs[("it00", "with_mg")]) == f"2 events, first {sc.item('it00').transcript.events[0].label}"


def test_show_confidence_option(tmp_path):
    sc = load_scenario(write_scenario(tmp_path, spec={"transcripts": {"show_confidence": True}}))
    text = user(by_key(build_requests(sc))[("it00", "with_mg")])
    assert "  (1.00)" in text
    sc = load_scenario(write_scenario(tmp_path / "b", items=make_items(2, source="recognizer"), spec={"transcripts": {"show_confidence": False}}))
    assert "(0." not in user(by_key(build_requests(sc))[("it00", "with_mg")])
    sc = load_scenario(write_scenario(tmp_path / "c", items=make_items(2, source="recognizer")))
    assert "  (0.50)" in user(by_key(build_requests(sc))[("it00", "with_mg")])


def test_prompt_sha256_is_the_hash_of_the_canonical_json():
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": "héllo"}]
    canon = '[{"content":"sys","role":"system"},{"content":"héllo","role":"user"}]'
    assert prompt_sha256(msgs) == hashlib.sha256(canon.encode("utf-8")).hexdigest()
    # key order of the dicts does not matter, content does
    assert prompt_sha256([{"content": "sys", "role": "system"}, {"content": "héllo", "role": "user"}]) == prompt_sha256(msgs)
    assert prompt_sha256([{"role": "user", "content": "héllo "}]) != prompt_sha256([{"role": "user", "content": "héllo"}])


def test_prompt_sha256_stable_across_loads_and_distinct_across_conditions(tmp_path, scenario, requests):
    again = by_key(build_requests(load_scenario(scenario.path), seed=0))
    for key, r in requests.items():
        assert again[key].prompt_sha256 == r.prompt_sha256 == prompt_sha256(r.messages)
        canon = json.dumps(r.messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert r.prompt_sha256 == hashlib.sha256(canon.encode()).hexdigest()
    for it in scenario.items:
        hashes = {requests[(it.id, c.name)].prompt_sha256 for c in scenario.conditions}
        assert len(hashes) == len(scenario.conditions)
    assert len({r.prompt_sha256 for r in requests.values()}) == len(requests)


def test_render_messages_directly(scenario):
    it = scenario.item("it02")
    other = scenario.item("it05").transcript
    msgs = render_messages(scenario, it, WITH, other)
    assert other.render() in msgs[1]["content"]
    assert it.transcript.render() not in msgs[1]["content"]
    assert render_messages(scenario, it, WITH, it.transcript) != msgs
    assert render_messages(scenario, it, WITHOUT, None) == render_messages(scenario, it, WITHOUT, it.transcript)


def test_empty_transcript_renders_placeholder(tmp_path):
    items = make_items(3)
    items[1]["transcript"] = {"duration_s": 10.0, "events": []}
    sc = load_scenario(write_scenario(tmp_path, items=items))
    assert "(no micro-gestures observed)" in user(by_key(build_requests(sc))[("it01", "with_mg")])
    assert isinstance(sc.item("it01").transcript, Transcript)


def test_presence_only_evidence_under_each_condition(tmp_path):
    """Issue 24: per-clip codes without times are a list of observed behaviours under with/shuffled/aggregate,
    nothing under without, never a timeline at 00:00; templates get them as ``evidence_observed``."""
    from mgreason.eval.plan import build_requests
    from mgreason.scenario import load_scenario
    from mgreason.scenario.render import template_variables

    (tmp_path / "u.j2").write_text("{{ evidence if evidence is not none else 'NONE' }}|{{ evidence_observed }}|{{ evidence_events }}")
    items = [
        {"id": f"i{k}", "label": "truthful" if k % 2 else "deceptive",
         "transcript": {"id": f"i{k}", "taxonomy": "mumin", "events": [{"label": "smiling" if k else "downR"}]}}
        for k in range(2)
    ]
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump({
        "id": "p", "version": 1, "question": "q?", "labels": [{"name": "truthful"}, {"name": "deceptive"}],
        "prompts": {"user": "u.j2"}, "items": {"inline": items},
        "conditions": ["without_mg", "with_mg", "shuffled_mg", "aggregate_mg"],
    }))
    sc = load_scenario(tmp_path / "s.yaml")
    got = {(r.item_id, r.condition): r.messages[-1]["content"] for r in build_requests(sc)}
    assert got[("i0", "without_mg")] == "NONE|None|None"
    assert got[("i0", "with_mg")] == "observed in the recording (no times annotated):\n- downR|['downR']|[]"
    assert got[("i0", "shuffled_mg")] == "observed in the recording (no times annotated):\n- smiling|['smiling']|[]"
    assert got[("i0", "aggregate_mg")] == "downR: observed (no time annotated)|['downR']|[]"
    assert not any("00:00" in v for v in got.values())
    v = template_variables(sc, sc.items[0], sc.conditions[1], sc.items[0].transcript)
    assert v["evidence_observed"] == ["downR"] and v["evidence_events"] == []
