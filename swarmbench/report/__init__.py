"""The report of a results folder: report.md and a self-contained report.html.

model      what the report says, computed once from run.json and the cells
claims     a verdict per claim of the article: reproduced, refuted, not testable here
ranking    rankings with intervals and "indistinguishable in this run" groups
same_traffic  every system at the same fixed rates: CPU, RSS, p99
failures   cells with failed requests: count, share, reasons and their meaning
findings   the sentences drawn from it (rankings, CPU per request, lower bounds)
markdown   report.md
html       report.html, with the charts inline
svg        the charts (bars, time series) as inline SVG
reference  the article's published figures (article-2025.toml, package data)
writer     write both files atomically: the entry point

Reads results only (swarmbench.results), never the bench's internals. May import: targets
(the registry, for languages), results, util, errors.
"""
