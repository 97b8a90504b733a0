"""Draw docs/recall_at_k.png: this project's LoCoMo recall@k against BM25 and DRAGON.

Reads the JSON reports that `companion-agent bench locomo --json` wrote into docs/results/
(dialog.json; observation.json if present) and the published anchors. Needs matplotlib
(`pip install matplotlib`); it is a documentation tool, not a dependency of companion.

    python scripts/plot_recall.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the backend must be chosen first

DOCS = Path(__file__).resolve().parent.parent / "docs"
KS = [5, 10, 25, 50]
# LoCoMo paper, Table 3, all categories, retrieval over dialog turns / observations.
DRAGON_DIALOG = [56.7, 66.2, 76.7, 82.7]
DRAGON_OBSERVATION = [56.2, 61.3, 67.5, None]
# Plain BM25 over dialog turns on the dev conversations (shared/reference/locomo.md).
BM25_DIALOG = [53.4, 60.7, 67.6, 72.2]


def _ours(name: str) -> list[float] | None:
    path = DOCS / "results" / f"{name}.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    return [report["recall"]["all"][str(k)] for k in KS]


def main() -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    series = [
        ("companion, dialog turns", _ours("dialog"), "C0", "-", "o"),
        ("companion, observations", _ours("observation"), "C0", "--", "s"),
        ("DRAGON (paper), dialog turns", DRAGON_DIALOG, "C3", "-", "^"),
        ("DRAGON (paper), observations", DRAGON_OBSERVATION, "C3", "--", "v"),
        ("BM25, dialog turns", BM25_DIALOG, "C7", "-", "x"),
    ]
    for label, values, color, style, marker in series:
        if values is None:
            continue
        points = [(k, v) for k, v in zip(KS, values, strict=True) if v is not None]
        ax.plot(*zip(*points, strict=True), label=label, color=color, ls=style, marker=marker)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(KS, [str(k) for k in KS])
    ax.set_xlabel("k (retrieved memories)")
    ax.set_ylabel("recall@k, % (all categories)")
    ax.set_title("LoCoMo retrieval recall, dev conversations")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(DOCS / "recall_at_k.png")
    print(f"wrote {DOCS / 'recall_at_k.png'}")


if __name__ == "__main__":
    main()
