"""Scenarios: YAML spec → items → rendered prompts under each condition."""

from mgreason.scenario.loader import Item, Scenario, load_scenario, load_spec
from mgreason.scenario.spec import BUILTIN_CONDITIONS, ConditionSpec, ScenarioSpec

__all__ = ["Item", "Scenario", "ScenarioSpec", "ConditionSpec", "BUILTIN_CONDITIONS", "load_scenario", "load_spec"]
