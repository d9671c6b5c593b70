"""Where a measurement stops being the server's figure, decided the same way everywhere.

The engine's generator-bound verdict (a worker's CPU), the bench's verdict for wrk and ab, and
the cluster dashboard's Generator-bound panel all use GENERATOR_BOUND_RATIO.
"""

from __future__ import annotations

#: A load generator above this share of one core (of its cores, for wrk) was the limit of the
#: run, not the server: the run's requests/s is a lower bound of the server's capacity.
GENERATOR_BOUND_RATIO = 0.9

#: Other processes above this share of a core (100 = one core) during a round: the machine was
#: busy, and the round's figures may be low. The bench flags the cell, the report lists it.
BUSY_OTHER_CPU_PERCENT = 25.0
#: A virtual machine's steal above this share of a core during a round: its hypervisor ran other
#: guests for half a core's time, enough to move the round's requests/s and CPU figures. Flagged
#: and listed alike. Lower steal is a condition of the whole run, said once with the run's
#: conditions: on the shared 2-core VM this was built on, any flat-out load drew 20-40% of a
#: core of steal, so a lower threshold would flag most cells of every run and tell nothing.
STEAL_CPU_PERCENT = 50.0
