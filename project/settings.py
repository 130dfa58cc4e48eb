"""Django settings, read from environment variables only.

Every variable has an embedded default that runs the project on one machine
(SQLite file, in-memory channel layer, DEBUG on). Production sets
``DEBUG=0`` and must then also set a real ``SECRET_KEY``, its own
``HASHIDS_SALT`` and explicit ``ALLOWED_HOSTS``; anything less fails at
start-up. Each variable is
documented in ``docs/settings.md``.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, env_int, env_list, env_prefixed, env_rate, env_str
from project.redis import redis_host

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -------------------------------------------------------------------

INSECURE_SECRET_KEY = "django-insecure-local-development-only-never-deploy-this"
DEVELOPMENT_HASHIDS_SALT = "realtime-demo-salt"

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", INSECURE_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Production serves HTTPS (behind nginx): cookies only over HTTPS, and trust nginx's X-Forwarded-Proto.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS whenever the cookies are HTTPS-only (the site does not work over HTTP then anyway): a year, no subdomains.
# SecurityMiddleware sends it on HTTPS responses only (behind nginx: with TRUST_X_FORWARDED_PROTO).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if SESSION_COOKIE_SECURE else 0)
# Public ids (hashids) of primary keys in URLs and payloads.
HASHIDS_SALT = env_str("HASHIDS_SALT", DEVELOPMENT_HASHIDS_SALT)
HASHIDS_MIN_LENGTH = env_int("HASHIDS_MIN_LENGTH", 8)

if not DEBUG:
    if SECRET_KEY == INSECURE_SECRET_KEY:
        raise ImproperlyConfigured(
            "DEBUG is off but SECRET_KEY is the built-in development key. Set SECRET_KEY to a long random "
            "value, e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if HASHIDS_SALT == DEVELOPMENT_HASHIDS_SALT:
        raise ImproperlyConfigured(
            "DEBUG is off but HASHIDS_SALT is the built-in development salt, so anyone can decode the public ids. "
            "Set HASHIDS_SALT to a random value once and keep it (changing it changes every public id), e.g. "
            "HASHIDS_SALT=$(python -c 'import secrets; print(secrets.token_urlsafe(24))')."
        )
    if "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DEBUG is off and ALLOWED_HOSTS contains '*', which also disables the WebSocket Origin check. "
            "Set ALLOWED_HOSTS to the host names you serve, e.g. ALLOWED_HOSTS=example.com,www.example.com."
        )

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "realtime",
    "realtime.push",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "realtime.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let a daphne process and a shell (or the
    # test process) write the same file without "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
    # A file, not :memory:, so end-to-end tests can share it with a daphne process.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}

DB_POOL_SIZE = env_int("DB_POOL_SIZE", 0)
if DB_POOL_SIZE > 0:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DB_POOL_SIZE needs PostgreSQL (DATABASE_URL=postgres://...); unset it for SQLite.")
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured(
            "DB_POOL_SIZE and DB_CONN_MAX_AGE exclude each other: pooled connections are reused."
        )
    # psycopg's pool: each sync thread under ASGI borrows a connection and gives it back, instead of
    # opening one per request or per database_sync_to_async call (measured in docs/deployment.md).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DB_POOL_SIZE, "timeout": 10}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer ----------------------------------------------------------

# pubsub (the default) was chosen by measurement: see docs/deployment.md, "Choosing the channel layer".
REDIS_URL = env_str("REDIS_URL", "")
REDIS_SENTINELS = env_list("REDIS_SENTINELS", [])
CHANNEL_LAYER = env_str("CHANNEL_LAYER", "pubsub")
_REDIS_LAYERS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}
if CHANNEL_LAYER not in _REDIS_LAYERS:
    raise ImproperlyConfigured(f"CHANNEL_LAYER={CHANNEL_LAYER!r}: use 'pubsub' or 'core'.")
if REDIS_SENTINELS and not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_SENTINELS is set but REDIS_URL is not. With Sentinel, REDIS_URL names the monitored master "
        "and the database: REDIS_URL=redis://[:password@]<master-name>/<db>, e.g. redis://mymaster/0."
    )
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": _REDIS_LAYERS[CHANNEL_LAYER],
            "CONFIG": {
                "hosts": [
                    redis_host(
                        REDIS_URL,
                        sentinels=REDIS_SENTINELS,
                        env_name="REDIS_SENTINELS",
                        max_connections=env_int("REDIS_MAX_CONNECTIONS", 0),
                    )
                ],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "asgi"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth, REST and schema --------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "/api/"

API_PAGE_SIZE = env_int("API_PAGE_SIZE", 50)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 1000)
if not 1 <= API_PAGE_SIZE <= API_MAX_PAGE_SIZE:
    raise ImproperlyConfigured(
        f"API_PAGE_SIZE={API_PAGE_SIZE} and API_MAX_PAGE_SIZE={API_MAX_PAGE_SIZE}: "
        "need 1 <= API_PAGE_SIZE <= API_MAX_PAGE_SIZE."
    )

REST_FRAMEWORK = {
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Bodies nested too deep, or with NUL characters or lone surrogates, are a 400 (not a 500 further down).
    "DEFAULT_PARSER_CLASSES": [
        "realtime.parsers.StrictJSONParser",
        "realtime.parsers.StrictFormParser",
        "realtime.parsers.StrictMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": API_PAGE_SIZE,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Login attempts per client address (api.auth.LoginRateThrottle); 429 with Retry-After beyond it.
    "DEFAULT_THROTTLE_RATES": {"login": env_rate("LOGIN_RATE", "10/minute")},
    # The client address is REMOTE_ADDR: daphne --proxy-headers already sets it from nginx's X-Forwarded-For,
    # and a client-sent X-Forwarded-For must not choose its own throttle bucket.
    "NUM_PROXIES": 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Realtime subscriptions API",
    "DESCRIPTION": "REST CRUD for live objects, the notification log and WebSocket tickets.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["realtime.routers.drop_slashless_duplicates"],
}

# --- Realtime app (every REALTIME_* variable; see docs/settings.md) ----------

REALTIME = env_prefixed("REALTIME_")
if not REDIS_URL:
    # The in-memory layer reaches no other process: a change saved by `manage.py shell`, a task or a second
    # daphne gets to this one's sockets only through the stream watcher. Poll often enough (two intervals, about
    # half a second) that the demo shows it at once; with Redis the live message brings it, and the 5 s default stays.
    REALTIME.setdefault("SYNC_INTERVAL", "0.25")

# --- Static files, i18n, logging ------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The demo app's Vite build (`make run` makes it), served under /static/frontend/; index.html at /.
FRONTEND_DIST = Path(env_str("FRONTEND_DIST", str(BASE_DIR / "frontend" / "dist")))
STATICFILES_DIRS = [("frontend", FRONTEND_DIST)] if FRONTEND_DIST.is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"daphne": {"level": env_str("DAPHNE_LOG_LEVEL", "WARNING")}},
}
