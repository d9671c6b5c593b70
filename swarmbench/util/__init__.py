"""Small helpers every layer uses: atomic files, CLI option types, paths, CPU pinning, processes.

atomic    whole-file writes (temp file, fsync, rename)
options   typed argparse validators and SWARMBENCH_* environment defaults
paths     the checkout (ROOT) and the build folder
pinning   the split of this machine's CPUs between target and generators
processes a free port, waiting for a listener, stopping a process (group): the one place

May import: swarmbench.errors only. Everything else may import it.
"""
