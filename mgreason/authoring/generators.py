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

:func:`measure_informativeness` checks what the evidence is worth: cross-validated
accuracy of a bag-of-MG logistic regression and nearest-centroid classifier (MG
alone), of a bag-of-words logistic regression on the answers (dialogue alone) and
of both together, plus the label-conditional rates. The generator is tuned for
roughly 65-80 % from MG alone and 50-60 % from dialogue alone: the cues help,
they do not give the answer away.

Items are a pure function of ``(kind, seed, index)``: ``--n 40`` extends ``--n 36``
(same first 36 items), and labels are balanced in every aligned pair of items,
so ``--limit 2`` always sees both labels.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mgreason.taxonomy import get_taxonomy
from mgreason.transcript import format_time
from mgreason.scenario.loader import write_items  # noqa: F401 - re-exported (the shipped packs' writer)

GENERATOR_VERSION = 1


# --------------------------------------------------------------------------------------
# pack definitions
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One interview situation: context text, speakers, questions with shared answer pools."""

    context: str
    interviewer: str
    subject: str
    # (question variants, answer variants): the answers are shared by all variants of the question, or,
    # given as one tuple per question variant, belong to that variant
    questions: tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...]
    critical: int  # index of the pointed question


@dataclass(frozen=True)
class MGParams:
    taxonomy: str
    cue_classes: tuple[str, ...]  # stress-related self-adaptors
    neutral_classes: tuple[str, ...]
    base_rate_per_min: float  # median fidgeting rate of a subject with the non-cue label
    subject_sigma: float  # sd of log(rate) between subjects
    rate_ratio: float  # rate multiplier for the cue label
    cue_share: tuple[float, float]  # mean share of self-adaptors (non-cue label, cue label)
    cue_concentration: float  # Beta concentration of that share (lower = more overlap)
    burst_prob: tuple[float, float]  # P(extra self-adaptor burst at the pointed question) per label
    in_answer: float = 0.7  # share of gestures made while the subject is speaking


@dataclass(frozen=True)
class DialogueParams:
    hedge_prob: tuple[float, float]  # per answer, (non-cue label, cue label)
    detail_prob: tuple[float, float]
    hedges: tuple[str, ...]
    details: tuple[str, ...]
    detail_questions: tuple[int, ...]  # answers (by question index) a concrete detail may be added to


@dataclass(frozen=True)
class Pack:
    kind: str
    scenario_id: str
    labels: tuple[str, str]  # (non-cue label, cue label)
    id_prefix: str
    settings: tuple[Setting, ...]
    mg: MGParams
    dialogue: DialogueParams
    items_file: str  # where the shipped pack lives, relative to the repository
    n_default: int = 36
    seed_default: int = 0


_DECEPTION_SETTINGS = (
    Setting(
        context=(
            "A research study on interviewing. Each participant spent ten minutes alone in an office where an "
            "envelope with cash lay on the desk; afterwards an investigator interviews them about it. Some "
            "participants were instructed to take a banknote and deny it, the others only waited. The "
            "investigator does not know which group the participant is in."
        ),
        interviewer="Investigator",
        subject="Participant",
        questions=(
            (
                ("Can you walk me through what you did in the office, from the moment you came in?",
                 "Tell me everything you did while you were waiting in the office."),
                ("I sat down, checked my phone for a while and read a leaflet that was on the table.",
                 "I waited on the chair by the window. I looked at the posters and answered a few messages.",
                 "Not much. I sat there, looked out of the window and waited for someone to come and get me.",
                 "I hung up my coat, sat down and played a game on my phone until you came in."),
            ),
            (
                ("Did you notice anything on the desk?", "What was on the desk when you came in?"),
                ("There were some papers, a mug, and I think an envelope.",
                 "A computer, some folders. There might have been an envelope, I didn't really look.",
                 "Some files and a pen holder. Nothing special.",
                 "An envelope and a stack of forms, I think."),
            ),
            (
                ("Money is missing from the envelope on that desk. Did you take it?",
                 "Someone took a banknote from the envelope on the desk. Was it you?"),
                ("No. I didn't take anything.",
                 "No, I didn't touch the envelope.",
                 "No. Why would I take money from a desk?",
                 "No, it wasn't me. I stayed on my chair."),
            ),
            (
                ("What do you think should happen to the person who took it?",
                 "Who else could have taken the money?"),
                (("I don't know. Maybe they should just give it back.",
                  "That's not really for me to decide.",
                  "I guess it depends on why they did it.",
                  "They should get a warning, I suppose."),
                 ("I have no idea. Other people were walking in and out of that corridor.",
                  "Maybe someone who was there before me.",
                  "I really couldn't say.",
                  "No idea. The door was open the whole time.")),
            ),
            (
                ("Is there anything else you want to tell me?", "Is there anything you would like to add?"),
                ("No, that's everything.",
                 "No. I told you what happened.",
                 "Not really. Can I go now?",
                 "I don't think so."),
            ),
        ),
        critical=2,
    ),
    Setting(
        context=(
            "A research study on interviewing. Students wait alone in a lecturer's room where the answer sheet "
            "of tomorrow's exam lies on the desk; afterwards an interviewer asks them about it. Some students "
            "were instructed to photograph the sheet and deny it, the others only waited. The interviewer "
            "does not know which group the student is in."
        ),
        interviewer="Interviewer",
        subject="Student",
        questions=(
            (
                ("What did you do while you were waiting in the room?",
                 "Describe the time you spent alone in the room, please."),
                ("I sat down and revised my notes for a bit.",
                 "I texted a friend and looked at the bookshelf.",
                 "I just waited. I looked at my phone mostly.",
                 "I read my flashcards and drank some water."),
            ),
            (
                ("Did you go near the desk?", "Did you get up from your chair at any point?"),
                ("I walked past it to look out of the window, yes.",
                 "Only to put my bottle down for a second.",
                 "I don't think so, maybe once.",
                 "I stood up to stretch my legs, but I didn't go to the desk."),
            ),
            (
                ("The answer sheet on the desk was moved. Did you look at it or take a photo of it?",
                 "Somebody photographed the exam answers on that desk. Did you?"),
                ("No. I didn't look at it.",
                 "No, I didn't take any photos.",
                 "No. I didn't even know it was there.",
                 "No, I wouldn't do that."),
            ),
            (
                ("Would you mind showing me the photos on your phone?",
                 "How would you feel if we checked your phone?"),
                ("I'd rather not, there is private stuff on it.",
                 "I mean, if you really have to.",
                 "Sure, if that's part of the study.",
                 "I don't see why that's necessary."),
            ),
            (
                ("Is there anything else you want to tell me?", "Anything you would like to add?"),
                ("No, that's all.",
                 "No. I just want to get ready for the exam.",
                 "Not really.",
                 "No, I think I've said everything."),
            ),
        ),
        critical=2,
    ),
    Setting(
        context=(
            "A research study on interviewing. Volunteers sort parcels in a storage room for a few minutes; a "
            "tablet computer is left on a shelf there. Afterwards a security officer interviews each volunteer. "
            "Some volunteers were instructed to hide the tablet in their bag and deny it, the others only "
            "sorted parcels. The officer does not know which group the volunteer is in."
        ),
        interviewer="Security officer",
        subject="Volunteer",
        questions=(
            (
                ("Tell me what you did in the storage room.", "Walk me through your time in the storage room."),
                ("I sorted the small parcels by postcode, like the sheet said.",
                 "I stacked boxes and checked the labels against the list.",
                 "I moved some parcels from the trolley to the shelves.",
                 "I sorted parcels and took a short break halfway."),
            ),
            (
                ("Was anybody else in the room with you?", "Did you see anyone else there?"),
                ("Someone came in once to get a box, I think.",
                 "No, I was alone the whole time.",
                 "A man looked in the door but didn't stay.",
                 "Not that I noticed."),
            ),
            (
                ("A tablet is missing from the top shelf. Did you take it?",
                 "The tablet on the shelf is gone. Do you know where it is?"),
                ("No. I didn't take it.",
                 "No idea. I didn't see a tablet.",
                 "No, I only touched the parcels.",
                 "No, I don't have it."),
            ),
            (
                ("Can I have a look in your bag?", "Would you open your bag for me?"),
                ("Do you have to? Okay, I guess.",
                 "Sure, go ahead.",
                 "Is that really allowed?",
                 "If it helps, yes."),
            ),
            (
                ("Is there anything else I should know?", "Anything you want to add?"),
                ("No, that's everything.",
                 "No. Can I go now?",
                 "Not really.",
                 "I don't think so."),
            ),
        ),
        critical=2,
    ),
)

_DECEPTION = Pack(
    kind="deception",
    scenario_id="deception_interrogation",
    labels=("truthful", "deceptive"),
    id_prefix="dec",
    settings=_DECEPTION_SETTINGS,
    mg=MGParams(
        taxonomy="smg",
        cue_classes=(
            "touching or scratching neck",
            "rubbing hands and crossing fingers",
            "scratching or touching facial parts other than eyes",
            "turtling neck and shoulder",
            "touching or covering suprasternal notch",
            "playing with jewelry or manipulating other objects",
            "rubbing eyes and forehead",
            "pulling shirt collar",
            "moving legs",
        ),
        neutral_classes=(
            "illustrative hand gestures",
            "folding arms",
            "crossing legs",
            "playing or adjusting hair",
            "holding arms",
            "folding arms behind body",
            "scratching some part of body",
            "arms akimbo",
        ),
        base_rate_per_min=5.0,
        subject_sigma=0.45,
        rate_ratio=1.3,
        cue_share=(0.32, 0.58),
        cue_concentration=6.0,
        burst_prob=(0.25, 0.55),
    ),
    dialogue=DialogueParams(
        hedge_prob=(0.27, 0.33),
        detail_prob=(0.28, 0.24),
        hedges=("Honestly, ", "To be honest, ", "Um, ", "Well, ", "I mean, ", "As far as I remember, "),
        details=(
            " It must have been a bit after ten.",
            " The radiator was making a clicking noise.",
            " There was a blue folder on the left.",
            " I remember the clock was five minutes slow.",
            " Somebody was vacuuming in the corridor.",
        ),
        detail_questions=(0, 1),
    ),
    items_file="scenarios/data/deception_interrogation.jsonl",
)

_ROLES = ("software developer", "nurse", "sales manager", "accountant", "primary school teacher",
          "logistics coordinator")

_INTERVIEW_SETTINGS = tuple(
    Setting(
        context=(
            f"A job interview for a {role} position. The candidate sits at a table across from two interviewers; "
            "the excerpt covers the middle of the interview. How the candidate felt is not stated."
        ),
        interviewer="Interviewer",
        subject="Candidate",
        questions=(
            (
                ("Could you tell us a little about yourself?", "Let's start with a short introduction, please."),
                ("I've worked in the field for about six years, most recently in a mid-sized team.",
                 "I studied in Leeds, then spent four years at my current employer.",
                 "I'm someone who likes structure. I've been in similar roles for a while now.",
                 "I started as a trainee and worked my way up over the last few years."),
            ),
            (
                ("Why are you interested in this position?", "What attracted you to this role?"),
                ("The projects you work on sound interesting and I want a new challenge.",
                 "A friend works here and speaks well of the team.",
                 "It's a step up from what I do now, and closer to home.",
                 "I like the way the role combines people and planning."),
            ),
            (
                ("I see a gap of almost a year in your CV. What happened there?",
                 "Your last job ended after eight months. Why did you leave?",
                 "Tell us about a time you failed under pressure."),
                (("That was a difficult period. I had some personal things to sort out.",
                  "I took time to retrain and think about what I actually want.",
                  "I was caring for a family member.",
                  "I travelled for a while and did some freelance work."),
                 ("It didn't work out with my manager, so I decided to move on.",
                  "The company restructured and my role disappeared.",
                  "The job was different from what was advertised.",
                  "I got a better offer, and then it fell through."),
                 ("There was a project that went badly. I learned a lot from it.",
                  "I once missed a deadline because I didn't ask for help early enough.",
                  "A launch went wrong on my watch, and I had to explain it to the client.",
                  "During an audit I mixed up two reports. It was embarrassing.")),
            ),
            (
                ("What would you say is your biggest weakness?", "What do colleagues criticise about you?"),
                ("I sometimes take on too much at once.",
                 "I can be impatient when things move slowly.",
                 "Presenting in front of large groups isn't my favourite thing.",
                 "I tend to double-check things more than I need to."),
            ),
            (
                ("What salary are you expecting?", "What are your salary expectations?"),
                ("Something in line with the market for this role.",
                 "A bit more than I earn now, but I'm flexible.",
                 "I'd like to hear more about the whole package first.",
                 "Around what was in the advert would be fine."),
            ),
        ),
        critical=2,
    )
    for role in _ROLES
)

_INTERVIEW = Pack(
    kind="interview",
    scenario_id="interview_stress",
    labels=("calm", "stressed"),
    id_prefix="int",
    settings=_INTERVIEW_SETTINGS,
    mg=MGParams(
        taxonomy="imigue",
        cue_classes=(
            "touching or scratching neck",
            "rubbing or holding hands",
            "touching or scratching facial parts",
            "pressing lips",
            "buckling button, pulling shirt collar or adjusting tie",
            "touching jaw",
            "playing or manipulating objects",
            "bulging face or deep breath",
            "turtling neck",
            "touching or scratching head",
        ),
        neutral_classes=(
            "illustrative hand gestures",
            "sitting straightly",
            "moving torso",
            "minaret gesture",
            "head up",
            "folding arms",
            "crossing fingers",
        ),
        base_rate_per_min=5.0,
        subject_sigma=0.45,
        rate_ratio=1.3,
        cue_share=(0.32, 0.58),
        cue_concentration=6.0,
        burst_prob=(0.25, 0.55),
    ),
    dialogue=DialogueParams(
        hedge_prob=(0.27, 0.33),
        detail_prob=(0.28, 0.24),
        hedges=("Um, ", "Well, ", "So, ", "I mean, ", "Honestly, ", "Let me think. "),
        details=(
            " For example, last spring we delivered a big project two weeks early.",
            " My last review mentioned exactly that.",
            " I keep a list so I don't lose track.",
            " We were a team of five at the time.",
            " I can give you a reference for that.",
        ),
        detail_questions=(0, 1, 3),
    ),
    items_file="scenarios/data/interview_stress.jsonl",
)

PACKS: dict[str, Pack] = {p.kind: p for p in (_DECEPTION, _INTERVIEW)}
assert all(len({s.critical for s in p.settings}) == 1 for p in PACKS.values())


def get_pack(kind: str) -> Pack:
    try:
        return PACKS[kind]
    except KeyError:
        raise ValueError(f"unknown pack {kind!r}; choose one of: {', '.join(PACKS)}") from None


def generator_command(kind: str, n: int, seed: int, out: Optional[str] = None) -> str:
    out = out or get_pack(kind).items_file
    return f"mgreason generate-items {kind} --n {n} --seed {seed} --out {out}"


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
    for qi, (q_variants, a_variants) in enumerate(setting.questions):
        v = rng.randrange(len(q_variants))
        q = q_variants[v]
        if isinstance(a_variants[0], tuple):  # answers that belong to this variant of the question
            a_variants = a_variants[v]
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




# --------------------------------------------------------------------------------------
# informativeness: is the MG evidence informative but not decisive?
# --------------------------------------------------------------------------------------
_WORD = re.compile(r"[a-z']+")


def _transcript_of(item: dict[str, Any]) -> dict[str, Any]:
    t = item.get("transcript") or {}
    if hasattr(t, "model_dump"):
        t = t.model_dump()
    return t


def mg_features(items: Sequence[dict[str, Any]], classes: Sequence[str]) -> np.ndarray:
    """Bag of MG: per-class gestures per minute, plus the total rate (one row per item)."""
    index = {c: i for i, c in enumerate(classes)}
    X = np.zeros((len(items), len(classes) + 1))
    for r, it in enumerate(items):
        t = _transcript_of(it)
        events = t.get("events") or []
        minutes = max((t.get("duration_s") or max([e["end_s"] for e in events] + [60.0])) / 60.0, 1e-6)
        for e in events:
            if e["label"] in index:
                X[r, index[e["label"]]] += 1.0 / minutes
        X[r, -1] = len(events) / minutes
    return X


def _answer_text(item: dict[str, Any]) -> str:
    subject = item.get("subject")
    turns = item.get("dialogue") or []
    return " ".join(t["text"] for t in turns if subject is None or t.get("speaker") == subject)


def dialogue_features(
    items: Sequence[dict[str, Any]], vocabulary: Optional[Sequence[str]] = None, min_df: int = 2
) -> tuple[np.ndarray, list[str]]:
    """Bag of words of the subject's answers (counts; words in fewer than ``min_df`` items dropped)."""
    docs = [_WORD.findall(_answer_text(it).lower()) for it in items]
    if vocabulary is None:
        df: dict[str, int] = {}
        for d in docs:
            for w in set(d):
                df[w] = df.get(w, 0) + 1
        vocabulary = sorted(w for w, c in df.items() if c >= min_df)
    vocab = list(vocabulary)
    index = {w: i for i, w in enumerate(vocab)}
    X = np.zeros((len(items), len(vocab)))
    for r, d in enumerate(docs):
        for w in d:
            if w in index:
                X[r, index[w]] += 1.0
    return X, vocab


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = train.mean(axis=0)
    sd = train.std(axis=0)
    sd[sd < 1e-9] = 1.0
    return (train - mu) / sd, (test - mu) / sd


