"""The shape of a result line, and where output goes: JSON to stdout, progress to stderr."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from benchmarks.timing import Sample


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def emit(line: dict[str, Any]) -> None:
    print(json.dumps(line), flush=True)


def skipped(name: str, reason: str) -> dict[str, Any]:
    return {"name": name, "skipped": reason}


@dataclass(slots=True)
class Tally:
    """One side's samples summed over the rounds."""

    ops: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def add(self, sample: Sample) -> None:
        self.ops += sample.ops
        self.seconds += sample.seconds
        self.cpu_seconds += sample.cpu_seconds

    @property
    def per_s(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_op(self) -> float:
        return 1000 * self.cpu_seconds / self.ops if self.ops else 0.0


@dataclass(slots=True)
class Comparison:
    """Ours against the baseline, round by round (the rounds alternate the two sides)."""

    name: str
    engine: str
    target: float
    ours: Tally = field(default_factory=Tally)
    baseline: Tally = field(default_factory=Tally)
    round_ratios: list[float] = field(default_factory=list)

    def add_round(self, ours: Sample, baseline: Sample) -> None:
        self.ours.add(ours)
        self.baseline.add(baseline)
        ratio = ours.per_s / baseline.per_s if baseline.per_s else 0.0
        self.round_ratios.append(round(ratio, 3))
        log(
            f"{self.name} round {len(self.round_ratios)}: ours {ours.per_s:.1f}/s, "
            f"baseline {baseline.per_s:.1f}/s, ratio {ratio:.3f}"
        )

    @property
    def ratio(self) -> float:
        return self.ours.per_s / self.baseline.per_s if self.baseline.per_s else 0.0

    def line(self, **extra: Any) -> dict[str, Any]:
        """The JSON line: the summed rates first, then how they were obtained."""
        return {
            "name": self.name,
            "ours_per_s": round(self.ours.per_s, 1),
            "baseline_per_s": round(self.baseline.per_s, 1),
            "ratio": round(self.ratio, 3),
            "target": self.target,
            "meets_target": self.ratio >= self.target,
            "engine": self.engine,
            "rounds": len(self.round_ratios),
            "round_ratios": self.round_ratios,
            "ours_ops": self.ours.ops,
            "baseline_ops": self.baseline.ops,
            "ours_seconds": round(self.ours.seconds, 3),
            "baseline_seconds": round(self.baseline.seconds, 3),
            "ours_client_cpu_ms_per_op": round(self.ours.cpu_ms_per_op, 3),
            "baseline_client_cpu_ms_per_op": round(self.baseline.cpu_ms_per_op, 3),
            **extra,
        }
