"""Scenario authoring: scaffolding new scenarios, seeded synthetic item packs, the scenario docs.

* :mod:`mgreason.authoring.scaffold` -- ``mgreason new-scenario NAME [--dir DIR]``
* :mod:`mgreason.authoring.packs` -- the synthetic packs' text pools and parameters (YAML files in
  ``mgreason/authoring/data/``, package data)
* :mod:`mgreason.authoring.generators` -- ``mgreason generate-items deception|interview``
  (synthetic dialogue + MG transcripts whose statistics depend on the hidden label)
* :mod:`mgreason.authoring.informativeness` -- how informative the evidence of a pack is (the
  baselines' bag-of-MG logistic regression, cross-validated)
* :mod:`mgreason.authoring.docs` -- the field reference of ``docs/scenarios.md``, generated from
  the pydantic model :class:`mgreason.scenario.spec.ScenarioSpec`
"""

from __future__ import annotations

__all__ = ["scaffold", "packs", "generators", "informativeness", "docs"]
