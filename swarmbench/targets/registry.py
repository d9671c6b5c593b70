"""The target registry: how to build, run and recognise each server.

deploy/targets.toml holds the seven servers of the benchmark. A user's own file, in the same
form (`--targets FILE`), adds systems beside them: a server swarmbench builds and runs (`build`,
`artefact`, `run`), or one already running at a `url` that swarmbench only loads and watches.
Its entries may declare a `contract` (what `verify` requires of the answer) and the Debian
`packages` a cluster's target host needs to run it.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from swarmbench.errors import UsageError
from swarmbench.util import paths

#: The checks a server may be excused from (a user's server): the seven must pass them all.
OPTIONAL_CHECKS = ("http/1.0 closes", "http/1.0 keep-alive", "pipelining")
#: Placeholders `run` may use ({artefact} too); `build` and `artefact` know only the first two.
_BUILD_FIELDS = ("source", "build_dir")
_RUN_FIELDS = (*_BUILD_FIELDS, "artefact", "host", "port", "threads")
_KNOWN_KEYS = frozenset(
    {
        "language", "version", "threading", "toolchain", "shared", "build", "artefact", "run",
        "extra_headers", "source", "url", "pidfile", "packages", "contract",
        "variant_of", "generators", "known_deviations", "purpose",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Contract:
    """What `verify` requires of a server's answer to GET.

    The seven answer the hello contract (HELLO). A user's server answers `status`, framed by
    Content-Length or chunked encoding, keeps HTTP/1.1 connections and honours Connection: close;
    its body and Content-Type are checked only when given, and the behaviours of OPTIONAL_CHECKS
    are reported but required only when listed in `require`.
    """

    status: int = 200
    body: bytes | None = None
    content_type: str | None = None
    #: OPTIONAL_CHECKS this server must pass too
    require: frozenset[str] = frozenset()
    #: the hello contract: Content-Type text/plain and every check required
    hello: bool = False

    def required(self, check: str) -> bool:
        return self.hello or check not in OPTIONAL_CHECKS or check in self.require


HELLO = Contract(status=200, body=b"Hello", content_type="text/plain", hello=True)


@dataclass(frozen=True)
class Target:
    """One server of the benchmark, as a registry file describes it."""

    name: str
    language: str
    version: str
    threading: str
    toolchain: str
    build_cmd: tuple[str, ...]
    artefact_tpl: str
    run_tpl: tuple[str, ...]
    extra_headers: tuple[str, ...]
    source: Path
    #: other folders the build reads (a crate shared by several servers)
    shared_sources: tuple[Path, ...] = ()
    contract: Contract = HELLO
    #: a server already running there: swarmbench loads and watches it, never starts it
    url: str | None = None
    #: the file holding its PID (a `url` entry); default: the process listening on its port
    pidfile: Path | None = None
    #: Debian packages a cluster's target host needs to run it
    packages: tuple[str, ...] = ()
    #: the registry file it comes from; None for deploy/targets.toml
    origin: Path | None = None
    #: a variant (e.g. a published server kept with its bug) names the system it varies
    variant_of: str | None = None
    #: the generators a variant is measured with (empty: all)
    generators: tuple[str, ...] = ()
    #: verification checks this server is known to fail (its documented deviation): recorded,
    #: not a reason to refuse the load
    known_deviations: tuple[str, ...] = ()
    #: what the variant shows, for the report
    purpose: str = ""

    def _fill(self, text: str, **extra: object) -> str:
        values = {"source": str(self.source), "build_dir": str(paths.build_dir()), **extra}
        return text.format(**values)

    @property
    def external(self) -> bool:
        return self.url is not None

    @property
    def artefact(self) -> Path:
        return Path(self._fill(self.artefact_tpl)) if self.artefact_tpl else self.source

    def build_command(self) -> list[str]:
        return [self._fill(part) for part in self.build_cmd]

    def run_command(self, port: int, threads: int, host: str = "127.0.0.1") -> list[str]:
        return [
            self._fill(part, artefact=self.artefact, host=host, port=port, threads=threads)
            for part in self.run_tpl
        ]

    @property
    def takes_threads(self) -> bool:
        return any("{threads}" in part for part in self.run_tpl)

    @property
    def listen_port(self) -> int | None:
        """A `url` entry's port, where its collector finds it."""
        if self.url is None:
            return None
        parts = urlsplit(self.url)
        return parts.port or 80

    def is_built(self) -> bool:
        return self.external or self.artefact.exists()

    def describe(self) -> dict[str, Any]:
        """What run.json and the report keep of it."""
        return {
            "language": self.language,
            "version": self.version,
            "threading": self.threading,
            "origin": str(self.origin) if self.origin else None,
            "url": self.url,
        }


