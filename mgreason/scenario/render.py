"""The one rendering path: scenario templates + item + condition → chat messages.

Templates run in a Jinja2 sandbox (:class:`LimitedSandboxEnvironment`, an
``ImmutableSandboxedEnvironment``) with ``StrictUndefined``: a missing variable is an error, never
an empty string. User data (dialogue, transcripts) is passed as *variables*, never compiled as
template source, so ``{{ 7*7 }}`` inside a dialogue line reaches the model literally.

A template is user code, so rendering is bounded (see the ``MAX_*`` / ``RENDER_TIMEOUT_S``
constants): the output of one render, every string or list built while rendering (``*``, ``+``,
``~``, ``%``, ``format``, ``join``, ``replace``, ``center``/``ljust``/... widths), ranges, the
size of integers (``*``, ``**``), loop iterations and wall time per render. A template over a
bound, and any other exception while rendering (division by zero, a string added to a number...),
is one :class:`~mgreason.errors.ScenarioError` naming the template, the item and the error.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import types
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, update_wrapper
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import jinja2
from jinja2 import nodes
from markupsafe import Markup
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer

from mgreason.errors import ScenarioError
from mgreason.scenario.loader import Item, Scenario
from mgreason.scenario.spec import ConditionSpec
from mgreason.transcript import Transcript

Message = dict[str, str]

# ---- the sandbox's limits (per render of one template) ---------------------------------------
MAX_OUTPUT_CHARS = 1_000_000  # the rendered text, and any one string built while rendering
MAX_ITEMS = 100_000  # any one list / tuple / range built while rendering (Jinja's own range cap)
MAX_INT_BITS = 10_000  # integers built with * or ** (about 3,000 decimal digits)
MAX_LOOP_ITERATIONS = 10_000_000  # {% for %} iterations, all loops together
RENDER_TIMEOUT_S = 5.0  # wall time, checked at every loop iteration batch, call and operator


class SandboxLimitError(jinja2.exceptions.SecurityError):
    """A template went over one of the sandbox's resource limits."""


class _Budget:
    __slots__ = ("deadline", "iterations")

    def __init__(self, timeout_s: float) -> None:
        self.deadline = time.perf_counter() + timeout_s
        self.iterations = 0

    def check_time(self) -> None:
        if time.perf_counter() > self.deadline:
            raise SandboxLimitError(f"rendering took longer than {RENDER_TIMEOUT_S:g} s")

    def charge(self, iterations: int) -> None:
        """Count ``iterations`` more loop iterations of this render against :data:`MAX_LOOP_ITERATIONS`."""
        self.iterations += iterations
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise SandboxLimitError(f"more than {MAX_LOOP_ITERATIONS:,} loop iterations")


_BUDGET: ContextVar[Optional[_Budget]] = ContextVar("mgreason_render_budget", default=None)


def _tick() -> None:
    b = _BUDGET.get()
    if b is not None:
        b.check_time()


def _check_str_len(n: int, what: str = "a string") -> None:
    if n > MAX_OUTPUT_CHARS:
        raise SandboxLimitError(f"{what} of {n:,} characters (at most {MAX_OUTPUT_CHARS:,})")


def _check_size(value: Any, n: int) -> None:
    if isinstance(value, str):
        _check_str_len(n)
    elif n > MAX_ITEMS:
        raise SandboxLimitError(f"a sequence of {n:,} items (at most {MAX_ITEMS:,})")


def _check_width(n: Any, what: str = "width") -> None:
    if isinstance(n, int) and n > MAX_OUTPUT_CHARS:
        raise SandboxLimitError(f"{what} {n:,} (at most {MAX_OUTPUT_CHARS:,})")


def _int_bits(n: int) -> int:
    return abs(n).bit_length()


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_NUMBER = re.compile(r"\d+")


def _percent_format_problem(fmt: str) -> Optional[str]:
    for m in _PERCENT_SPEC.finditer(fmt):
        for g in m.groups():
            if g == "*":
                return "'*' widths in %-formats are not allowed in templates"
            if g is not None and int(g) > MAX_OUTPUT_CHARS:
                return f"width {int(g):,} (at most {MAX_OUTPUT_CHARS:,})"  # _check_width's wording
    return None


