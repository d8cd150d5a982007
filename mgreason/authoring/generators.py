"""Seeded generators for the synthetic scenario packs (deception, job interview).

No public deception or interview data with micro-gesture annotations can be used
offline, so the packs' items are **synthetic**: every item is a short dialogue
(interviewer questions, the subject's answers, with timestamps) plus an MG
transcript whose statistics depend on the item's hidden label:

* a subject-specific baseline fidgeting rate (log-normal between subjects), raised
  for the "cue" label (deceptive / stressed) by a modest factor;
* each gesture is a *stress-related self-adaptor* (neck touching, hand rubbing,
  lip pressing...) or a *neutral* gesture (illustrative hand gestures, posture
  shifts...); the share of self-adaptors is drawn per subject from a Beta whose mean
  depends on the label, with wide overlap;
* the answer to the one pointed question of the interview (the accusation, the CV
  gap...) draws an extra burst of self-adaptors more often for the cue label, but
  not always, and sometimes for the other label too (innocent people get nervous
  when accused).

The dialogue is drawn from answer pools shared by both labels; the only
label-dependent wording is a slightly different rate of hedges ("Honestly,",
"Um,") and of concrete details, so the dialogue alone is close to chance.

The text pools and parameters of each pack are data (:mod:`.packs`, YAML files in
``mgreason/authoring/data/``). :mod:`.informativeness` checks what the evidence is
worth (the generator is tuned for roughly 65-80 % accuracy from MG alone and 50-60 %
from dialogue alone: the cues help, they do not give the answer away).

Items are a pure function of ``(kind, seed, index)``: ``--n 40`` extends ``--n 36``
(same first 36 items), and labels are balanced in every aligned pair of items,
so ``--limit 2`` always sees both labels.
"""

from __future__ import annotations

import math
import random
from typing import Any, Optional

from mgreason.authoring.packs import PACKS, Pack, Setting, generator_command, get_pack
from mgreason.scenario.loader import write_items
from mgreason.taxonomy import get_taxonomy
from mgreason.transcript import format_time

__all__ = ["GENERATOR_VERSION", "generate_items", "write_items", "PACKS", "get_pack", "generator_command"]

GENERATOR_VERSION = 1


# --------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------
_EVENT_DURATIONS = {  # typical (min, max) seconds; default otherwise
    "illustrative hand gestures": (1.5, 5.0),
    "pressing lips": (0.5, 1.5),
    "bulging face or deep breath": (0.8, 2.0),
    "head up": (0.6, 1.8),
    "folding arms": (2.0, 8.0),
    "crossing legs": (1.5, 4.0),
    "sitting straightly": (1.0, 3.0),
}


def _item_rng(kind: str, seed: int | str, index: int) -> random.Random:
    return random.Random(f"mgreason-generate-{kind}-v{GENERATOR_VERSION}-{seed}-{index}")


