"""The one config base, YAML reader and validation-error wording of the package.

Every user-written file (scenario, sweep, recognizer training config) is

* read with :func:`read_yaml`: PyYAML's *safe* loader, with the document bounded before it is
  built — the file size, the number of nodes after alias expansion, the text those nodes expand
  to and the nesting depth — so a "billion laughs" file of a few hundred bytes fails at once with
  one line naming the file instead of expanding to gigabytes downstream;
* validated by a :class:`StrictModel` (unknown fields are errors, never silently ignored);
* reported with :func:`format_validation_error` / :func:`describe_validation_error`: the most
  informative error, one wording ("unknown field", "required field is missing").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from mgreason.errors import MGReasonError

__all__ = [
    "StrictModel",
    "read_yaml",
    "load_yaml_text",
    "describe_validation_error",
    "format_validation_error",
    "YAML_MAX_BYTES",
    "YAML_MAX_NODES",
    "YAML_MAX_CHARS",
    "YAML_MAX_DEPTH",
]

# Bounds of one YAML document. Scenario, sweep and training files are a few kB; an inline item
# list of several thousand items stays far below these.
YAML_MAX_BYTES = 32 * 1024 * 1024  # the file itself
YAML_MAX_NODES = 2_000_000  # nodes after alias expansion (each alias counts as the whole subtree it names)
YAML_MAX_CHARS = 64 * 1024 * 1024  # characters of scalar text after alias expansion
YAML_MAX_DEPTH = 200  # nesting of sequences / mappings


# A name used as one path component (scenario ids, condition names, sweep model names): letters,
# digits, "_", "-", "." and at least one character that is not a dot, so never "." or "..".
NAME_PATTERN = r"^[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*$"


class StrictModel(BaseModel):
    """Base of every config model: an unknown field is an error; ``model_*`` field names are allowed."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


# --------------------------------------------------------------------------- validation errors
def _main_error(err: ValidationError) -> dict[str, Any]:
    errors = err.errors()
    first = errors[0]
    # A union (a condition given as a name *or* an object) reports one error per member, the
    # plain type mismatch first; the deepest error under the same field is the informative one.
    same_field = [e for e in errors if e["loc"][:1] == first["loc"][:1]]
    return max(same_field, key=lambda e: len(e["loc"]))


def describe_validation_error(err: ValidationError) -> tuple[str, str]:
    """(dotted location, message) of the most informative error, with how many more there are."""
    main = _main_error(err)
    loc = ".".join(str(p) for p in main["loc"])
    msg = str(main["msg"])
    if main["type"] == "extra_forbidden":
        msg = "unknown field"
    elif main["type"] == "missing":
        msg = "required field is missing"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    more = len(err.errors()) - 1
    return loc, msg + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")


def format_validation_error(err: ValidationError) -> str:
    """``location: message`` on one line (``(top level)`` when the error is about the whole document)."""
    loc, msg = describe_validation_error(err)
    return f"{loc or '(top level)'}: {msg}"


# --------------------------------------------------------------------------- YAML
class _TooBig(Exception):
    pass


def _check_expansion(root: yaml.Node, *, max_nodes: int, max_chars: int, max_depth: int) -> None:
    """Size of the document once every alias is expanded, computed on the node graph (shared
    subtrees counted once per use, memoised, so this is linear in the file) — before anything
    is constructed."""
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, chars) of its expansion
    on_path: set[int] = set()
    # iterative post-order walk: (node, depth, children_done)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = (1, len(node.value))
            continue
        children: list[yaml.Node]
        if isinstance(node, yaml.MappingNode):
            children = [c for pair in node.value for c in pair]
        else:
            children = list(node.value)
        if not done:
            if key in sizes:
                continue
            if key in on_path:
                raise _TooBig("an alias refers to a node that contains it (recursive document)")
            if depth > max_depth:
                raise _TooBig(f"nested more than {max_depth} levels deep")
            on_path.add(key)
            stack.append((node, depth, True))
            for c in children:
                if id(c) in on_path:
                    raise _TooBig("an alias refers to a node that contains it (recursive document)")
                if id(c) not in sizes:
                    stack.append((c, depth + 1, False))
            continue
        on_path.discard(key)
        n, ch = 1, 0
        for c in children:
            cn, cc = sizes[id(c)]
            n += cn
            ch += cc
        if n > max_nodes:
            raise _TooBig(f"expands to more than {max_nodes:,} values (aliases used too many times?)")
        if ch > max_chars:
            raise _TooBig(f"expands to more than {max_chars:,} characters of text (aliases used too many times?)")
        sizes[key] = (n, ch)


class _DepthError(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing nesting past ``max_depth`` while it *scans* — deep flow nesting
    (``[[[[...``) costs the scanner quadratic time long before the document is composed."""

    max_depth = YAML_MAX_DEPTH

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # type: ignore[override]
        if self.flow_level >= self.max_depth:
            raise _DepthError(f"nested more than {self.max_depth} levels deep")
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:  # type: ignore[override]
        if len(self.indents) >= self.max_depth:
            raise _DepthError(f"nested more than {self.max_depth} levels deep")
        return super().add_indent(column)


def load_yaml_text(
    text: str,
    *,
    max_nodes: int = YAML_MAX_NODES,
    max_chars: int = YAML_MAX_CHARS,
    max_depth: int = YAML_MAX_DEPTH,
) -> Any:
    """``yaml.safe_load`` with the document's expanded size bounded. Raises ``yaml.YAMLError`` for
    malformed text and :class:`ValueError` for a document over the bounds."""
    loader = _BoundedLoader(text)
    loader.max_depth = max_depth
    try:
        try:
            node = loader.get_single_node()
        except (RecursionError, _DepthError):
            raise ValueError(f"nested more than {max_depth} levels deep") from None
        if node is None:
            return None
        try:
            _check_expansion(node, max_nodes=max_nodes, max_chars=max_chars, max_depth=max_depth)
        except _TooBig as e:
            raise ValueError(str(e)) from None
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(
    path: str | Path,
    *,
    error: type[MGReasonError] = MGReasonError,
    max_bytes: int = YAML_MAX_BYTES,
    max_nodes: int = YAML_MAX_NODES,
    max_chars: int = YAML_MAX_CHARS,
    max_depth: int = YAML_MAX_DEPTH,
) -> Any:
    """Read a user's YAML file. Every failure is one ``error`` (an :class:`MGReasonError` subclass)
    naming the file: not found, unreadable, too large, malformed (with line and column), or
    expanding past the bounds."""
    from mgreason.fileio import read_input_bytes

    path = Path(path)
    data = read_input_bytes(path, error=error, max_bytes=max_bytes)  # the path rule: never a FIFO, /proc, /dev
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"not UTF-8 text (byte {e.start})", file=path) from None
    try:
        return load_yaml_text(text, max_nodes=max_nodes, max_chars=max_chars, max_depth=max_depth)
    except yaml.YAMLError as e:
        mark: Optional[Any] = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise error(f"malformed YAML: {where}{problem}", file=path) from None
    except ValueError as e:
        raise error(f"YAML document refused: {e}", file=path) from None
