"""Hostile templates and hostile YAML files (issue 15): every one fails with one ScenarioError /
MGReasonError line naming the file (and for templates the item and the error) — within bounded
memory (tracemalloc peak) and bounded time (the sandbox's own render timeout, lowered here; a
SIGALRM turns a hang into a test failure instead of a stuck CI job)."""

from __future__ import annotations

import signal
import tracemalloc
from contextlib import contextmanager

import pytest

from helpers import write_scenario
from mgreason import configio
from mgreason.errors import MGReasonError, ScenarioError
from mgreason.scenario import load_scenario
from mgreason.scenario import render as R
from mgreason.scenario.render import render_messages
from mgreason.scenario.spec import BUILTIN_CONDITIONS

WITH = BUILTIN_CONDITIONS["with_mg"]
PEAK_BYTES = 64 * 1024 * 1024


@contextmanager
def bounded(seconds: int = 30):
    def _hang(*_):
        raise AssertionError(f"not refused within {seconds} s")

    old = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(seconds)
    tracemalloc.start()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert peak < PEAK_BYTES, f"peak memory {peak / 1e6:.0f} MB"


S100K = "{% set s = 'x' * 100000 %}"
HOSTILE_TEMPLATES = {
    # resource exhaustion
    "string repetition": ("{{ 'x' * 10**9 }}", "limits", "characters"),
    "list repetition": ("{{ ([0] * 10**8) | length }}", "limits", "items"),
    "huge power": ("{{ 2 ** 100000 }}", "limits", "bits"),
    "huge product": ("{{ 10**3000 * 10**3000 }}", "limits", "bits"),
    "unbounded range": ("{% for i in range(10**12) %}{% endfor %}", "limits", "range"),
    "nested loops, no output": (S100K + "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}", "limits", "longer than"),
    # short loops (< 64 items) nested in one another: no item-by-item check, yet counted and timed
    "nested short loops": ("{% set s = 'x' * 60 %}" + "{% for v in s %}" * 5 + "{% endfor %}" * 5, "limits", ""),
    "nested short unsized loops": (
        "{% set s = 'x' * 60 %}" + "{% for v in s | map('upper') %}" * 5 + "{% endfor %}" * 5, "limits", "",
    ),
    "doubling with ~": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "limits", "characters",
    ),
    "doubling with +": (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
        "limits", "characters",
    ),
    "output size": ("{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}", "limits", "rendered text"),
    "str.ljust width": ("{{ 'x'.ljust(10**9) }}", "limits", "width"),
    "str.format width": ("{{ '{:>999999999}'.format(1) }}", "limits", "width"),
    "percent width": ("{{ '%0999999999d' % 1 }}", "limits", "width"),
    "format filter width": ("{{ '%0999999999d' | format(1) }}", "limits", "width"),
    "center filter": ("{{ 'x' | center(999999999) }}", "limits", "width"),
    "indent filter": ("{{ 'a\nb' | indent(999999999) }}", "limits", "width"),
    "join blow-up": (S100K + "{{ ([s] * 100000) | join }}", "limits", "join"),
    "replace blow-up": (S100K + "{{ s.replace('', s) }}", "limits", "characters"),
    "replace filter blow-up": (S100K + "{{ s | replace('', s) }}", "limits", "characters"),
    # runtime errors (a traceback before issue 15)
    "division by zero": ("{{ 1 / 0 }}", "ZeroDivisionError", "division by zero"),
    "str + int": ("{{ 'a' + 1 }}", "TypeError", "concatenate"),
    "int < str": ("{{ 1 < 'a' }}", "TypeError", "not supported"),
    "unbounded recursion": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "template error", "recursion"),
    "float overflow": ("{{ 1e308 * 1e308 * 0 + (10.0 ** 400) }}", "OverflowError", ""),
    # the sandbox itself
    "mutation": ("{% set l = [] %}{{ l.append(1) }}", "sandbox", "append"),
    "dunder": ("{{ ''.__class__.__mro__ }}", "sandbox", "__class__"),
}


@pytest.fixture(autouse=True)
def short_render_timeout(monkeypatch):
    monkeypatch.setattr(R, "RENDER_TIMEOUT_S", 0.5)


