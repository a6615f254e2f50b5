"""Held-out integrity set (fixtures/integrity): the scorer's figures, pinned as floors.

The pages were written after the detector's vocabulary and were not used to build it; this
test only keeps a regression from going unnoticed. The floors are the figures measured when
the detector was finished (see FLOORS) minus a margin, except that no clean page may ever be
flagged.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pipeline.record import extract_notice
from schemas.stages import FetchResult

SCORER = Path(__file__).resolve().parent.parent / "fixtures" / "integrity" / "check_integrity_fixtures.py"

# Measured once on the finished detector (the scorer, --score): status TP 15 FP 0 FN 0 TN 16
# (precision 1.00, recall 1.00; clean 13/13 and borderline 3/3 left alone), finding kinds
# 15/15, gold evidence strings 54/62 reported exactly. Floors sit below so that one page can
# move without a failure; a clean page flagged always fails.
FLOORS = {
    "clean.flagged": 0,
    "precision": 0.90,
    "recall": 0.85,
    "evidence": 0.80,  # share of gold evidence strings reported (exact or after NFKC)
}


def _scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_integrity_fixtures", SCORER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _score() -> dict[str, Any]:
    scorer = _scorer()
    verdicts: dict[str, Counter[str]] = {}
    evidence: Counter[str] = Counter()
    for _name, body, gold in scorer.load_pages():
        if gold is None:
            continue
        rec = extract_notice(
            FetchResult.from_file_bytes(body, url=gold["url"], content_type=gold["content_type_header"])
        )
        flagged = rec.integrity.status == "suspect"
        want = gold["status"] == "suspect"
        verdict = ("TP" if flagged else "FN") if want else ("FP" if flagged else "TN")
        verdicts.setdefault(gold["group"], Counter())[verdict] += 1
        reported = [e for f in rec.integrity.findings for e in f.evidence]
        evidence.update(scorer.evidence_match(e, reported) for f in gold["findings"] for e in f["evidence"])
    total: Counter[str] = sum(verdicts.values(), Counter())
    return {
        "groups": verdicts,
        "precision": total["TP"] / max(1, total["TP"] + total["FP"]),
        "recall": total["TP"] / max(1, total["TP"] + total["FN"]),
        "evidence": (evidence["exact"] + evidence["normalized"]) / max(1, sum(evidence.values())),
    }


@pytest.mark.skipif(not SCORER.exists(), reason="held-out integrity fixtures not present")
def test_held_out_integrity_floors() -> None:
    res = _score()
    assert res["groups"].get("clean", Counter())["FP"] == FLOORS["clean.flagged"], res
    for key in ("precision", "recall", "evidence"):
        assert res[key] >= FLOORS[key], (key, res)
