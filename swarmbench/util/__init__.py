"""Small helpers every layer uses: atomic files, CLI option types, paths, CPU pinning, processes.

atomic    whole-file writes (temp file, fsync, rename, folder fsync; 0644)
options   bounded argparse validators (each ceiling with its reason), lazy SWARMBENCH_* defaults
paths     the checkout (ROOT) and the build folder
pinning   the split of this machine's CPUs between target and generators
processes starting (spawn, run) and stopping child process groups, whatever ends the command;
          a free port, waiting for a listener: the one place
reaper    the process that stops a command's groups once the command is gone (processes')
typed     JSON read into dataclasses with every field's type checked
stats     medians, order-statistic intervals and ranking groups over a few rounds

May import: swarmbench.errors only. Everything else may import it.
"""
