"""Settings of the follower host: a service that keeps a live copy of the demo's accounts (``realtime.mirror``).

Its own database (``HOST_DATABASE_URL``), its own users and tokens, and the
``directory`` app: ``Member`` (the local copy, live on this host), and the
handler that ``manage.py follow`` applies the master's ``account`` stream with.
"""

from tests.hosts.hostkit import host_databases

SECRET_KEY = "follower-host-for-tests-only"
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework.authtoken",
    "realtime",
    "realtime.mirror",
    "tests.hosts.follower.directory",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.hosts.follower.urls"
DATABASES = host_databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, for tests
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
REALTIME = {"BASE_URL": "http://localhost"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"realtime.mirror": {"handlers": ["console"], "level": "INFO"}},
}
