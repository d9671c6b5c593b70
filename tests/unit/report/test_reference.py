"""The project's copy of the published figures, and normalisation to tokio = 1.0."""

from __future__ import annotations

from swarmbench.report import reference


def test_packaged_copy_holds_the_articles_figures_and_cites_its_source() -> None:
    pub = reference.load()
    assert pub.figures("wrk", "on")["tokio"] == 340_130
    assert pub.figures("ab", "off")["rust-std"] == 31_511
    assert len(pub.figures("wrk", "off")) == 7
    assert pub.latency_ms["node-std"] == 2.58
    assert pub.production["node_cpu_percent"] == [80, 95]
    assert "DEV Community, 2025-10-26" in pub.source
    assert "github.com/eastspire/web-server-pressure-measurement" in pub.source
    assert any(line.startswith("Machine: i9-14900KF") for line in pub.header)


def test_normalise_to_tokio_or_else_the_fastest() -> None:
    base, norm = reference.normalise({"tokio": 200.0, "node-std": 50.0, "gin": None})
    assert base == "tokio"
    assert norm == {"tokio": 1.0, "node-std": 0.25, "gin": None}
    base, norm = reference.normalise({"gin": 100.0, "node-std": 50.0})
    assert base == "gin" and norm["node-std"] == 0.5
    assert reference.normalise({"tokio": None}) == (None, {"tokio": None})