@dataclass
class _Reader:
    """Reads one registry file's entries; every mistake names the file, system and key."""

    path: Path
    builtin: bool

    def fail(self, name: str, message: str) -> UsageError:
        return UsageError(f"{self.path}: systems.{name}: {message}")

    def text(self, name: str, entry: dict[str, Any], key: str, default: str | None = None) -> str:
        value = entry.get(key, default)
        if not isinstance(value, str) or (default is None and not value):
            raise self.fail(name, f"`{key}` must be a non-empty string")
        return value

    def words(self, name: str, entry: dict[str, Any], key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, f"`{key}` must be a list of strings")
        return tuple(value)

    def template(
        self, name: str, key: str, parts: tuple[str, ...], fields: tuple[str, ...]
    ) -> None:
        dummy = dict.fromkeys(fields, "x")
        for part in parts:
            try:
                part.format(**dummy)
            except (KeyError, IndexError, ValueError) as exc:
                known = ", ".join("{" + f + "}" for f in fields)
                message = f"`{key}`: bad placeholder {exc} in {part!r}; known: {known}"
                raise self.fail(name, message) from None

    def contract(self, name: str, entry: dict[str, Any]) -> Contract:
        if self.builtin:
            return HELLO
        spec = entry.get("contract", {})
        if not isinstance(spec, dict):
            raise self.fail(name, "`contract` must be a table")
        unknown = set(spec) - {"status", "body", "content_type", "require"}
        if unknown:
            raise self.fail(name, f"contract: unknown key {', '.join(sorted(unknown))}")
        status = spec.get("status", 200)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise self.fail(name, f"contract.status {status!r} is not an HTTP status")
        require = self.words(name, spec, "require")
        bad = [r for r in require if r not in OPTIONAL_CHECKS]
        if bad:
            known = ", ".join(OPTIONAL_CHECKS)
            raise self.fail(name, f"contract.require: unknown check {bad[0]!r}; known: {known}")
        body = spec.get("body")
        ctype = spec.get("content_type")
        if body is not None and not isinstance(body, str):
            raise self.fail(name, "contract.body must be a string")
        if ctype is not None and not isinstance(ctype, str):
            raise self.fail(name, "contract.content_type must be a string")
        return Contract(
            status=status,
            body=body.encode() if body is not None else None,
            content_type=ctype.lower() if ctype else None,
            require=frozenset(require),
        )

    def entry(self, name: str, entry: dict[str, Any]) -> Target:
        if not isinstance(entry, dict):
            raise self.fail(name, "must be a table")
        unknown = set(entry) - _KNOWN_KEYS
        if unknown:
            raise self.fail(name, f"unknown key {', '.join(sorted(unknown))}")
        base = self.path.parent
        source = base / self.text(name, entry, "source", f"targets/{name}")
        url = entry.get("url")
        if url is not None:
            return self._external(name, entry, source, url)
        run = self.words(name, entry, "run")
        if not run:
            raise self.fail(name, "needs `run` (how to start it) or `url` (where it runs)")
        build_cmd = self.words(name, entry, "build")
        self.template(name, "build", build_cmd, _BUILD_FIELDS)
        self.template(name, "run", run, _RUN_FIELDS)
        artefact = self.text(name, entry, "artefact", "" if not self.builtin else None)
        self.template(name, "artefact", (artefact,), _BUILD_FIELDS)
        if not artefact and not build_cmd:
            artefact = "{source}"
        default_tool = build_cmd[0] if build_cmd else run[0]
        return Target(
            name=name,
            language=self.text(name, entry, "language"),
            version=self.text(name, entry, "version"),
            threading=self.text(name, entry, "threading", "" if not self.builtin else None),
            toolchain=self.text(name, entry, "toolchain", default_tool),
            build_cmd=build_cmd,
            artefact_tpl=artefact,
            run_tpl=run,
            extra_headers=tuple(h.lower() for h in self.words(name, entry, "extra_headers")),
            source=source,
            shared_sources=tuple(base / "targets" / s for s in self.words(name, entry, "shared")),
            contract=self.contract(name, entry),
            packages=self.words(name, entry, "packages"),
            origin=None if self.builtin else self.path,
            **self.variant(name, entry),
        )

    def variant(self, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        """A variant's fields: what it varies, its generators, its known deviations."""
        of = entry.get("variant_of")
        if of is not None and not isinstance(of, str):
            raise self.fail(name, "`variant_of` must be a system's name")
        return {
            "variant_of": of,
            "generators": self.words(name, entry, "generators"),
            "known_deviations": self.words(name, entry, "known_deviations"),
            "purpose": self.text(name, entry, "purpose", ""),
        }

    def _external(self, name: str, entry: dict[str, Any], source: Path, url: Any) -> Target:
        if not isinstance(url, str) or urlsplit(url).scheme != "http" or not urlsplit(url).hostname:
            raise self.fail(name, f"url {url!r} is not an http URL like http://127.0.0.1:8000/")
        clash = {"build", "run", "artefact"} & set(entry)
        if clash:
            raise self.fail(name, f"a `url` entry is not started by swarmbench: drop {clash.pop()}")
        pidfile = entry.get("pidfile")
        if pidfile is not None and not isinstance(pidfile, str):
            raise self.fail(name, "`pidfile` must be a path")
        return Target(
            name=name,
            language=self.text(name, entry, "language"),
            version=self.text(name, entry, "version"),
            threading=self.text(name, entry, "threading", ""),
            toolchain="",
            build_cmd=(),
            artefact_tpl="",
            run_tpl=(),
            extra_headers=tuple(h.lower() for h in self.words(name, entry, "extra_headers")),
            source=source,
            contract=self.contract(name, entry),
            url=url,
            pidfile=Path(pidfile) if pidfile else None,
            origin=self.path,
        )


def entries(path: Path) -> dict[str, dict[str, Any]]:
    """A registry file's raw [systems.NAME] tables. TOML is what people write; the same data
    as JSON is what the controller ships to a cluster's hosts (swarmbench.cluster.wheelhouse)."""
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text())
        else:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read the targets file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise UsageError(f"{path} is not valid {kind}: {exc}") from None
    systems = data.get("systems") if isinstance(data, dict) else None
    if not isinstance(systems, dict) or not systems:
        raise UsageError(f"{path} declares no [systems.NAME] table")
    return systems


