"""`mgreason new-scenario`: a scaffold that validates and runs immediately, anywhere on disk;
and the same scenario with recognizer transcripts (`transcripts.source: path`) as evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mgreason.authoring.scaffold import new_scenario, with_transcripts
from mgreason.errors import MGReasonError
from mgreason.eval.plan import build_requests
from mgreason.eval.run import run_scenario
from mgreason.scenario import load_scenario
from mgreason.transcript import MGEvent, Transcript
from helpers import run_cli


REPO = Path(__file__).resolve().parents[2]
DECEPTION = REPO / "scenarios" / "deception_interrogation.yaml"




def test_scaffold_outside_the_repository_validates_and_runs_on_mock(tmp_path, monkeypatch, capsys):
    # a scenario that lives outside the repository, with its own prompts directory, run from elsewhere
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    code, stdout, stderr = run_cli(["new-scenario", "my_task", "--dir", str(tmp_path / "mine")], monkeypatch, capsys)
    assert code == 0, stderr
    yaml_path = tmp_path / "mine" / "my_task.yaml"
    for p in (yaml_path, tmp_path / "mine/prompts/my_task/system.j2", tmp_path / "mine/prompts/my_task/user.j2",
              tmp_path / "mine/data/my_task.jsonl"):
        assert p.is_file(), p
    assert "mgreason validate" in stdout

    code, stdout, stderr = run_cli(["validate", str(yaml_path)], monkeypatch, capsys)
    assert code == 0, stderr
    assert "3 items, 3 conditions, 9 prompts" in stdout

    out = tmp_path / "run"
    code, stdout, stderr = run_cli(
        ["run-scenario", str(yaml_path), "--backend", "mock", "--out", str(out), "--n-boot", "200"], monkeypatch, capsys
    )
    assert code == 0, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_items"] == 3
    assert {c["condition"] for c in summary["conditions"]} == {"without_mg", "with_mg", "shuffled_mg"}
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 9 and all(s["error"] is None for s in samples)
    # the evidence reaches the prompt only under the evidence conditions
    by = {(s["item_id"], s["condition"]): s["messages"][-1]["content"] for s in samples}
    assert "touching or scratching neck" in by[("ex-1", "with_mg")]
    assert "Micro-gestures" not in by[("ex-1", "without_mg")]


def test_scaffold_api_and_content(tmp_path):
    paths = new_scenario("demo_x", tmp_path)
    sc = load_scenario(paths["scenario"])
    assert sc.id == "demo_x" and sc.spec.synthetic is True
    assert [it.id for it in sc.items] == ["ex-1", "ex-2", "ex-3"]
    assert {it.gold for it in sc.items} == set(sc.labels)  # both labels present
    reqs = build_requests(sc)
    assert len(reqs) == 9
    # conditions share the prompt prefix: the without_mg user prompt minus the question is a prefix of with_mg's
    u = {r.condition: r.messages[-1]["content"] for r in reqs if r.item_id == "ex-1"}
    shared = u["without_mg"].split("\n\nQuestion:")[0]
    assert u["with_mg"].startswith(shared)
    for line in paths["items"].read_text().splitlines():
        assert "not real data" in json.loads(line)["note"]


def test_scaffold_refuses_to_overwrite_unless_forced(tmp_path):
    new_scenario("twice", tmp_path)
    (tmp_path / "twice.yaml").write_text("edited\n")
    with pytest.raises(MGReasonError, match="refusing to overwrite"):
        new_scenario("twice", tmp_path)
    assert (tmp_path / "twice.yaml").read_text() == "edited\n"
    new_scenario("twice", tmp_path, force=True)
    load_scenario(tmp_path / "twice.yaml")


@pytest.mark.parametrize("name", ["1abc", "has space", "../escape", "a/b", ""])
def test_scaffold_rejects_bad_names(tmp_path, name):
    with pytest.raises(MGReasonError, match="invalid scenario name"):
        new_scenario(name, tmp_path)
    assert not any(tmp_path.iterdir())


def test_scaffold_cli_errors_exit_2_with_one_line(tmp_path, monkeypatch, capsys):
    code, _, stderr = run_cli(["new-scenario", "bad name", "--dir", str(tmp_path)], monkeypatch, capsys)
    assert code == 2
    assert "invalid scenario name" in stderr and "Traceback" not in stderr
    code, _, stderr = run_cli(["new-scenario", "x", "--from", str(DECEPTION)], monkeypatch, capsys)
    assert code == 2 and "--from and --transcripts go together" in stderr


# ---------------------------------------------------------------------------------------------
# recognizer transcripts in place of the generated evidence
# ---------------------------------------------------------------------------------------------
def _recognizer_transcript(item_id: str) -> Transcript:
    return Transcript(
        id=item_id,
        duration_s=50.0,
        taxonomy="smg",
        events=[
            MGEvent(start_s=3.2, end_s=5.0, label="touching or scratching neck", label_id=5, confidence=0.87,
                    source="recognizer"),
            MGEvent(start_s=20.4, end_s=23.9, label="folding arms", label_id=2, confidence=0.61, source="recognizer"),
        ],
    )


def test_hand_written_override_reads_recognizer_transcript_json(tmp_path):
    """The documented override: a second YAML with `transcripts.source: path`, the pack's own templates,
    and items whose transcript column names Transcript JSON files (as `mgreason transcribe` writes them)."""
    tdir = tmp_path / "transcripts"
    _recognizer_transcript("p01").write(tdir / "p01.json")
    _recognizer_transcript("p02").write(tdir / "p02.json")
    turns = [{"speaker": "Investigator", "text": "Did you take it?", "at": "00:19.5"},
             {"speaker": "Participant", "text": "No.", "at": "00:21.0"}]
    rows = [
        {"id": "p01", "label": "deceptive", "context": "A mock-crime interview.", "subject": "Participant",
         "dialogue": turns, "transcript": "p01.json"},
        {"id": "p02", "label": "truthful", "context": "A mock-crime interview.", "subject": "Participant",
         "dialogue": turns, "transcript": "p02.json"},
    ]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "real.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    prompts = (REPO / "prompts" / "deception").as_posix()
    (tmp_path / "real.yaml").write_text(
        f"""id: deception_real
