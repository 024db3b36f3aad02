"""The alert's chart: hourly matching mentions over the last 48 hours against the expected band, the
incident shaded. matplotlib is an optional extra (`pip install 'brand-monitor[charts]'`): without it
alerts go out without a chart."""

from __future__ import annotations

import io
import logging
import math
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)


def chart_png(series: dict[str, Any]) -> bytes | None:
    """A PNG of the series in an alert or digest event's "chart" field, or None without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import DateFormatter, date2num
        from matplotlib.figure import Figure
    except ImportError:
        return None
    if series.get("kind") == "digest":
        return _digest_png(series)
    start, counts = int(series["start_hour"]), list(series["counts"])
    hours = date2num([datetime.fromtimestamp((start + i) * 3600, UTC) for i in range(len(counts))])  # type: ignore[no-untyped-call]
    figure = Figure(figsize=(8, 3), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.bar(hours, counts, width=1 / 24 * 0.85, align="edge", color="#c0392b", label=series.get("label", "mentions"))
    expected = series.get("expected")
    if expected:
        # The usual range: the expected count give or take two Poisson standard deviations.
        low = [max(0.0, e - 2 * math.sqrt(e)) for e in expected]
        high = [e + 2 * math.sqrt(e) for e in expected]
        axes.fill_between(hours, low, high, step="post", color="#7f8c8d", alpha=0.25, label="usual range")
        axes.step(hours, expected, where="post", color="#2c3e50", linewidth=1, label="expected")
    incident_from = series.get("incident_from")
    if incident_from:
        opened = float(date2num(datetime.fromtimestamp(float(incident_from), UTC)))  # type: ignore[no-untyped-call]
        axes.axvspan(opened, float(hours[-1]) + 1 / 24, color="#e67e22", alpha=0.15, label="incident")
    axes.set_title(str(series.get("title", ""))[:100], fontsize=10)
    axes.xaxis_date()
    axes.xaxis.set_major_formatter(DateFormatter("%a %H:%M"))  # type: ignore[no-untyped-call]
    axes.set_ylabel("per hour (UTC)")
    axes.legend(fontsize=7, loc="upper left")
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    figure.clear()  # now, rather than whenever the collector gets to it
    return buffer.getvalue()


def _digest_png(series: dict[str, Any]) -> bytes:
    """A digest's volume and negative mentions per hour (daily digest) or per day (weekly), in local time."""
    from zoneinfo import ZoneInfo

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter, date2num
    from matplotlib.figure import Figure

    start, width = float(series["start"]), float(series["width"])
    volume, negative = list(series["volume"]), list(series["negative"])
    zone = ZoneInfo(str(series.get("zone") or "UTC"))
    edges = date2num([datetime.fromtimestamp(start + i * width, UTC) for i in range(len(volume))])  # type: ignore[no-untyped-call]
    figure = Figure(figsize=(8, 3), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bar = width / 86400 * 0.85
    axes.bar(edges, volume, width=bar, align="edge", color="#95a5a6", label="all mentions")
    axes.bar(edges, negative, width=bar, align="edge", color="#c0392b", label="negative")
    axes.set_title(str(series.get("title", ""))[:100], fontsize=10)
    axes.xaxis_date(zone)
    axes.xaxis.set_major_formatter(DateFormatter("%H:%M" if width < 86400 else "%a %d", tz=zone))  # type: ignore[no-untyped-call]
    axes.set_ylabel("per hour" if width < 86400 else "per day")
    axes.legend(fontsize=7, loc="upper left")
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    figure.clear()
    return buffer.getvalue()