# a template's format strings are few and used at every render (and for every event of a loop)
_cached_percent_format_problem = lru_cache(maxsize=1024)(_percent_format_problem)


def _check_percent_format(fmt: str) -> None:
    problem = (_cached_percent_format_problem if len(fmt) <= 256 else _percent_format_problem)(fmt)
    if problem is not None:
        raise SandboxLimitError(problem)


def _check_format_spec(spec: str) -> None:
    for m in _NUMBER.finditer(spec):
        _check_width(int(m.group()), "format width or precision")


class _LimitedFormatter(SandboxedFormatter):
    """``str.format`` in templates: the sandbox's attribute checks plus bounded widths."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        return super().format_field(value, format_spec)


_SMALL_LOOP = 64  # loops over at most this many items are charged at once, not item by item


def _loop_guard(iterable: Iterable[Any]) -> Iterable[Any]:
    """Applied to the iterable of every ``{% for %}``: bounded iterations and time. Every loop is charged
    all its iterations and checks the time when it starts. A sized iterable of at most ``_SMALL_LOOP``
    items (the usual loop over dialogue turns, labels or events) is then iterated as it is, with no
    generator step per item; others go through :func:`_guarded`, which also checks every 64 items."""
    b = _BUDGET.get()
    if b is None:
        return iterable
    try:
        n = len(iterable)  # type: ignore[arg-type]
    except TypeError:
        n = _SMALL_LOOP + 1
    if n <= _SMALL_LOOP:
        b.charge(n)
        b.check_time()
        return iterable
    return _guarded(iterable, b)


def _guarded(iterable: Iterable[Any], b: _Budget) -> Iterator[Any]:
    b.check_time()
    n = 0
    for x in iterable:
        n += 1
        if not n & 63:
            b.charge(64)
            b.check_time()
        yield x
    b.charge(n & 63)  # the last < 64 items (short loops nested in one another add up)


def _bounded_concat(parts: list[Any]) -> str:
    """``a ~ b ~ c``: the joined length is checked before the string is built."""
    strs = [p if isinstance(p, str) else str(p) for p in parts]
    _check_str_len(sum(map(len, strs)))
    return "".join(strs)


class _Guards(NodeTransformer):
    """Template AST rewrite: every loop's iterable goes through the loop guard, every ``~`` through
    the bounded concatenation (filters, so the compiler resolves them like any other)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_mg_loop_guard", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), "_mg_concat", [], [], None, None, lineno=node.lineno)


def _wrap_filter(name: str, func: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        out = func(*args, **kwargs)
        if isinstance(out, str) and len(out) > MAX_OUTPUT_CHARS:
            _check_str_len(len(out), f"the {name} filter's result")
        return out

    return update_wrapper(wrapper, func)


def _wrap_format_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    """``format``, the filter templates call most (once per event in a timeline loop): the check inline."""

    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            _check_percent_format(value)
        out = func(value, *args, **kwargs)
        if isinstance(out, str) and len(out) > MAX_OUTPUT_CHARS:
            _check_str_len(len(out), "the format filter's result")
        return out

    return update_wrapper(wrapper, func)


def _join_check(*args: Any, **kwargs: Any) -> None:
    # join(eval_ctx, value, d="", attribute=None): materialise once, bound the result before joining
    value = args[1] if len(args) > 1 else kwargs.get("value")
    if isinstance(value, (list, tuple)):
        sep = args[2] if len(args) > 2 else kwargs.get("d", "")
        total = sum(len(v) if isinstance(v, str) else 0 for v in value) + len(str(sep)) * max(len(value) - 1, 0)
        _check_str_len(total, "the join filter's result")


def _replace_check(*args: Any, **kwargs: Any) -> None:
    # replace(eval_ctx, s, old, new, count=None)
    if len(args) >= 4:
        s_, old, new = str(args[1]), str(args[2]), str(args[3])
        _check_str_len(len(s_) + (s_.count(old) if old else len(s_) + 1) * max(len(new) - len(old), 0))


def _width_check(*args: Any, **kwargs: Any) -> None:
    for v in list(args[1:]) + list(kwargs.values()):
        _check_width(v)


_STR_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})


