"""Fixtures of the viewer tests: a mock run of the demo scenario, a small mock sweep, headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "scenarios" / "demo_press_emotion.yaml"


def mock_run(out: Path, scenario: Path = DEMO, **backend_options) -> Path:
    from mgreason.backends.mock import MockBackend
    from mgreason.eval.run import run_scenario
    from mgreason.scenario import load_scenario

    run_scenario(load_scenario(scenario), MockBackend(**backend_options), out_dir=out, n_boot=200)
    return out


def records(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """`run-scenario scenarios/demo_press_emotion.yaml --backend mock`: 12 items × 3 conditions."""
    return mock_run(tmp_path_factory.mktemp("view-run") / "run")


@pytest.fixture(scope="session")
def demo_sweep(tmp_path_factory) -> Path:
    """A sweep of two mock models over the two demo scenarios (the sweep worker runs the mock backend)."""
    from mgreason.sweep.execute import run_sweep

    tmp = tmp_path_factory.mktemp("view-sweep")
    spec = {
        "id": "view-test",
        "models": [
            {"name": "mock-a", "backend": "mock", "model": "mock-a"},
            {"name": "mock-b", "backend": "mock", "model": "mock-b", "options": {"fail_every": 7}},
        ],
        "scenarios": [str(DEMO), str(REPO / "scenarios" / "demo_press_emotion_v2.yaml")],
        "output_dir": str(tmp / "out"),
        "cache": False,
        "retries": 0,
        "n_boot": 200,
    }
    p = tmp / "sweep.yaml"
    p.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    run_sweep(p, report=False, progress=False)
    return tmp / "out"


@pytest.fixture(scope="session")
def chromium() -> str:
    from mgreason.view.browser import find_chromium

    exe = find_chromium()
    if exe is None:
        pytest.skip("headless Chromium not found at /usr/bin/chromium (apt-get install -y chromium; CI installs it)")
    return exe
