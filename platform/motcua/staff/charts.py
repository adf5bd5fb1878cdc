"""Inline SVG charts rendered on the server: no chart library, no JavaScript, a few KB."""

from __future__ import annotations

from html import escape
from typing import Any

from markupsafe import Markup

W, H, PAD_L, PAD_B, PAD_T = 640, 200, 34, 22, 22


def bar_chart(series: list[dict[str, Any]], stacks: list[tuple[str, str, str]], *, title: str) -> Markup:
    """Stacked daily bars; ``stacks`` = (key, label, colour). Accessible: a title and per-bar tooltips."""
    n = max(len(series), 1)
    top = max([sum(int(d[k]) for k, _, _ in stacks) for d in series] + [1])
    step = (W - PAD_L - 4) / n
    bar = max(step * 0.75, 1)
    plot_h = H - PAD_B - PAD_T
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for frac in (0, 0.5, 1):
        y = PAD_T + plot_h * (1 - frac)
        parts.append(f'<line x1="{PAD_L}" x2="{W}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde3ea"/>'
                     f'<text x="{PAD_L - 4}" y="{y + 3:.1f}" text-anchor="end">{round(top * frac)}</text>')
    for i, d in enumerate(series):
        x = PAD_L + i * step
        y = PAD_T + plot_h
        tip = f"{d['day']}: " + ", ".join(f"{label} {d[k]}" for k, label, _ in stacks)
        for key, _label, colour in stacks:
            v = int(d[key])
            if not v:
                continue
            h = plot_h * v / top
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{escape(tip)}</title></rect>')
        if n <= 31 and (i % max(1, n // 8) == 0):
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{H - 6}" text-anchor="middle">'
                         f'{d["day"].strftime("%d/%m")}</text>')
    lx = PAD_L
    for _key, label, colour in stacks:
        parts.append(f'<rect x="{lx}" y="4" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="13">{escape(label)}</text>')
        lx += 14 + 7 * len(label) + 16
    parts.append("</svg>")
    return Markup("".join(parts))
