"""Micro-gesture class taxonomies: iMiGUE (32), SMG (17) and MA-52 (52).

Each taxonomy maps a 0-based *label id* (what classifiers predict) to a canonical
human-readable name, and keeps the dataset's own raw id (what the annotation files
contain). iMiGUE's raw ids are 1..31 plus 99 for "illustrative hand gestures", the
non-micro-gesture class, which takes the last index (31), as every public
iMiGUE classifier does.

Sources: the class lists collected in the project's research notes
(`paper-and-datasets.md`); typos of the community lists are corrected in the
canonical names, the short names are kept as aliases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# a recognizer event that carries its body-region group instead of a fine class: "head-hand (coarse)"
COARSE_SUFFIX = " (coarse)"


@dataclass(frozen=True)
class MGClass:
    label_id: int  # 0-based index used by classifiers
    raw_id: int  # id as written in the dataset's annotation files
    name: str  # canonical name used in transcripts and prompts
    short: str = ""  # short alias
    is_mg: bool = True  # False for non-micro-gesture classes (illustrative gestures)
    body_part: str = ""


@dataclass(frozen=True)
class Taxonomy:
    name: str
    classes: tuple[MGClass, ...]
    _by_name: dict[str, MGClass] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = [c.label_id for c in self.classes]
        if ids != list(range(len(ids))):
            raise ValueError(f"taxonomy {self.name}: label ids must be 0..N-1 in order")
        index: dict[str, MGClass] = {}
        for c in self.classes:
            for key in (c.name, c.short):
                if key:
                    index[_norm(key)] = c
        object.__setattr__(self, "_by_name", index)

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def by_label_id(self, label_id: int) -> MGClass:
        if not 0 <= label_id < len(self.classes):
            raise KeyError(f"{self.name}: no class with label id {label_id}")
        return self.classes[label_id]

    def by_raw_id(self, raw_id: int) -> MGClass:
        for c in self.classes:
            if c.raw_id == raw_id:
                return c
        raise KeyError(f"{self.name}: no class with raw id {raw_id}")

    def by_name(self, name: str) -> MGClass:
        try:
            return self._by_name[_norm(name)]
        except KeyError:
            raise KeyError(f"{self.name}: unknown class name {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _norm(name) in self._by_name


def _norm(s: str) -> str:
    return " ".join(s.lower().replace("_", " ").replace("-", " ").split())


_IMIGUE = [
    # (raw id, canonical name, short alias, body part)
    (1, "turtling neck", "turtle neck", "head"),
    (2, "bulging face or deep breath", "deep breath", "head"),
    (3, "touching hat", "touch hat", "head-hand"),
    (4, "touching or scratching head", "touch head", "head-hand"),
    (5, "touching or scratching forehead", "touch forehead", "head-hand"),
    (6, "covering face", "cover face", "head-hand"),
    (7, "rubbing eyes", "rub eyes", "head-hand"),
    (8, "touching or scratching facial parts", "touch other face part", "head-hand"),
    (9, "touching ears", "touch ears", "head-hand"),
    (10, "biting nails", "bite nails", "head-hand"),
    (11, "touching jaw", "touch chin", "head-hand"),
    (12, "touching or scratching neck", "touch neck", "body-hand"),
    (13, "playing or adjusting hair", "play hair", "head-hand"),
    (14, "buckling button, pulling shirt collar or adjusting tie", "adjust tie", "body-hand"),
    (15, "touching or covering suprasternal notch", "touch chest", "body-hand"),
    (16, "scratching back", "scratch back", "body-hand"),
    (17, "folding arms", "fold arm", "upper limb"),
    (18, "dusting off clothes", "tidy sleeve", "body-hand"),
    (19, "putting arms behind body", "put arm back", "upper limb"),
    (20, "moving torso", "move torso", "body"),
    (21, "sitting straightly", "sit straight", "body"),
    (22, "scratching or touching arms", "scratch arm", "upper limb"),
    (23, "rubbing or holding hands", "rub hand", "upper limb"),
    (24, "crossing fingers", "cross finger", "upper limb"),
    (25, "minaret gesture", "minaret hand", "upper limb"),
    (26, "playing or manipulating objects", "play things", "upper limb"),
    (27, "holding back arms", "withdraw arms", "upper limb"),
    (28, "head up", "head up", "head"),
    (29, "pressing lips", "bite lip", "head"),
    (30, "arms akimbo", "arm akimbo", "upper limb"),
    (31, "shaking shoulders", "shake shoulder", "body"),
    (99, "illustrative hand gestures", "illustrative", "upper limb"),
]

IMIGUE = Taxonomy(
    "imigue",
    tuple(
        MGClass(label_id=i, raw_id=raw, name=name, short=short, is_mg=raw != 99, body_part=part)
        for i, (raw, name, short, part) in enumerate(_IMIGUE)
    ),
)

_SMG = [
    "turtling neck and shoulder",
    "rubbing eyes and forehead",
    "folding arms",
    "touching or covering suprasternal notch",
    "moving legs",
    "touching or scratching neck",
    "folding arms behind body",
    "rubbing hands and crossing fingers",
    "arms akimbo",
    "crossing legs",
    "scratching some part of body",
    "scratching or touching facial parts other than eyes",
    "playing or adjusting hair",
    "holding arms",
    "pulling shirt collar",
    "playing with jewelry or manipulating other objects",
    "illustrative hand gestures",
]

SMG = Taxonomy(
    "smg",
    tuple(
        MGClass(label_id=i, raw_id=i + 1, name=name, is_mg=name != "illustrative hand gestures")
        for i, name in enumerate(_SMG)
    ),
)

_MA52 = [
    "shaking body", "sitting straightly", "shrugging", "turning around", "rising up",
    "bowing head", "head up", "tilting head", "turning head", "nodding", "shaking head",
    "scratching arms", "playing objects", "putting hands together", "rubbing hands",
    "pointing oneself", "clenching fist", "stretching arms", "retracting arms", "waving",
    "spreading hands", "hands touching fingers", "other finger movements", "illustrative gestures",
    "shaking legs", "curling legs", "spread legs", "closing legs", "crossing legs",
    "stretching feet", "retracting feet", "tiptoe", "scratching or touching neck",
    "scratching or touching chest", "scratching or touching back", "scratching or touching shoulder",
    "arms akimbo", "crossing arms", "playing or tidying hair", "scratching or touching hindbrain",
    "scratching or touching forehead", "scratching or touching face", "rubbing eyes", "touching nose",
    "touching ears", "covering face", "covering mouth", "pushing glasses", "patting legs",
    "touching legs", "scratching legs", "scratching feet",
]
# body-level groups of MA-52 (fine -> coarse mapping of the official evaluation script)
_MA52_PARTS = [
    (range(0, 5), "body"), (range(5, 11), "head"), (range(11, 24), "upper limb"),
    (range(24, 32), "lower limb"), (range(32, 38), "body-hand"), (range(38, 48), "head-hand"),
    (range(48, 52), "leg-hand"),
]


def _ma52_part(i: int) -> str:
    return next(part for r, part in _MA52_PARTS if i in r)


MA52 = Taxonomy(
    "ma52",
    tuple(
        MGClass(label_id=i, raw_id=i, name=name, is_mg=name != "illustrative gestures", body_part=_ma52_part(i))
        for i, name in enumerate(_MA52)
    ),
)

TAXONOMIES: dict[str, Taxonomy] = {t.name: t for t in (IMIGUE, SMG, MA52)}


def get_taxonomy(name: str) -> Taxonomy:
    try:
        return TAXONOMIES[name.lower().replace("-", "")]
    except KeyError:
        raise KeyError(f"unknown taxonomy {name!r}; known: {', '.join(TAXONOMIES)}") from None


def coarse_label(label: str) -> str:
    """The body-region group of a class name (iMiGUE/SMG/MA-52 taxonomies); a ``"<group> (coarse)"``
    fallback label gives its group; anything else is returned unchanged."""
    if label.endswith(COARSE_SUFFIX):
        return label[: -len(COARSE_SUFFIX)]
    for tax in TAXONOMIES.values():
        try:
            part = tax.by_name(label).body_part
        except KeyError:
            continue
        if part:
            return part
    return label
