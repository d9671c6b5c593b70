"""What a bench run measures: its profile, its options, and the cells they expand to."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from swarmbench.bench import schedule
from swarmbench.errors import UsageError
from swarmbench.generators.locust import Locust
from swarmbench.generators.runner import by_name
from swarmbench.generators.spec import Generator
from swarmbench.results import CellKey
from swarmbench.targets import registry

GENERATOR_NAMES = ("locust", "wrk", "ab")


@dataclass(frozen=True)
class Profile:
    """A named set of defaults; every field can be overridden on the command line."""

    name: str
    connections: int
    duration_s: float
    warmup_s: float
    wrk_threads: int
    ab_connections: int
    ab_requests: int | None
    description: str
    #: short rounds per cell, interleaved across systems; duration_s (or ab_requests) is one
    #: round's
    rounds: int = 3
    #: the same-traffic phase: offered loads in percent of the mode's reference capacity
    same_traffic_steps: tuple[int, ...] = (25, 50, 75)
    same_traffic_rounds: int = 2


PROFILES = {
    "quick": Profile(
        name="quick",
        connections=64,
        duration_s=1.0,
        warmup_s=1.0,
        wrk_threads=1,
        ab_connections=64,
        ab_requests=None,
        description="64 connections, 3 interleaved rounds of 1 s per cell, then the same "
        "traffic at 25/50/75% of the slowest system (2 rounds of 1 s): about 7 minutes planned, "
        "up to 10 on a busy machine",
        rounds=3,
        same_traffic_steps=(25, 50, 75),
        same_traffic_rounds=2,
    ),
    "article": Profile(
        name="article",
        connections=360,
        duration_s=20.0,
        warmup_s=5.0,
        wrk_threads=2,
        ab_connections=1000,
        ab_requests=333_334,
        description="the article's parameters split in 3 interleaved rounds: wrk -t2 -c360 "
        "3 x 20 s (its -d60s); ab -c1000 3 x 333,334 requests (its -n1000000); then the same "
        "traffic, 3 rounds of 20 s: about 1 hour 30 minutes planned",
        rounds=3,
        same_traffic_steps=(25, 50, 75),
        same_traffic_rounds=3,
    ),
}


@dataclass(frozen=True)
class BenchConfig:
    out: Path
    profile: Profile
    systems: tuple[str, ...]
    keepalive: tuple[bool, ...] = (True, False)
    generators: tuple[str, ...] = GENERATOR_NAMES
    rate: float | None = None
    workers: int = 1
    target_threads: int | None = None
    target_host: str = "127.0.0.1"
    run_id: str = ""
    #: the user's registry file (--targets), whose systems join the seven
    targets_file: str | None = None
    #: the user's locustfile and the user class its Locust cells run (--locustfile, --user-class)
    locustfile: str | None = None
    user_class: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def targets_path(self) -> Path | None:
        return Path(self.targets_file) if self.targets_file else None

    def generator(self, name: str) -> Generator:
        """The cells' generator of that name: Locust runs the user's class where one is given."""
        if name == "locust" and self.locustfile:
            return Locust(Path(self.locustfile), self.user_class)
        return by_name(name)

    def targets(self) -> dict[str, registry.Target]:
        """This run's systems, by name, as their registry files describe them."""
        loaded = registry.load(extra=self.targets_path)
        return {name: loaded[name] for name in self.systems}

    @property
    def same_traffic_steps(self) -> tuple[int, ...]:
        """Offered loads of the same-traffic phase; --rate R is one step of 100% of R."""
        if self.rate:
            return (100,)
        if "locust" not in self.generators:
            return ()
        return self.profile.same_traffic_steps

    def cells(self) -> list[CellKey]:
        """Every cell of the saturation phase (the same-traffic cells follow from its figures)."""
        return [m.key for m in self.saturation() if m.round == 0]

    def saturation(self, interleave: bool = True) -> list[schedule.Measurement]:
        rounds, targets = self.profile.rounds, self.targets()
        return schedule.saturation(
            self.systems,
            self.keepalive,
            self.generators,
            rounds,
            targets=targets,
            interleave=interleave,
        )

    def same_traffic(self, interleave: bool = True) -> list[schedule.Measurement]:
        steps = self.same_traffic_steps
        rounds = self.profile.same_traffic_rounds
        targets = self.targets()
        return schedule.same_traffic(
            self.systems, self.keepalive, steps, rounds, targets=targets, interleave=interleave
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["out"] = str(self.out)
        return data


def parse_keepalive(items: list[str]) -> tuple[bool, ...]:
    modes = {"on": True, "off": False}
    unknown = [i for i in items if i not in modes]
    if unknown or not items:
        got = ",".join(items) or "nothing"
        raise UsageError(f"--keepalive takes on, off or on,off (got {got})")
    return tuple(dict.fromkeys(modes[i] for i in items))


def parse_generators(items: list[str]) -> tuple[str, ...]:
    unknown = [i for i in items if i not in GENERATOR_NAMES]
    if unknown or not items:
        raise UsageError(
            f"unknown generator {', '.join(map(repr, unknown)) or 'none given'}; "
            f"known: {', '.join(GENERATOR_NAMES)}"
        )
    return tuple(dict.fromkeys(items))


def parse_steps(items: list[int | float]) -> tuple[int, ...]:
    """--same-traffic's steps, already checked (1-100, commands.bench); [] is off."""
    return tuple(dict.fromkeys(int(i) for i in items))


def build_config(
    out: Path,
    profile_name: str,
    systems: list[str] | None,
    keepalive: list[str],
    generators: list[str],
    **overrides: Any,
) -> BenchConfig:
    """Validate everything before any work starts, so bad input leaves nothing behind."""
    profile = PROFILES[profile_name]
    steps = overrides.pop("same_traffic_steps", None)
    if steps is not None:
        overrides["same_traffic_steps"] = parse_steps(steps)
    profile_fields = {k: v for k, v in overrides.items() if k in Profile.__dataclass_fields__}
    profile = replace(profile, **{k: v for k, v in profile_fields.items() if v is not None})
    rest = {k: v for k, v in overrides.items() if k not in profile_fields and v is not None}
    targets_file = rest.get("targets_file")
    names = [t.name for t in registry.select(systems, Path(targets_file) if targets_file else None)]
    return BenchConfig(
        out=out,
        profile=profile,
        systems=tuple(names),
        keepalive=parse_keepalive(keepalive),
        generators=parse_generators(generators),
        **rest,
    )
