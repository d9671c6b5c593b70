"""The target servers: the registry, their builds, running one, and verifying it.

registry  deploy/targets.toml read into Target entries (build, run, artefact, headers)
build     toolchain checks, source stamps, one build per system
process   start one server on this machine (pinned), wait for it, stop its process group
verify    the TechEmpower-style contract checks run before any load

May import: engine (its HTTP/1 framing), util, errors. Imported by bench, cluster, capacity.
"""
