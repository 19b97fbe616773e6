"""The shape of a result line, and where output goes: JSON to stdout, progress to stderr."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def emit(line: dict[str, Any]) -> None:
    print(json.dumps(line), flush=True)


@dataclass(slots=True)
class Tally:
    """Operations and seconds summed over the rounds of one side."""

    ops: int = 0
    seconds: float = 0.0

    def add(self, ops: int, seconds: float) -> None:
        self.ops += ops
        self.seconds += seconds

    @property
    def per_s(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0


@dataclass(slots=True)
class Comparison:
    """Ours against the baseline, round by round (the rounds alternate the two sides)."""

    name: str
    engine: str
    target: float
    ours: Tally = field(default_factory=Tally)
    baseline: Tally = field(default_factory=Tally)
    round_ratios: list[float] = field(default_factory=list)

    def add_round(self, ours: tuple[int, float], baseline: tuple[int, float]) -> None:
        self.ours.add(*ours)
        self.baseline.add(*baseline)
        ours_rate, base_rate = _rate(*ours), _rate(*baseline)
        self.round_ratios.append(round(ours_rate / base_rate, 3) if base_rate else 0.0)
        log(
            f"{self.name} round {len(self.round_ratios)}: ours {ours_rate:.1f}/s, "
            f"baseline {base_rate:.1f}/s, ratio {self.round_ratios[-1]:.3f}"
        )

    def line(self, **extra: Any) -> dict[str, Any]:
        ratio = self.ours.per_s / self.baseline.per_s if self.baseline.per_s else 0.0
        return {
            "name": self.name,
            "ours_per_s": round(self.ours.per_s, 1),
            "baseline_per_s": round(self.baseline.per_s, 1),
            "ratio": round(ratio, 3),
            "target": self.target,
            "meets_target": ratio >= self.target,
            "engine": self.engine,
            "rounds": len(self.round_ratios),
            "round_ratios": self.round_ratios,
            "ours_ops": self.ours.ops,
            "baseline_ops": self.baseline.ops,
            "ours_seconds": round(self.ours.seconds, 3),
            "baseline_seconds": round(self.baseline.seconds, 3),
            **extra,
        }


def skipped(name: str, reason: str) -> dict[str, Any]:
    return {"name": name, "skipped": reason}


def _rate(ops: int, seconds: float) -> float:
    return ops / seconds if seconds > 0 else 0.0
