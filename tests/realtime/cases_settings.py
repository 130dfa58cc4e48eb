"""Settings of the inner pytest run by ``test_conftest.py``: the project's, with a SQLite test database of its own.

The project's SQLite test database is one file for every session; an inner session
must not recreate (and at its end delete) the file the outer session is using.
"""

import os

from project.settings import *  # noqa: F403

DATABASES["default"]["TEST"] = {"NAME": os.environ["INNER_PYTEST_DB"]}  # noqa: F405