class LimitedSandboxEnvironment(ImmutableSandboxedEnvironment):
    """``ImmutableSandboxedEnvironment`` with resource limits (module constants ``MAX_*``,
    ``RENDER_TIMEOUT_S``); render through :func:`render_limited` for the time, loop and output bounds."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals["range"] = self._range
        self.filters["_mg_loop_guard"] = _loop_guard
        self.filters["_mg_concat"] = _bounded_concat
        for name, check in (
            ("join", _join_check),
            ("replace", _replace_check),
            ("center", _width_check),
            ("indent", _width_check),
        ):
            self.filters[name] = _wrap_filter(name, self.filters[name], check)
        self.filters["format"] = _wrap_format_filter(self.filters["format"])

    @staticmethod
    def _range(*args: int) -> range:
        _tick()
        rng = range(*args)
        if len(rng) > MAX_ITEMS:
            raise SandboxLimitError(f"range of {len(rng):,} items (at most {MAX_ITEMS:,})")
        return rng

    def _parse(self, source: str, name: Optional[str], filename: Optional[str]) -> nodes.Template:
        return _Guards().visit(super()._parse(source, name, filename))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                if right * math.log2(abs(left)) > MAX_INT_BITS:
                    raise SandboxLimitError(f"integer power {left} ** {right} is too large (over {MAX_INT_BITS:,} bits)")
        elif operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
                    raise SandboxLimitError(f"integer product over {MAX_INT_BITS:,} bits")
            elif isinstance(right, int) and isinstance(left, (str, list, tuple)):
                _check_size(left, len(left) * right)
            elif isinstance(left, int) and isinstance(right, (str, list, tuple)):
                _check_size(right, len(right) * left)
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _check_size(left, len(left) + len(right))
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and isinstance(__obj, types.BuiltinMethodType):
            name = __obj.__name__
            if name in _STR_WIDTH_METHODS:
                for v in list(args) + list(kwargs.values()):
                    _check_width(v)
            elif name == "replace" and len(args) >= 2:
                old, new = str(args[0]), str(args[1])
                _check_str_len(len(owner) + (owner.count(old) if old else len(owner) + 1) * max(len(new) - len(old), 0))
            elif name == "join" and args and isinstance(args[0], (list, tuple)):
                _check_str_len(
                    sum(len(v) if isinstance(v, str) else 0 for v in args[0]) + len(owner) * max(len(args[0]) - 1, 0)
                )
        out = super().call(__context, __obj, *args, **kwargs)
        if isinstance(out, str):
            _check_str_len(len(out))
        return out

    def wrap_str_format(self, value: Any) -> Optional[Callable[..., str]]:
        """``str.format`` / ``format_map`` with the sandbox's checks and bounded widths."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        f_self = value.__self__
        if not isinstance(f_self, str) or isinstance(f_self, Markup):
            return super().wrap_str_format(value)
        is_format_map = value.__name__ == "format_map"
        formatter = _LimitedFormatter(self)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            _tick()
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one positional argument")
                kwargs, args = args[0], ()
            out = str(formatter.vformat(f_self, args, kwargs))
            _check_str_len(len(out))
            return out

        return update_wrapper(wrapper, value)


def render_limited(template: jinja2.Template, variables: dict[str, Any], timeout_s: Optional[float] = None) -> str:
    """Render under the sandbox's time, loop and output bounds (raises :class:`SandboxLimitError`)."""
    token = _BUDGET.set(_Budget(RENDER_TIMEOUT_S if timeout_s is None else timeout_s))
    try:
        # the compiled render function directly (what Template.render runs, minus its traceback
        # rewriting), chunk by chunk so the output bound holds before memory is used; locals, not
        # attribute or global lookups, in this loop of ~100 steps per render
        parts: list[str] = []
        append, limit, n = parts.append, MAX_OUTPUT_CHARS, 0
        for chunk in template.root_render_func(template.new_context(variables)):
            n += len(chunk)
            if n > limit:
                break
            append(chunk)
        else:
            return "".join(parts)
        raise SandboxLimitError(f"rendered text longer than {MAX_OUTPUT_CHARS:,} characters")
    finally:
        _BUDGET.reset(token)


