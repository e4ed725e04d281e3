"""Shared pytest configuration: hypothesis profiles.

Select a profile with the environment variable ``TINYGRAD_LITE_HYPOTHESIS_PROFILE``:

* ``ci`` (default): few examples per property, so the whole suite runs in a few minutes on 2 cores;
* ``nightly``: many more examples and no deadline, for a thorough run.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "nightly", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("TINYGRAD_LITE_HYPOTHESIS_PROFILE", "ci"))
