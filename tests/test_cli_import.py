"""Loading the CLI (``mgreason --help``, every command) must not import the heavy numeric stack, nor numpy and
pydantic (0.35 s of start-up before ``calibrate`` and the sweep package loaded them eagerly; 0.11 s without):
the plugin command groups import their work inside the commands."""

from __future__ import annotations

import subprocess
import sys


def test_cli_import_does_not_load_scipy_torch_or_the_generator():
    code = (
        "import sys, mgreason.cli; "
        "print(','.join(m for m in ('scipy', 'torch', 'transformers', 'mgreason.synth.generate', 'statsmodels', "
        "'numpy', 'pydantic', 'mgreason.sweep.spec', 'mgreason.eval.calibration') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"imported at CLI load: {out}"


def test_synth_package_exports_stay_available():
    import mgreason.synth as synth

    assert callable(synth.generate_session) and callable(synth.supported_raw_ids)
    assert synth.GeneratorConfig().fps == 25.0
    try:
        synth.no_such_name
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")
