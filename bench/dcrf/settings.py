"""Settings of the benchmark: the project's, plus the DCRF reference app (importable only in .venv-bench).

The bench database is migrated with these settings, so it holds the
reference's ``Widget`` table next to the project's; this project's server
still runs on ``project.settings``.
"""

from project.settings import *  # noqa: F403
from project.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.dcrf"]
ROOT_URLCONF = "bench.dcrf.urls"
ASGI_APPLICATION = "bench.dcrf.asgi.application"