def _labels_for(pack: Pack, seed: int | str, n: int) -> list[str]:
    """Balanced in every aligned pair: items 2k and 2k+1 have different labels."""
    out: list[str] = []
    for k in range((n + 1) // 2):
        pair = list(pack.labels)
        random.Random(f"mgreason-generate-{pack.kind}-v{GENERATOR_VERSION}-{seed}-pair{k}").shuffle(pair)
        out += pair
    return out[:n]


def _join(prefix: str, text: str) -> str:
    if not prefix:
        return text
    if text.startswith("I ") or text.startswith("I'"):
        return prefix + text
    return prefix + text[0].lower() + text[1:]


def _speech_seconds(text: str, rng: random.Random, words_per_s: float) -> float:
    return max(0.8, len(text.split()) / words_per_s * rng.uniform(0.85, 1.2))


def _dialogue(pack: Pack, setting: Setting, y: int, rng: random.Random) -> tuple[list[dict[str, Any]], float]:
    d = pack.dialogue
    t = rng.uniform(0.5, 2.0)
    turns: list[dict[str, Any]] = []
    for qi, question in enumerate(setting.questions):
        v = rng.randrange(len(question.ask))
        q = question.ask[v]
        a_variants = question.answers_for(v)
        dq = _speech_seconds(q, rng, 2.8)
        turns.append({"speaker": setting.interviewer, "text": q, "start_s": round(t, 1), "end_s": round(t + dq, 1)})
        t += dq + rng.uniform(0.3, 1.8)  # response latency: label-independent
        a = rng.choice(a_variants)
        if rng.random() < d.hedge_prob[y]:
            a = _join(rng.choice(d.hedges), a)
        if qi in d.detail_questions and rng.random() < d.detail_prob[y]:
            a += rng.choice(d.details)
        da = _speech_seconds(a, rng, 2.3)
        turns.append({"speaker": setting.subject, "text": a, "start_s": round(t, 1), "end_s": round(t + da, 1)})
        t += da + rng.uniform(0.6, 1.6)
    for turn in turns:
        turn["at"] = format_time(turn["start_s"])
    return turns, round(t + rng.uniform(0.5, 2.0), 1)


def _transcript(
    pack: Pack, setting: Setting, turns: list[dict[str, Any]], duration: float, y: int, rng: random.Random, item_id: str
) -> dict[str, Any]:
    mg = pack.mg
    tax = get_taxonomy(mg.taxonomy)
    rate = mg.base_rate_per_min * math.exp(rng.gauss(0.0, mg.subject_sigma)) * (mg.rate_ratio if y else 1.0)
    share_mean = mg.cue_share[y]
    share = rng.betavariate(mg.cue_concentration * share_mean, mg.cue_concentration * (1 - share_mean))
    answers = [(tu["start_s"], tu["end_s"]) for tu in turns if tu["speaker"] == setting.subject]
    critical = answers[setting.critical]

    # Poisson number of gestures over the recording
    lam = rate * duration / 60.0
    n_events, p, u = 0, math.exp(-lam), rng.random()
    cdf = p
    while u > cdf and n_events < 200:
        n_events += 1
        p *= lam / n_events
        cdf += p
    planned: list[tuple[str, float]] = []  # (class, anchor time)
    for _ in range(n_events):
        cls = rng.choice(mg.cue_classes) if rng.random() < share else rng.choice(mg.neutral_classes)
        if rng.random() < mg.in_answer:
            a0, a1 = rng.choice(answers)
            anchor = rng.uniform(a0, a1)
        else:
            anchor = rng.uniform(0.0, duration)
        planned.append((cls, anchor))
    if rng.random() < mg.burst_prob[y]:
        for _ in range(rng.choice((1, 1, 2))):
            planned.append((rng.choice(mg.cue_classes), rng.uniform(critical[0], critical[1] + 1.0)))

    events: list[dict[str, Any]] = []
    busy: dict[str, list[tuple[float, float]]] = {}
    for cls, anchor in planned:
        lo, hi = _EVENT_DURATIONS.get(cls, (0.8, 3.5))
        length = rng.uniform(lo, hi)
        start = max(0.0, min(anchor - rng.uniform(0.0, 0.4) * length, duration - length))
        start, end = round(start, 1), round(min(duration, start + length), 1)
        if end <= start or any(s < end and start < e for s, e in busy.get(cls, [])):
            continue  # the same gesture cannot overlap itself
        busy.setdefault(cls, []).append((start, end))
        c = tax.by_name(cls)
        events.append(
            {"start_s": start, "end_s": end, "label": c.name, "label_id": c.label_id, "confidence": 1.0, "source": "synthetic"}
        )
    events.sort(key=lambda e: (e["start_s"], e["end_s"], e["label"]))
    return {"id": item_id, "duration_s": duration, "taxonomy": tax.name, "events": events}


def generate_items(kind: str, n: int, seed: int | str = 0, *, command: Optional[str] = None) -> list[dict[str, Any]]:
    """``n`` synthetic items of pack ``kind``: a pure function of ``(kind, seed, index)``."""
    pack = get_pack(kind)
    if n < 1:
        raise ValueError("n must be at least 1")
    labels = _labels_for(pack, seed, n)
    cmd = command or (generator_command(kind, n, seed) if isinstance(seed, int) else f"generate_items({kind!r}, {n}, {seed!r})")
    width = max(3, len(str(n)))
    items = []
    for i in range(n):
        rng = _item_rng(kind, seed, i)
        label = labels[i]
        y = pack.labels.index(label)
        setting = rng.choice(pack.settings)
        item_id = f"{pack.id_prefix}-{i + 1:0{width}d}"
        turns, duration = _dialogue(pack, setting, y, rng)
        transcript = _transcript(pack, setting, turns, duration, y, rng, item_id)
        items.append(
            {
                "id": item_id,
                "label": label,
                "synthetic": True,
                "note": f"SYNTHETIC item, not real data: generated by `{cmd}` (generator v{GENERATOR_VERSION})",
                "context": setting.context,
                "interviewer": setting.interviewer,
                "subject": setting.subject,
                "dialogue": turns,
                "transcript": transcript,
            }
        )
    return items
