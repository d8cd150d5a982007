"""The viewer's forest plot, as inline SVG: Δ accuracy and Δ macro-F1 with their paired-bootstrap CIs,
one colour per comparison (legend), rows whose label mass is below 0.5 drawn hollow, grey and dashed
and labelled "invalid", Holm-significant rows as diamonds."""

from __future__ import annotations

from html import escape

from mgreason.eval.format import is_missing
from mgreason.sweep.report_model import Report

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
INVALID = "#9e9e9e"


def pair_colours(report: Report) -> dict[str, str]:
    pairs = list(dict.fromkeys(c.pair for c in report.comparisons))
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(pairs)}


def forest_svg(report: Report) -> str:
    comps = report.comparisons
    if not comps:
        return ""
    colours = pair_colours(report)
    names = [f"{c.model} · {c.scenario} · {c.pair}" + ("" if c.valid else " — invalid") for c in comps]
    label_w = int(min(560, max(200, 6.3 * max(len(n) for n in names) + 20)))
    panel_w, gap, row_h, top = 300, 30, 22, 40
    h = top + row_h * len(comps) + 70
    w = label_w + 2 * panel_w + gap + 20
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' class='forest' viewBox='0 0 {w} {h}' width='{w}' height='{h}' "
           "font-family='Arial,Liberation Sans,DejaVu Sans,sans-serif' font-size='11'>"]  # fmt: skip

    def x_of(panel: int, v: float) -> float:
        x0 = label_w + panel * (panel_w + gap)
        return x0 + (max(-1.0, min(1.0, v)) + 1.0) / 2.0 * panel_w

    for panel, (key, title) in enumerate((("delta_acc", "Δ accuracy"), ("delta_macro_f1", "Δ macro-F1"))):
        x0 = label_w + panel * (panel_w + gap)
        out.append(f"<text x='{x0 + panel_w / 2}' y='16' text-anchor='middle' font-weight='bold'>{title} (95% CI)</text>")
        out.append(f"<rect x='{x0}' y='{top - 8}' width='{panel_w}' height='{row_h * len(comps) + 4}' fill='none' stroke='#ccc'/>")
        for t in (-1, -0.5, 0, 0.5, 1):
            x = x_of(panel, t)
            dash = " stroke-dasharray='4 3'" if t == 0 else ""
            out.append(f"<line x1='{x}' x2='{x}' y1='{top - 8}' y2='{top + row_h * len(comps) - 4}' "
                       f"stroke='{'#666' if t == 0 else '#eee'}'{dash}/>")  # fmt: skip
            out.append(f"<text x='{x}' y='{top + row_h * len(comps) + 10}' text-anchor='middle' fill='#555'>{t:+g}</text>")
        for i, c in enumerate(comps):
            y = top + i * row_h + row_h / 2 - 4
            d = getattr(c, key)
            lo, hi = getattr(c, f"{key}_ci")
            if is_missing(d):
                continue
            lo = d if is_missing(lo) else lo
            hi = d if is_missing(hi) else hi
            col = colours[c.pair] if c.valid else INVALID
            dash = "" if c.valid else " stroke-dasharray='3 2'"
            out.append(f"<line x1='{x_of(panel, lo)}' x2='{x_of(panel, hi)}' y1='{y}' y2='{y}' stroke='{col}' "
                       f"stroke-width='2'{dash}/>")  # fmt: skip
            fill = col if c.valid else "white"
            cx = x_of(panel, d)
            if c.p_holm is not None and c.p_holm < 0.05:
                out.append(f"<path d='M{cx} {y - 6}L{cx + 6} {y}L{cx} {y + 6}L{cx - 6} {y}Z' fill='{fill}' stroke='{col}'/>")
            else:
                out.append(f"<circle cx='{cx}' cy='{y}' r='4.5' fill='{fill}' stroke='{col}' stroke-width='1.5'/>")
    for i, c in enumerate(comps):
        y = top + i * row_h + row_h / 2
        fill = "#222" if c.valid else "#888"
        out.append(f"<text class='forest-row{'' if c.valid else ' invalid'}' x='{label_w - 8}' y='{y}' text-anchor='end' "
                   f"fill='{fill}'>{escape(names[i])}</text>")  # fmt: skip
    # legend
    ly = top + row_h * len(comps) + 32
    x = 10
    entries = [(p, col, True) for p, col in colours.items()] + [("invalid: label mass < 0.5", INVALID, False)]
    for name, col, valid in entries:
        dash = "" if valid else " stroke-dasharray='3 2'"
        out.append(f"<line x1='{x}' x2='{x + 22}' y1='{ly}' y2='{ly}' stroke='{col}' stroke-width='2'{dash}/>")
        out.append(f"<circle cx='{x + 11}' cy='{ly}' r='4' fill='{col if valid else 'white'}' stroke='{col}'/>")
        out.append(f"<text x='{x + 28}' y='{ly + 4}'>{escape(name)}</text>")
        x += 40 + 6.5 * len(name)
    out.append(f"<path d='M{x + 6} {ly - 6}L{x + 12} {ly}L{x + 6} {ly + 6}L{x} {ly}Z' fill='#555'/>")
    out.append(f"<text x='{x + 18}' y='{ly + 4}'>Holm-adjusted McNemar p &lt; 0.05</text>")
    out.append(f"<text class='legend' x='10' y='{ly + 22}' fill='#555'>one colour per comparison (treatment − baseline); "
               "hollow grey dashed rows: a condition's mean label mass is below 0.5, so its label scores mean nothing</text>")
    out.append("</svg>")
    return "\n".join(out)


__all__ = ["INVALID", "PALETTE", "forest_svg", "pair_colours"]