@pytest.mark.parametrize("name", list(HOSTILE_TEMPLATES))
def test_hostile_template_fails_bounded_with_one_line(tmp_path, name):
    tpl, *expected = HOSTILE_TEMPLATES[name]
    sc = load_scenario(write_scenario(tmp_path, user="Q: {{ question }}\n" + tpl, n_items=2, fmt="inline"))
    item = sc.items[0]
    with bounded():
        with pytest.raises(ScenarioError) as e:
            render_messages(sc, item, WITH, item.transcript)
    msg = str(e.value)
    assert "\n" not in msg
    assert str(sc.user_template) in msg and f"item {item.id}" in msg and "condition with_mg" in msg
    for part in expected:
        assert part in msg, msg


def test_normal_templates_still_render_loops_formats_and_filters(tmp_path):
    tpl = (
        "{% for x in [3, 1, 2] | sort %}{{ loop.index }}/{{ loop.length }}:{{ x ~ '!' }} {% else %}none{% endfor %}"
        "|{{ '%5.1f' % 2.25 }}|{{ '{:>4}|{:.2f}'.format(1, 0.5) }}|{{ 'ab' * 3 }}|{{ [1] * 3 }}|{{ 2 ** 10 }}"
        "|{{ labels | map(attribute='name') | join(', ') }}|{{ 'a-b' | replace('-', '+') }}|{{ 'x' | center(5) }}|"
        "{% for i in range(3) %}{% for j in range(2) %}{{ i * j }}{% endfor %}{% endfor %}"
    )
    sc = load_scenario(write_scenario(tmp_path, user=tpl, n_items=2, fmt="inline"))
    out = render_messages(sc, sc.items[0], WITH, sc.items[0].transcript)[-1]["content"]
    assert out == (
        "1/3:1! 2/3:2! 3/3:3! |  2.2|   1|0.50|ababab|[1, 1, 1]|1024|positive, negative|a+b|  x  |000102"
    )


def test_hostile_template_through_the_cli_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    from helpers import run_cli

    path = write_scenario(tmp_path, user="{{ 'x' * 10**9 }}", n_items=2, fmt="inline")
    code, out, err = run_cli(["validate", str(path)], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "user.j2" in lines[0] and "item it00" in lines[0], err


# ---- hostile YAML --------------------------------------------------------------------------
def _laughs(levels: int = 9) -> str:
    text = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, levels + 1):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
    return text


HOSTILE_YAML = {
    "billion laughs": (_laughs(), "values"),
    "wide string alias": ('s: &s "' + "x" * 20_000 + '"\nl: [' + ", ".join(["*s"] * 4000) + "]\n", "characters"),
    "mapping merge fan-out": (
        "a: &a {" + ", ".join(f"k{i}: {i}" for i in range(200)) + "}\n"
        + "".join(f"b{j}: &b{j} [" + ", ".join([f"*{'a' if j == 0 else f'b{j - 1}'}"] * 30) + "]\n" for j in range(4)),
        "values",
    ),
    "recursive alias": ("a: &a [1, *a]\n", "recursive"),
    "deep flow nesting": ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    "deep block nesting": ("".join(" " * i + f"k{i}:\n" for i in range(250)) + " " * 250 + "v: 1\n", "nested"),
    "not UTF-8": (b"id: \xff\xfe\n", "UTF-8"),
    "python tag": ("!!python/object/apply:os.system ['true']\n", "malformed YAML"),
}


def _load_scenario(p):
    return load_scenario(p)


def _load_sweep(p):
    from mgreason.sweep.spec import load_sweep

    return load_sweep(p)


def _load_train_config(p):
    from mgreason.recognizer.config import load_config

    return load_config(p)


@pytest.mark.parametrize("loader", [_load_scenario, _load_sweep, _load_train_config], ids=["scenario", "sweep", "train"])
@pytest.mark.parametrize("name", list(HOSTILE_YAML))
def test_hostile_yaml_fails_bounded_with_one_line(tmp_path, name, loader):
    content, expected = HOSTILE_YAML[name]
    p = tmp_path / "hostile.yaml"
    (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)
    with bounded():
        with pytest.raises(MGReasonError) as e:
            loader(p)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg and expected in msg, msg


def test_yaml_file_size_bound(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_text("a: " + "x" * 5000 + "\n")
    with pytest.raises(MGReasonError, match="too large"):
        configio.read_yaml(p, max_bytes=4096)


def test_ordinary_aliases_and_merge_keys_still_load():
    data = configio.load_yaml_text("base: &b {lr: 0.1, epochs: 3}\nrun: {<<: *b, epochs: 5}\nlist: [*b, *b]\n")
    assert data["run"] == {"lr": 0.1, "epochs": 5} and data["list"] == [{"lr": 0.1, "epochs": 3}] * 2
