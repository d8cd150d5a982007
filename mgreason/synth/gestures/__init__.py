"""The synthetic micro-gesture catalogue: parametric gestures on the seated upper body, one class per iMiGUE id.

Each gesture class registers itself with :func:`mgreason.synth.engine.register` where it is
defined; importing this package imports every catalogue module, so :data:`MOTIONS` is complete.
To add a gesture, define a :class:`~mgreason.synth.engine.HandGesture` or
:class:`~mgreason.synth.engine.BodyMotion` subclass with ``raw_id`` set, decorated with
``@register``, in the module of its body region (or a new module imported below).

Modules: :mod:`.head` (hand to head: hat, head, forehead, face, eyes, ears, nails, jaw, neck, hair),
:mod:`.torso` (hand to body: collar, notch, back, folded/behind/akimbo arms, clothes, arm),
:mod:`.hands` (hands together: rub, cross fingers, minaret, objects; illustrative gestures),
:mod:`.posture` (turtling, deep breath, torso, sitting straight, head up, shoulders).

Variation per instance: hand (left/right/both, subject handedness), contact point
(and a personal bias of the subject), hand orientation, finger curl, amplitude,
frequency, speed, number of repetitions, partial (not completed) reaches, head
response. Classes that are close in space (head / hat / forehead / hair / ear; jaw /
face / nails / neck / notch / collar; rub / hold / cross fingers / minaret / objects;
moving torso / sitting straight / head up; shoulders / turtling / deep breath) share
neighbouring contact regions on purpose.

Not modelled: "pressing lips" (29), invisible in a 22-joint skeleton.
"""

from __future__ import annotations

from mgreason.synth.engine import REGISTRY, Motion
from mgreason.synth.gestures import hands, head, posture, torso  # noqa: F401  (each registers its classes)
from mgreason.taxonomy import IMIGUE

__all__ = ["MOTIONS", "supported_raw_ids", "get_motion"]

MOTIONS: dict[int, Motion] = REGISTRY
"""iMiGUE raw class id -> motion instance (every registered gesture)."""


def supported_raw_ids() -> list[int]:
    """iMiGUE raw class ids the generator can produce, in taxonomy order."""
    return [c.raw_id for c in IMIGUE.classes if c.raw_id in MOTIONS]


def get_motion(raw_id: int) -> Motion:
    try:
        return MOTIONS[raw_id]
    except KeyError:
        raise KeyError(f"no synthetic motion for iMiGUE class {raw_id}") from None
