"""``mgreason view``: one self-contained HTML page per run or sweep (issue 26).

* :mod:`.data` -- the typed report plus every item's prompts and answers, as the page's JSON;
* :mod:`.forest` -- the forest plot as inline SVG (invalid rows marked, colour legend);
* :mod:`.page` -- the Jinja template with its CSS and JS inlined (``templates/``);
* :mod:`.browser` -- headless Chromium: the DOM after the scripts ran, screenshots (tests, docs).
"""

from __future__ import annotations

from mgreason.lazy import lazy_exports

__all__ = ["build_payload", "write_view"]

__getattr__ = lazy_exports(__name__, {"write_view": "mgreason.view.page", "build_payload": "mgreason.view.data"})
