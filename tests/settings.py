"""Settings of the test session: the demo project's, plus the test host app ``tests.hosts.shapes``.

``project.settings`` stays free of test apps; pytest (``pyproject.toml``) and
the daphne processes of end-to-end tests (``tests/servers.py``) both use this
module, so they see the same apps and URLs. ``BASE_URL`` is the address the
test clients reach the API at (``Host: localhost``), so hyperlinked payloads
and REST responses name the same URLs.
"""

from project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.hosts.shapes"]  # noqa: F405
ROOT_URLCONF = "tests.urls"
REALTIME = {"BASE_URL": "http://localhost", **REALTIME}  # noqa: F405
