"""Scenario authoring: scaffolding new scenarios, seeded synthetic item packs, the scenario docs.

* :mod:`mgreason.authoring.scaffold` -- ``mgreason new-scenario NAME [--dir DIR]``
* :mod:`mgreason.authoring.generators` -- ``mgreason generate-items deception|interview``
  (synthetic dialogue + MG transcripts whose statistics depend on the hidden label) and the
  informativeness check of the evidence they contain
* :mod:`mgreason.authoring.docs` -- the field reference of ``docs/scenarios.md``, generated from
  the pydantic model :class:`mgreason.scenario.spec.ScenarioSpec`
"""

from __future__ import annotations

__all__ = ["scaffold", "generators", "docs"]
