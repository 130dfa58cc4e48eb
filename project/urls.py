"""Top-level URLs: the demo app, admin, REST API, OpenAPI schema and docs, browsable-API login, health, metrics."""

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from api.auth import BrowsableAPILoginView
from project.frontend import frontend_index
from realtime.health import healthz_view
from realtime.metrics import metrics_view

# rest_framework.urls, with the login page counting against the login throttle (same names and namespace).
browsable_api_auth = (
    [
        path("login/", BrowsableAPILoginView.as_view(), name="login"),
        path("logout/", LogoutView.as_view(), name="logout"),
    ],
    "rest_framework",
)

urlpatterns = [
    path("healthz", healthz_view, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/", include("api.urls")),
    path("api/", include("realtime.urls")),
    path("api/", include("realtime.push.urls")),
    path("api-auth/", include(browsable_api_auth)),
    # The single-page demo app and the routes it handles itself.
    path("", frontend_index, name="frontend"),
    re_path(r"^foo/[^/]+/?$", frontend_index),
]
