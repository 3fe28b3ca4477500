"""Charts drawn on the server as SVG with matplotlib (no JavaScript; the PDF can reuse them).

A chart only draws figures a service computed; every chart sits next to a table of the same
figures, and its `alt` text says so.
"""

from __future__ import annotations

import io
import threading
from typing import Any

# Drawn charts, keyed by what they show (title and figures): the same figures are never drawn
# twice, whoever asks; a new journal entry changes the figures, hence the key.
_drawn: dict[tuple[Any, ...], bytes] = {}
_drawn_lock = threading.Lock()
_DRAWN_KEPT = 512


def cumulative_svg(title: str, months: list[dict[str, Any]]) -> bytes:
    """The monthly cumulative realised (bars) against the target (line) of one share."""
    key = (title, tuple((m["month"], str(m["target"]), m["realised"]) for m in months))
    with _drawn_lock:
        found = _drawn.get(key)
    if found is not None:
        return found
    drawn = _draw(title, months)
    with _drawn_lock:
        _drawn[key] = drawn
        while len(_drawn) > _DRAWN_KEPT:
            _drawn.pop(next(iter(_drawn)))
    return drawn


def clear_drawn() -> None:
    """Forget the drawn charts (the benchmark's cold calls)."""
    with _drawn_lock:
        _drawn.clear()


def _draw(title: str, months: list[dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = [m["month"][5:7] + "/" + m["month"][2:4] for m in months]
    target = [float(m["target"]) for m in months]  # drawing only: figures stay Decimal elsewhere
    realised = [m["realised"] for m in months]
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    axes = figure.add_subplot()
    axes.bar(labels, realised, color="#0b4f9c", label="Réalisé cumulé")
    axes.plot(labels, target, color="#b35900", marker="o", linewidth=2.5, label="Objectif cumulé")
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_ylabel("Logements")
    axes.legend(loc="upper left", frameon=False)
    axes.grid(axis="y", color="#c7c7c7", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_ylim(bottom=0)
    # Fixed margins: tight_layout measured every label first, about a third of the drawing time.
    figure.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.1)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
