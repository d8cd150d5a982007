"""The MUMIN coding scheme (Allwood et al. 2007) as used by the real deception datasets (issue 24).

DOLOS (Guo et al., ICCV 2023) and the Real-Life Trial corpus (Pérez-Rosas et al., ICMI 2015) annotate
nonverbal behaviour with MUMIN codes: facial expression, eyebrows, eyes, gaze, mouth, lips, head, hands and
their trajectory, body (arms, shoulders) and, in DOLOS, voice. Each code below has

* ``code``: a stable identifier (``head-nod-repeated``), also accepted as a label;
* ``name``: the canonical label, plain English, what transcripts hold and prompts show ("repeated head nods");
* ``group``: its MUMIN group (:data:`GROUPS`);
* ``description``: one sentence for people (docs, ``mgreason`` output);
* ``dolos``: the DOLOS sheet's ``(sub-group, field)`` header, or None;
* ``rlt``: the Real-Life Trial CSV column, or None;
* ``variants``: other spellings accepted as the same label.

:data:`mgreason.taxonomy.MUMIN` is built from this table, so ``taxonomy: mumin`` transcripts are checked
strictly like iMiGUE ones. Where a MUMIN code corresponds to a micro-gesture class of iMiGUE, SMG or MA-52,
:data:`MG_CORRESPONDENCE` says so; MUMIN is not a micro-gesture taxonomy, and nothing maps one onto the other.
Pure data, no mgreason imports (the foundation's taxonomy module reads it).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

GROUPS = ("face", "eyebrows", "eyes", "gaze", "mouth", "lips", "head", "hands", "trajectory", "body", "vocal")


class MuminCode(NamedTuple):
    code: str
    name: str
    group: str
    description: str
    dolos: Optional[tuple[str, str]] = None  # (sub-group, field) header of Dolos.xlsx / train_dolos.xlsx
    rlt: Optional[str] = None  # column of "All_Gestures_Deceptive and Truthful.csv"
    variants: tuple[str, ...] = ()


_C = MuminCode
# fmt: off
CODES: tuple[MuminCode, ...] = (
    # face (DOLOS "General face", RLT "OtherGestures" is MUMIN's general-face "other")
    _C("smile", "smiling", "face", "the person smiles", ("General face", "Smile"), "Smile", ("smile",)),
    _C("laughter", "laughing", "face", "the person laughs", ("General face", "Laughter"), "Laugh", ("laugh",)),
    _C("scowl", "scowling", "face", "an angry or displeased facial expression", ("General face", "Scowl"), "Scowl", ("scowl",)),
    _C("face-other", "another facial expression", "face", "a facial expression other than a smile, laugh or scowl", None, "OtherGestures"),
    # eyebrows
    _C("eyebrows-frown", "frowning", "eyebrows", "eyebrows drawn together and down", ("Eyebrows", "Frowning"), "Frown", ("frown",)),
    _C("eyebrows-raise", "raised eyebrows", "eyebrows", "eyebrows raised", ("Eyebrows", "Raising"), "Raise", ("eyebrows raising",)),
    _C("eyebrows-other", "another eyebrow movement", "eyebrows", "an eyebrow movement other than frowning or raising", None, "otherEyebrowMovement"),
    # eyes
    _C("eyes-close-repeated", "frequent blinking", "eyes", "the eyes close repeatedly (frequent blinking)", ("Eyes", "Frequent Blinking"), "Close-R", ("blinking",)),
    _C("eyes-open-exaggerated", "eyes opened exaggeratedly wide", "eyes", "the eyes open wider than usual", ("Eyes", "Exaggerated Opening"), "X-Open"),
    _C("eyes-close-exaggerated", "eyes closed exaggeratedly", "eyes", "the eyes are shut tightly or for longer than a blink", ("Eyes", "Exaggerated Closing")),
    _C("eyes-close-both", "both eyes closed", "eyes", "both eyes close", None, "Close-BE"),
    _C("eyes-other", "another eye movement", "eyes", "an eye movement other than the ones above", None, "OtherEyeMovements"),
    # gaze
    _C("gaze-interlocutor", "looking at the interlocutor", "gaze", "the gaze is directed at the person spoken to", ("Gaze", "Towards interlocutor"), "gazeInterlocutor"),
    _C("gaze-up", "looking up", "gaze", "the gaze is directed upwards", ("Gaze", "Up"), "gazeUp"),
    _C("gaze-down", "looking down", "gaze", "the gaze is directed downwards", ("Gaze", "Down"), "gazeDown"),
    _C("gaze-side", "looking sideways", "gaze", "the gaze is directed to the side", ("Gaze", "Sideways"), "gazeSide"),
    _C("gaze-other", "another gaze direction", "gaze", "a gaze direction other than the ones above", None, "otherGaze"),
    # mouth
    _C("mouth-open", "mouth open", "mouth", "the mouth is open (not speaking)", None, "openMouth"),
    _C("mouth-open-exaggerated", "mouth opened exaggeratedly wide", "mouth", "the mouth opens wider than usual", ("Mouth Openness", "Exaggerated Opening")),
    _C("mouth-closed", "mouth kept closed", "mouth", "the mouth stays closed, e.g. in an awkward pause", ("Mouth Openness", "Closed (awkward pauses)"), "closeMouth"),
    # lips
    _C("lips-corners-up", "lip corners turned up", "lips", "the corners of the lips go up", ("Mouth Lips", "Corners up"), "lipsUp"),
    _C("lips-corners-down", "lip corners turned down", "lips", "the corners of the lips go down", ("Mouth Lips", "Corners down"), "lipsDown"),
    _C("lips-protruded", "lips pushed forward", "lips", "the lips are protruded", ("Mouth Lips", "Protruded"), "lipsProtruded"),
    _C("lips-retracted", "lips pulled back", "lips", "the lips are retracted (pulled back or pressed in)", ("Mouth Lips", "Retracted"), "lipsRetracted"),
    # head (DOLOS "Chin" and "Head Movements")
    _C("chin-up", "chin moved upwards", "head", "the chin moves up", ("Chin", "Move Upwards")),
    _C("chin-down", "chin moved downwards", "head", "the chin moves down", ("Chin", "Move Downwards")),
    _C("head-nod", "nodding", "head", "the head nods (down and up)", ("Head Movements", "Nod"), "downRHead", ("nod", "head nod")),
    _C("head-nod-repeated", "repeated head nods", "head", "the head nods several times", None, "downR"),
    _C("head-forward", "head moved forwards", "head", "the head moves forwards", ("Head Movements", "Move Forward"), "forwardHead"),
    _C("head-backward", "head moved backwards", "head", "the head moves backwards", ("Head Movements", "Move Backward"), "backHead"),
    _C("head-tilt", "head tilted to the side", "head", "the head tilts sideways once", ("Head Movements", "Tilt"), "sideTilt", ("head tilt",)),
    _C("head-tilt-repeated", "head tilted repeatedly", "head", "the head tilts sideways several times", None, "sideTiltR"),
    _C("head-side-turn", "head turned to the side", "head", "the head turns sideways once", ("Head Movements", "Side-turn"), "SideTurn", ("side turn",)),
    _C("head-shake", "head shaking", "head", "the head turns from side to side repeatedly (a shake)", ("Head Movements", "Shake"), "sideTurnR", ("head shake",)),
    _C("head-up", "head raised", "head", "the head is raised", ("Head Movements", "Head up")),
    _C("head-waggle", "head waggling", "head", "the head waggles from side to side", None, "waggle"),
    _C("head-other", "another head movement", "head", "a head movement other than the ones above", None, "otherHeadM"),
    # hands (DOLOS "Hand Movements"; RLT handedness)
    _C("hands-single", "one hand moving", "hands", "one hand moves (a gesture with a single hand)", None, "singleHand"),
    _C("hands-both", "both hands moving", "hands", "both hands move (a two-handed gesture)", None, "bothHands"),
    _C("hands-other", "another hand movement", "hands", "a hand movement other than the ones above", None, "otherHandM"),
    _C("hand-rubbing", "rubbing the hands or body", "hands", "the hands rub each other or a part of the body", ("Hand Movements", "Rubbing")),
    _C("hand-scratching", "scratching", "hands", "a hand scratches the head, face or body", ("Hand Movements", "Scratching")),
    _C("hand-touching", "touching the head or body", "hands", "a hand touches the head, face or body", ("Hand Movements", "Touching head/body/etc")),
    _C("hand-covering", "covering the face or mouth", "hands", "a hand covers the face, the mouth or another part", ("Hand Movements", "Covering face/mouth/etc")),
    _C("fingers-crossing", "crossing fingers", "hands", "the fingers of the two hands interlock or cross", ("Hand Movements", "Crossing fingers")),
    _C("palm-up", "palms turned up", "hands", "an open hand with the palm turned up", ("Hand Movements", "Palm up")),
    # trajectory (RLT)
    _C("hands-complex", "complex hand movement", "trajectory", "the hands follow a complex trajectory", None, "complexHandM"),
    _C("hands-sideways", "hands moving sideways", "trajectory", "the hands move sideways", None, "sidewaysHand"),
    _C("hands-down", "hands moving down", "trajectory", "the hands move downwards", None, "downHands"),
    _C("hands-up", "hands moving up", "trajectory", "the hands move upwards", None, "upHands"),
    # body (DOLOS "Arm movement", "Shoulder movement")
    _C("arms-open", "arms open", "body", "the arms are held open, away from the body", ("Arm movement", "Open")),
    _C("arms-folded", "arms folded", "body", "the arms are folded across the body", ("Arm movement", "Folded"), None, ("folded arms",)),
    _C("shoulders-shrug", "shrugging", "body", "the shoulders go up (a shrug)", ("Shoulder movement", "Shrugs"), None, ("shrug",)),
    # vocal (DOLOS "Fluency", "Arousal")
    _C("speech-disturbance", "speech disturbances", "vocal", "slips, false starts or stutters (other than 'ah' or 'mm')", ("Fluency", "Non-ah-mmh speech disturbances")),
    _C("word-repetition", "repeating words or phrases", "vocal", "the person repeats words or phrases", ("Fluency", "Word and phrase repetitions")),
    _C("silent-pause", "silent pauses", "vocal", "noticeable silent pauses in speech", ("Fluency", "Silent pauses")),
    _C("voice-loud", "loud voice", "vocal", "the voice is loud", ("Arousal", "Loudness")),
    _C("voice-tense", "tense voice", "vocal", "the voice sounds tense", ("Arousal", "Tension")),
)
# fmt: on

# MUMIN code -> the micro-gesture classes it overlaps (taxonomy: [class names]). A correspondence, not an
# identity: MUMIN codes say what moved, the MG classes often also say where (e.g. which part is touched).
MG_CORRESPONDENCE: dict[str, dict[str, tuple[str, ...]]] = {
    "arms-folded": {"imigue": ("folding arms",), "smg": ("folding arms",), "ma52": ("crossing arms",)},
    "hand-covering": {"imigue": ("covering face",), "ma52": ("covering face", "covering mouth")},
    "hand-scratching": {
        "imigue": ("touching or scratching head", "touching or scratching forehead", "touching or scratching facial parts",
                   "touching or scratching neck", "scratching or touching arms", "scratching back"),
        "smg": ("scratching some part of body", "scratching or touching facial parts other than eyes"),
    },
    "hand-touching": {
        "imigue": ("touching or scratching head", "touching or scratching facial parts", "touching jaw", "touching ears"),
        "smg": ("scratching or touching facial parts other than eyes",),
    },
    "hand-rubbing": {"imigue": ("rubbing or holding hands",), "smg": ("rubbing hands and crossing fingers",), "ma52": ("rubbing hands",)},
    "fingers-crossing": {"imigue": ("crossing fingers",), "smg": ("rubbing hands and crossing fingers",)},
    "head-up": {"imigue": ("head up",), "ma52": ("head up",)},
    "lips-retracted": {"imigue": ("pressing lips",)},
    "shoulders-shrug": {"ma52": ("shrugging",)},
    "head-nod": {"ma52": ("nodding",)},
    "head-nod-repeated": {"ma52": ("nodding",)},
    "head-shake": {"ma52": ("shaking head",)},
    "head-tilt": {"ma52": ("tilting head",)},
    "head-side-turn": {"ma52": ("turning head",)},
}

RLT_COLUMNS: tuple[str, ...] = (
    "OtherGestures", "Smile", "Laugh", "Scowl", "otherEyebrowMovement", "Frown", "Raise", "OtherEyeMovements",
    "Close-R", "X-Open", "Close-BE", "gazeInterlocutor", "gazeDown", "gazeUp", "otherGaze", "gazeSide", "openMouth",
    "closeMouth", "lipsDown", "lipsUp", "lipsRetracted", "lipsProtruded", "SideTurn", "downR", "sideTilt", "backHead",
    "otherHeadM", "sideTurnR", "sideTiltR", "waggle", "forwardHead", "downRHead", "singleHand", "bothHands",
    "otherHandM", "complexHandM", "sidewaysHand", "downHands", "upHands",
)  # the release's 39 code columns, in its order


def header_key(text: str) -> str:
    """A sheet header as a lookup key: invisible characters (zero-width spaces, non-breaking spaces) and case
    removed, runs of spaces collapsed (the DOLOS headers carry ``\\u200b`` and ``\\xa0``)."""
    text = text.replace("\u200b", " ").replace("\xa0", " ").replace("\ufeff", " ")
    return " ".join(text.lower().split())


BY_CODE: dict[str, MuminCode] = {c.code: c for c in CODES}
BY_DOLOS: dict[tuple[str, str], MuminCode] = {(header_key(c.dolos[0]), header_key(c.dolos[1])): c for c in CODES if c.dolos}
BY_RLT: dict[str, MuminCode] = {c.rlt: c for c in CODES if c.rlt}


def labels_of(code: MuminCode) -> tuple[str, ...]:
    """Every spelling accepted as this code's label: its name, code, RLT column, DOLOS ``"sub-group field"``
    header and variants."""
    out = [code.name, code.code, *code.variants]
    if code.rlt:
        out.append(code.rlt)
    if code.dolos:
        out.append(f"{code.dolos[0]} {code.dolos[1]}")
    return tuple(out)


__all__ = [
    "BY_CODE", "BY_DOLOS", "BY_RLT", "CODES", "GROUPS", "MG_CORRESPONDENCE", "MuminCode", "RLT_COLUMNS",
    "header_key", "labels_of",
]
