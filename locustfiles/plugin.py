"""swarmbench's plugin as one more -f entry, for a locustfile left as it is:

    locust -f my_locustfile.py,locustfiles/plugin.py --headless -u 10 -t 30s --host http://...

(or `import swarmbench.locust_plugin` in the locustfile itself). It defines no User class.
"""

import swarmbench.locust_plugin  # noqa: F401
