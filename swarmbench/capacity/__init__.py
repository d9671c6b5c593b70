"""swarmbench measuring itself: what its generator, master and telemetry can carry.

generator_bench  requests per generator-core-second of each generator, against wrk
master_bench     how many simulated workers one Locust master core holds
workersim        the simulated workers (real Locust rpc clients) master_bench attaches
plugin_bench     swarmbench's Locust plugin's CPU per request against plain Locust
telemetry_bench  what the collector and the master's exporter cost
soak             minutes at a fixed rate: is the generator's memory flat?
plan             worker cores, hosts and master headroom for a target request rate

Benchmarks print ratios against a reference taken in the same run; nothing here is asserted
on time. May import: generators, targets, engine, telemetry, util, errors.
"""