def _read(path: Path, builtin: bool) -> dict[str, Target]:
    reader = _Reader(path, builtin)
    return {name: reader.entry(name, entry) for name, entry in entries(path).items()}


def load(path: Path | None = None, extra: Path | None = None) -> dict[str, Target]:
    """The registry, then `extra`'s systems after it; the order of the files is the order of
    every table and matrix. A user's system may not reuse one of the registry's names."""
    targets = _read(path or paths.registry_file(), builtin=True)
    if extra is None:
        return targets
    added = _read(extra, builtin=False)
    clash = [name for name in added if name in targets]
    if clash:
        raise UsageError(
            f"{extra}: system {clash[0]!r} is already in {path or paths.registry_file()}; "
            "give yours another name"
        )
    return {**targets, **added}


def names(extra: Path | None = None) -> list[str]:
    return list(load(extra=extra))


def get(name: str, extra: Path | None = None) -> Target:
    targets = load(extra=extra)
    if name not in targets:
        raise UsageError(f"unknown system {name!r}; known: {', '.join(targets)}")
    return targets[name]


def select(names_: list[str] | None, extra: Path | None = None) -> list[Target]:
    """The named targets in the order given, or all of them; unknown names fail together."""
    targets = load(extra=extra)
    if not names_:
        return list(targets.values())
    if names_ == ["article"]:  # the article's seven, without the variants
        return [t for t in targets.values() if t.variant_of is None and t.origin is None]
    unknown = [n for n in names_ if n not in targets]
    if unknown:
        raise UsageError(
            f"unknown system {', '.join(map(repr, unknown))}; known: {', '.join(targets)}"
        )
    return [targets[n] for n in names_]


def default_threads() -> int:
    return os.cpu_count() or 1