def _fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 30) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (bias unpenalised)."""
    Xb = np.hstack([X, np.ones((len(X), 1))])
    w = np.zeros(Xb.shape[1])
    reg = np.full(Xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(Xb @ w, -30, 30)))
        g = Xb.T @ (p - y) + reg * w
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb + np.diag(reg + 1e-8)
        step = np.linalg.solve(H, g)
        w -= step
        if np.max(np.abs(step)) < 1e-5:
            break
    return w


def _predict_logistic(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    return (np.hstack([X, np.ones((len(X), 1))]) @ w > 0).astype(int)


def _fit_predict(model: str, Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, l2: float) -> np.ndarray:
    Xtr, Xte = _standardize(Xtr, Xte)
    if model == "logistic":
        return _predict_logistic(_fit_logistic(Xtr, ytr, l2=l2), Xte)
    if model == "centroid":
        c0, c1 = Xtr[ytr == 0].mean(axis=0), Xtr[ytr == 1].mean(axis=0)
        d0 = ((Xte - c0) ** 2).sum(axis=1)
        d1 = ((Xte - c1) ** 2).sum(axis=1)
        return (d1 < d0).astype(int)
    raise ValueError(model)


def cv_accuracy(X: np.ndarray, y: np.ndarray, model: str = "logistic", folds: int = 5, seed: int = 0, l2: float = 1.0) -> float:
    """Stratified k-fold cross-validated accuracy (``folds >= len(y)``: leave-one-out)."""
    y = np.asarray(y, dtype=int)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=int)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        fold_of[idx] = np.arange(len(idx)) % folds
    correct = 0
    for f in range(folds):
        te = fold_of == f
        tr = ~te
        if te.sum() == 0 or len(set(y[tr])) < 2:
            continue
        correct += int((_fit_predict(model, X[tr], y[tr], X[te], l2) == y[te]).sum())
    return correct / len(y)


@dataclass
class InformativenessReport:
    kind: str
    n: int
    labels: tuple[str, str]
    mg_logistic: float
    mg_centroid: float
    dialogue_logistic: float
    combined_logistic: float
    rates: dict[str, dict[str, float]] = field(default_factory=dict)
    folds: int = 5  # 0: not cross-validated, classifiers trained on a separate sample of n_train items
    n_train: int = 0

    @property
    def method(self) -> str:
        if self.folds == 0:
            return f"classifiers trained on {self.n_train} other generated items"
        return ("leave-one-out" if self.folds >= self.n else f"{self.folds}-fold") + " cross-validated"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            "labels": list(self.labels),
            "method": self.method,
            "accuracy": {
                "mg_bag_logistic": round(self.mg_logistic, 4),
                "mg_bag_nearest_centroid": round(self.mg_centroid, 4),
                "dialogue_bow_logistic": round(self.dialogue_logistic, 4),
                "mg_plus_dialogue_logistic": round(self.combined_logistic, 4),
                "chance": 0.5,
            },
            "label_conditional": {k: {m: round(v, 4) for m, v in d.items()} for k, d in self.rates.items()},
        }

    def lines(self) -> list[str]:
        out = [
            f"{self.kind}: {self.n} items, accuracy (chance 0.50), {self.method}",
            f"  MG alone, bag-of-MG logistic regression   {self.mg_logistic:.3f}",
            f"  MG alone, bag-of-MG nearest centroid      {self.mg_centroid:.3f}",
            f"  dialogue alone, bag-of-words logistic     {self.dialogue_logistic:.3f}",
            f"  MG + dialogue, logistic                   {self.combined_logistic:.3f}",
            "  label-conditional rates (mean over items):",
        ]
        for lab, d in self.rates.items():
            out.append(
                f"    {lab:<10} {d['gestures_per_min']:.2f} gestures/min, self-adaptor share {d['self_adaptor_share']:.2f}, "
                f"P(self-adaptor during the pointed answer) {d['p_self_adaptor_at_pointed_answer']:.2f}"
            )
        return out


def label_conditional_rates(items: Sequence[dict[str, Any]], kind: str) -> dict[str, dict[str, float]]:
    pack = get_pack(kind)
    cues = set(pack.mg.cue_classes)
    pointed = pack.settings[0].critical  # the same in every setting of a pack
    out: dict[str, dict[str, float]] = {}
    for lab in pack.labels:
        sub = [it for it in items if it["label"] == lab]
        if not sub:
            continue
        rates, shares, crit = [], [], []
        for it in sub:
            t = _transcript_of(it)
            ev = t.get("events") or []
            minutes = max((t.get("duration_s") or 60.0) / 60.0, 1e-6)
            rates.append(len(ev) / minutes)
            n_cue = sum(e["label"] in cues for e in ev)
            shares.append(n_cue / len(ev) if ev else 0.0)
            answers = [tu for tu in it["dialogue"] if tu["speaker"] == it["subject"]]
            setting_crit = answers[min(pointed, len(answers) - 1)]
            crit.append(
                float(any(e["label"] in cues and e["start_s"] < setting_crit["end_s"] + 1.0 and e["end_s"] > setting_crit["start_s"] for e in ev))
            )
        out[lab] = {
            "gestures_per_min": float(np.mean(rates)),
            "self_adaptor_share": float(np.mean(shares)),
            "p_self_adaptor_at_pointed_answer": float(np.mean(crit)),
        }
    return out


def measure_informativeness(
    items: Sequence[dict[str, Any]], kind: str, folds: int = 5, seed: int = 0, l2: float = 1.0
) -> InformativenessReport:
    """How far the MG evidence and the dialogue each go towards the label (see module docstring)."""
    with _single_threaded_blas():
        return _measure(items, kind, folds, seed, l2)


def _single_threaded_blas():
    """These fits are small: a multi-threaded BLAS only thrashes (10x slower on a busy 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _measure(items: Sequence[dict[str, Any]], kind: str, folds: int, seed: int, l2: float) -> InformativenessReport:
    pack = get_pack(kind)
    tax = get_taxonomy(pack.mg.taxonomy)
    y = np.array([pack.labels.index(it["label"]) for it in items])
    Xm = mg_features(items, tax.names)
    Xd, _ = dialogue_features(items)
    folds = min(folds, len(items))
    return InformativenessReport(
        kind=kind,
        n=len(items),
        labels=pack.labels,
        mg_logistic=cv_accuracy(Xm, y, "logistic", folds, seed, l2),
        mg_centroid=cv_accuracy(Xm, y, "centroid", folds, seed, l2),
        dialogue_logistic=cv_accuracy(Xd, y, "logistic", folds, seed, l2),
        combined_logistic=cv_accuracy(np.hstack([Xm, Xd]), y, "logistic", folds, seed, l2),
        rates=label_conditional_rates(items, kind),
        folds=folds,
    )


def measure_sample(kind: str, n: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """A large sample of the generator, disjoint from the packs written with any integer seed."""
    return generate_items(kind, n, seed=f"{seed}-measure")


def measure_generator(kind: str, n: int = 2000, seed: int = 0) -> InformativenessReport:
    """Informativeness of the generator itself: 5-fold CV on :func:`measure_sample`."""
    return measure_informativeness(measure_sample(kind, n, seed), kind, folds=5, seed=seed)


def measure_held_out(
    train: Sequence[dict[str, Any]], test: Sequence[dict[str, Any]], kind: str, l2: float = 1.0
) -> InformativenessReport:
    """Classifiers fitted on ``train`` (e.g. :func:`measure_sample`), accuracy on ``test`` (e.g. a written pack):
    how informative the evidence in a small pack is, without the noise of fitting on the pack itself."""
    pack = get_pack(kind)
    names = get_taxonomy(pack.mg.taxonomy).names
    ytr = np.array([pack.labels.index(it["label"]) for it in train])
    yte = np.array([pack.labels.index(it["label"]) for it in test])
    Mtr, Mte = mg_features(train, names), mg_features(test, names)
    Dtr, vocab = dialogue_features(train)
    Dte, _ = dialogue_features(test, vocab)

    def acc(model: str, Xtr: np.ndarray, Xte: np.ndarray) -> float:
        return float((_fit_predict(model, Xtr, ytr, Xte, l2) == yte).mean())

    with _single_threaded_blas():
        return InformativenessReport(
            kind=kind,
            n=len(test),
            labels=pack.labels,
            mg_logistic=acc("logistic", Mtr, Mte),
            mg_centroid=acc("centroid", Mtr, Mte),
            dialogue_logistic=acc("logistic", Dtr, Dte),
            combined_logistic=acc("logistic", np.hstack([Mtr, Dtr]), np.hstack([Mte, Dte])),
            rates=label_conditional_rates(test, kind),
            folds=0,
            n_train=len(train),
        )
