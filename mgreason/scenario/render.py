"""The one rendering path: scenario templates + item + condition → chat messages.

Templates run in a Jinja2 ``SandboxedEnvironment`` with ``StrictUndefined``: a
missing variable is an error, never an empty string. User data (dialogue,
transcripts) is passed as *variables*, never compiled as template source, so
``{{ 7*7 }}`` inside a dialogue line reaches the model literally.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from mgreason.errors import ScenarioError
from mgreason.scenario.loader import Item, Scenario
from mgreason.scenario.spec import ConditionSpec
from mgreason.transcript import Transcript

Message = dict[str, str]


@lru_cache(maxsize=64)
def _environment(template_dir: str) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(template_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _template(path: Path) -> jinja2.Template:
    env = _environment(str(path.parent.resolve()))
    try:
        return env.get_template(path.name)
    except jinja2.TemplateSyntaxError as e:
        raise ScenarioError(f"template syntax error at line {e.lineno}: {e.message}", file=path) from None


def render_evidence(transcript: Optional[Transcript], form: str, show_confidence: Optional[bool]) -> Optional[str]:
    if form == "none" or transcript is None:
        return None
    if form == "timeline":
        return transcript.render(show_confidence=show_confidence)
    if form == "aggregate":
        return transcript.render_aggregate()
    raise ValueError(f"unknown evidence form {form!r}")


def template_variables(
    scenario: Scenario, item: Item, condition: ConditionSpec, evidence_transcript: Optional[Transcript]
) -> dict[str, Any]:
    spec = scenario.spec
    evidence = render_evidence(evidence_transcript, condition.evidence, spec.transcripts.show_confidence)
    return {
        "item": item.fields,
        "item_id": item.id,
        "question": spec.question,
        "labels": [{"name": lab.name, "description": lab.description} for lab in spec.labels],
        "label_names": spec.label_names,
        "condition": condition.name,
        "evidence_form": None if evidence is None else condition.evidence,
        "evidence": evidence,
        "evidence_events": None
        if evidence is None or evidence_transcript is None
        else [e.model_dump() for e in evidence_transcript.events],
        "recording_duration_s": None if evidence_transcript is None else evidence_transcript.duration_s,
    }


def _render_one(path: Path, variables: dict[str, Any], item_id: str, condition: str) -> str:
    try:
        return _template(path).render(**variables).strip()
    except jinja2.UndefinedError as e:
        raise ScenarioError(
            f"undefined template variable: {e.message} (item {item_id}, condition {condition})", file=path
        ) from None
    except jinja2.exceptions.SecurityError as e:
        raise ScenarioError(f"template not allowed by the sandbox: {e}", file=path) from None
    except jinja2.TemplateError as e:
        raise ScenarioError(f"template error: {e} (item {item_id}, condition {condition})", file=path) from None


def render_messages(
    scenario: Scenario, item: Item, condition: ConditionSpec, evidence_transcript: Optional[Transcript]
) -> list[Message]:
    variables = template_variables(scenario, item, condition, evidence_transcript)
    messages: list[Message] = []
    if scenario.system_template is not None:
        messages.append(
            {"role": "system", "content": _render_one(scenario.system_template, variables, item.id, condition.name)}
        )
    messages.append({"role": "user", "content": _render_one(scenario.user_template, variables, item.id, condition.name)})
    return messages


def prompt_sha256(messages: list[Message]) -> str:
    """Hash of the rendered messages: identical across backends for the same prompt."""
    canon = json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@dataclass
class PromptRequest:
    item_id: str
    condition: str
    messages: list[Message]
    prompt_sha256: str
    gold: str
    evidence_from: Optional[str]  # id of the item whose transcript was shown (None without evidence)
