"""swarmbench's measurement as a Locust plugin, for any locustfile and any User class.

Either one line in the locustfile, as locust-plugins is used:

    import swarmbench.locust_plugin  # noqa: F401

or one more -f entry, leaving the locustfile as it is (locustfiles/plugin.py in a checkout):

    locust -f my_locustfile.py,locustfiles/plugin.py ...

Every request of every User class (HttpUser, FastHttpUser, any client that fires Locust's
events.request) is then counted per request name in microsecond HDR histograms merged exactly
across workers: the latency JSON, the master's Prometheus endpoint, thresholds, HdrHistogram
exports and a web UI tab. `locust -f ... --help` lists the options (group "swarmbench").
"""

from swarmbench.engine import hooks

hooks.register()