version: 1
question: Is the interviewed person's account truthful or deceptive?
labels:
  - {{name: truthful, description: "the person tells the truth"}}
  - {{name: deceptive, description: "the person lies"}}
prompts: {{system: {prompts}/system.j2, user: {prompts}/user.j2}}
items: {{path: data/real.jsonl}}
transcripts: {{source: path, base_dir: transcripts}}
conditions: [without_mg, with_mg, shuffled_mg, aggregate_mg]
"""
    )
    sc = load_scenario(tmp_path / "real.yaml")
    assert sc.items[0].transcript.events[0].source == "recognizer"
    reqs = {(r.item_id, r.condition): r.messages[-1]["content"] for r in build_requests(sc)}
    assert "00:03.2–00:05.0  touching or scratching neck  (0.87)" in reqs[("p01", "with_mg")]  # confidence shown
    assert "[00:19.5] Investigator: Did you take it?" in reqs[("p01", "with_mg")]
    assert "touching or scratching neck: 1×" in reqs[("p01", "aggregate_mg")]
    assert "Micro-gestures" not in reqs[("p01", "without_mg")]
    from mgreason.backends.mock import MockBackend

    out = run_scenario(sc, MockBackend(), out_dir=tmp_path / "run", n_boot=200)
    assert out.summary.n_items == 2


def test_new_scenario_from_pack_with_transcripts_dir(tmp_path, monkeypatch, capsys):
    """`mgreason new-scenario NAME --from PACK --transcripts DIR`: same prompts, labels, conditions and item
    columns; the evidence comes from DIR/ITEM_ID.json."""
    pack = load_scenario(DECEPTION)
    tdir = tmp_path / "transcripts"
    for it in pack.items:
        _recognizer_transcript(it.id).write(tdir / f"{it.id}.json")
    out_dir = tmp_path / "mine"
    code, _, stderr = run_cli(["new-scenario", "dec_rec", "--from", str(DECEPTION),
                              "--transcripts", str(tdir), "--dir", str(out_dir)], monkeypatch, capsys)
    assert code == 0, stderr
    derived = load_scenario(out_dir / "dec_rec.yaml")
    assert derived.spec.transcripts.source == "path"
    assert derived.labels == pack.labels and derived.spec.question == pack.spec.question
    assert [c.name for c in derived.conditions] == [c.name for c in pack.conditions]
    assert derived.user_template.resolve() == pack.user_template.resolve()
    assert [it.id for it in derived.items] == [it.id for it in pack.items]
    assert [it.gold for it in derived.items] == [it.gold for it in pack.items]
    assert all(it.transcript.events[0].source == "recognizer" for it in derived.items)
    # the prompts differ from the pack's only by the evidence
    a = {(q.item_id, q.condition): q.messages for q in build_requests(pack, limit=2)}
    b = {(q.item_id, q.condition): q.messages for q in build_requests(derived, limit=2)}
    key = (pack.items[0].id, "without_mg")
    assert a[key] == b[key]
    assert a[(pack.items[0].id, "with_mg")] != b[(pack.items[0].id, "with_mg")]
    assert "(0.87)" in b[(pack.items[0].id, "with_mg")][-1]["content"]

    code, _, stderr = run_cli(["run-scenario", str(out_dir / "dec_rec.yaml"), "--backend", "mock",
                              "--limit", "2", "--out", str(tmp_path / "run"), "--n-boot", "200"], monkeypatch, capsys)
    assert code == 0, stderr


def test_with_transcripts_names_missing_files(tmp_path):
    tdir = tmp_path / "transcripts"
    _recognizer_transcript("dec-001").write(tdir / "dec-001.json")
    with pytest.raises(MGReasonError, match=r"no transcript for item\(s\) dec-002, .* and \d+ more: expected one JSON"):
        with_transcripts(DECEPTION, "x", tdir, tmp_path)
    assert not (tmp_path / "x.yaml").exists()


@pytest.mark.slow
def test_scaffold_runs_on_the_real_default_backend(tmp_path):
    pytest.importorskip("mgreason.backends.hf")
    from mgreason.backends import create_backend
    from mgreason.errors import BackendError

    paths = new_scenario("real_try", tmp_path)
    sc = load_scenario(paths["scenario"])
    try:
        be = create_backend("hf")
        be.model_info()
    except BackendError as e:  # the embedded model is not installed here
        pytest.skip(f"default hf model unavailable: {e}")
    try:
        out = run_scenario(sc, be, out_dir=tmp_path / "run", limit=2, n_boot=200)  # shuffled_mg needs 2 items
    finally:
        be.close()
    assert out.summary.n_items == 2
    assert all(r.error is None and r.prediction in sc.labels for r in out.records)
