"""Top-level URLs: the demo app, admin, REST API, OpenAPI schema and docs, browsable-API login, health, metrics."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from project.frontend import frontend_index
from realtime.health import healthz_view
from realtime.metrics import metrics_view

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
    path("api-auth/", include("rest_framework.urls")),
    # The single-page demo app and the routes it handles itself.
    path("", frontend_index, name="frontend"),
    re_path(r"^foo/[^/]+/?$", frontend_index),
]
