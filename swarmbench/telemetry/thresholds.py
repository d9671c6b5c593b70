"""Where a measurement stops being the server's figure, decided the same way everywhere.

The engine's generator-bound verdict (a worker's CPU), the bench's verdict for wrk and ab, and
the cluster dashboard's Generator-bound panel all use GENERATOR_BOUND_RATIO.
"""

from __future__ import annotations

#: A load generator above this share of one core (of its cores, for wrk) was the limit of the
#: run, not the server: the run's requests/s is a lower bound of the server's capacity.
GENERATOR_BOUND_RATIO = 0.9