class _RegularFileLoader(jinja2.FileSystemLoader):
    """The template directory's loader, under the path rule: an included template that is a FIFO,
    a device or a link into /proc is refused before it is opened (never read, never waited on)."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        from mgreason.fileio import input_problem

        for searchpath in self.searchpath:
            candidate = Path(searchpath, *jinja2.loaders.split_template_path(template))
            if candidate.exists():
                problem = input_problem(candidate, max_bytes=4 << 20)
                if problem is not None:
                    raise jinja2.exceptions.SecurityError(f"template {template!r}: {problem}")
                break
        return super().get_source(environment, template)


@lru_cache(maxsize=64)
def _environment(template_dir: str) -> LimitedSandboxEnvironment:
    return LimitedSandboxEnvironment(
        loader=_RegularFileLoader(template_dir),
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
    except jinja2.TemplateNotFound:
        raise ScenarioError("template not found", file=path) from None
    except jinja2.exceptions.SecurityError as e:
        raise ScenarioError(f"template refused: {e}", file=path) from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"template is not UTF-8 text (byte {e.start})", file=path) from None
    except (OSError, RecursionError, MemoryError) as e:
        raise ScenarioError(f"cannot load template: {type(e).__name__}: {e}", file=path) from None


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
        "answer_format": spec.answer_format,
        "condition": condition.name,
        "evidence_form": None if evidence is None else condition.evidence,
        "evidence": evidence,
        "evidence_events": None
        if evidence is None or evidence_transcript is None
        else [e.model_dump() for e in evidence_transcript.events],
        "recording_duration_s": None if evidence_transcript is None else evidence_transcript.duration_s,
    }


def _render_one(path: Path, variables: dict[str, Any], item_id: str, condition: str) -> str:
    where = f"(item {item_id}, condition {condition})"
    template = _template(path)
    try:
        return render_limited(template, variables).strip()
    except jinja2.UndefinedError as e:
        raise ScenarioError(f"undefined template variable: {e.message} {where}", file=path) from None
    except SandboxLimitError as e:
        raise ScenarioError(f"template exceeds the sandbox's limits: {e} {where}", file=path) from None
    except jinja2.exceptions.SecurityError as e:
        raise ScenarioError(f"template not allowed by the sandbox: {e} {where}", file=path) from None
    except jinja2.TemplateError as e:
        raise ScenarioError(f"template error: {e} {where}", file=path) from None
    except RecursionError:
        raise ScenarioError(f"template error: recursion too deep {where}", file=path) from None
    except Exception as e:  # a template is user code: 1/0, "a" + 1, an overflow... never a traceback
        raise ScenarioError(f"template error: {type(e).__name__}: {e} {where}", file=path) from None


def render_messages(
    scenario: Scenario,
    item: Item,
    condition: ConditionSpec,
    evidence_transcript: Optional[Transcript],
    demonstrations: Sequence[tuple[Item, Optional[Transcript]]] = (),
) -> list[Message]:
    """System message, then each demonstration (its user turn rendered under ``condition`` with its own
    evidence, and an assistant turn with its gold label), then the query's user turn."""
    variables = template_variables(scenario, item, condition, evidence_transcript)
    messages: list[Message] = []
    if scenario.system_template is not None:
        messages.append(
            {"role": "system", "content": _render_one(scenario.system_template, variables, item.id, condition.name)}
        )
    for demo, demo_transcript in demonstrations:
        dv = template_variables(scenario, demo, condition, demo_transcript)
        messages.append({"role": "user", "content": _render_one(scenario.user_template, dv, demo.id, condition.name)})
        messages.append({"role": "assistant", "content": demo.gold})
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
