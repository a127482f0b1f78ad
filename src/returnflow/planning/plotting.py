"""PNG map of a plan (matplotlib, no basemap): regions coloured by their main center, lines to it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from returnflow.planning.geography import Place
from returnflow.planning.problem import NetworkPlan


def draw_plan(centers: Sequence[Place], regions: Sequence[Place], plan: NetworkPlan, path: str | Path, *, title: str = "") -> None:
    """Write the map to ``path``: open centers as stars, closed candidates as grey crosses, regions as dots
    (area ~ volume) coloured and joined to the center carrying most of their volume."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    main = np.argmax(plan.assignment, axis=0)
    colours = plt.get_cmap("tab10")
    figure, axes = plt.subplots(figsize=(11, 6.5), dpi=110)
    volumes = np.array([r.volume for r in regions])
    sizes = 4 + 120 * volumes / volumes.max()
    for rank, i in enumerate(plan.open_centers):
        chosen = np.flatnonzero(main == i)
        colour = colours(rank % 10)
        for j in chosen:
            axes.plot([regions[j].longitude, centers[i].longitude], [regions[j].latitude, centers[i].latitude],
                      color=colour, linewidth=0.25, alpha=0.35, zorder=1)
        axes.scatter([regions[j].longitude for j in chosen], [regions[j].latitude for j in chosen], s=sizes[chosen],
                     color=colour, alpha=0.7, linewidths=0, zorder=2)
    closed = [c for k, c in enumerate(centers) if k not in plan.open_centers]
    axes.scatter([c.longitude for c in closed], [c.latitude for c in closed], marker="x", color="grey", s=40, zorder=3,
                 label="candidate, not opened")
    for rank, i in enumerate(plan.open_centers):
        axes.scatter([centers[i].longitude], [centers[i].latitude], marker="*", s=420, color=colours(rank % 10),
                     edgecolors="black", linewidths=1.2, zorder=4)
        axes.annotate(centers[i].name, (centers[i].longitude, centers[i].latitude), xytext=(8, 8),
                      textcoords="offset points", fontsize=10, weight="bold", zorder=5)
    axes.set_xlim(-126, -66)
    axes.set_ylim(24, 50)
    axes.set_aspect(1 / np.cos(np.radians(37)))
    axes.set_xlabel("longitude")
    axes.set_ylabel("latitude")
    axes.set_title(title or "Return-center network plan")
    axes.legend(loc="lower left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
