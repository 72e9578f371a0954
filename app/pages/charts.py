"""Chart geometry for inline SVG: the server computes every bar and point, the template draws.

No chart library and no script: the dashboard's charts are plain SVG that screen readers can
read (each mark has a ``<title>``) and that tests can check (each mark has ``data-value``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH = 360  # about a phone's width, so 11px text stays 11px there
HEIGHT = 170
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 30, 14, 10, 24


@dataclass
class Mark:
    label: str
    value: int
    x: float
    y: float
    w: float = 0.0
    h: float = 0.0


@dataclass
class Chart:
    kind: str  # bars | line | hbars
    width: int
    height: int
    marks: list[Mark]
    ticks: list[tuple[float, int]] = field(default_factory=list)  # (y or x position, value)
    labels: list[tuple[float, str]] = field(default_factory=list)  # axis labels shown
    points: str = ""  # the polyline of a line chart
    total: int = 0
    peak: int = 0


def _nice_max(peak: int) -> int:
    """A round top for the axis: 1, 2, 5, 10, 20, 50, ..."""
    if peak <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if peak <= step * factor:
                return step * factor
        step *= 10


def _day_labels(labels: list[str], xs: list[float]) -> list[tuple[float, str]]:
    """About five ``MM-DD`` labels, the last day always among them."""
    every = max(1, -(-len(labels) // 5))
    last = len(labels) - 1
    return [(x, label[5:]) for i, (x, label) in enumerate(zip(xs, labels))
            if (i % every == 0 and last - i >= every / 2) or i == last]


def _ticks(top: int, plot_h: float) -> list[tuple[float, int]]:
    return [(PAD_TOP + plot_h - plot_h * f, round(top * f)) for f in (0, 0.5, 1)]


def bars(series: list[tuple[str, int]]) -> Chart:
    """Vertical bars, one per (day, value)."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    peak = max((v for _, v in series), default=0)
    top = _nice_max(peak)
    slot = plot_w / max(1, len(series))
    marks = []
    for i, (label, value) in enumerate(series):
        h = plot_h * value / top
        marks.append(Mark(label, value, round(PAD_LEFT + i * slot + slot * 0.15, 2),
                          round(PAD_TOP + plot_h - h, 2), round(slot * 0.7, 2), round(h, 2)))
    centers = [m.x + m.w / 2 for m in marks]
    return Chart("bars", WIDTH, HEIGHT, marks, _ticks(top, plot_h),
                 _day_labels([m.label for m in marks], centers),
                 total=sum(v for _, v in series), peak=peak)


def line(series: list[tuple[str, int]]) -> Chart:
    """A line with a dot per (day, value)."""
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    peak = max((v for _, v in series), default=0)
    top = _nice_max(peak)
    step = plot_w / max(1, len(series) - 1)
    marks = [Mark(label, value, round(PAD_LEFT + i * step, 2),
                  round(PAD_TOP + plot_h - plot_h * value / top, 2))
             for i, (label, value) in enumerate(series)]
    points = " ".join(f"{m.x},{m.y}" for m in marks)
    return Chart("line", WIDTH, HEIGHT, marks, _ticks(top, plot_h),
                 _day_labels([m.label for m in marks], [m.x for m in marks]), points,
                 total=sum(v for _, v in series), peak=peak)


def hbars(rows: list[tuple[str, int]], row_height: int = 26) -> Chart:
    """Horizontal bars, one per (label, value): per-post figures."""
    label_w = 120
    plot_w = WIDTH - label_w - 40
    peak = max((v for _, v in rows), default=0)
    top = _nice_max(peak)
    marks = [Mark(label, value, label_w, round(i * row_height + 4, 2),
                  round(plot_w * value / top, 2), row_height - 8)
             for i, (label, value) in enumerate(rows)]
    height = max(row_height, row_height * len(rows)) + 4
    return Chart("hbars", WIDTH, height, marks, total=sum(v for _, v in rows), peak=peak)
