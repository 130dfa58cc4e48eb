"""``manage.py check`` catches each setting realtime needs, naming the setting and the fix (``realtime.checks``).

Each test breaks one setting of the demo project (which passes every check)
and runs Django's system checks as ``manage.py check`` does.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.core.checks import run_checks
from django.test import modify_settings, override_settings
from rest_framework import serializers
from rest_framework.authentication import TokenAuthentication

from realtime.registry import registry

#: A URLconf without realtime.urls (``ROOT_URLCONF = __name__``).
urlpatterns: list = []


def realtime_messages() -> dict[str, object]:
    return {message.id: message for message in run_checks() if message.id and message.id.startswith("realtime.")}


def test_the_demo_project_passes_every_check():
    """The demo's settings are complete: no realtime error or warning."""
    assert realtime_messages() == {}


@override_settings(CHANNEL_LAYERS={})
def test_a_missing_channel_layer_is_an_error():
    """No CHANNEL_LAYERS['default'] is realtime.E001, with both layers to choose from in the hint."""
    message = realtime_messages()["realtime.E001"]
    assert "CHANNEL_LAYERS" in message.msg
    assert "InMemoryChannelLayer" in message.hint
    assert "RedisPubSubChannelLayer" in message.hint


@override_settings(ROOT_URLCONF=__name__)
def test_unmounted_realtime_urls_are_an_error():
    """A URLconf without include('realtime.urls') is realtime.E002, with the line to add."""
    message = realtime_messages()["realtime.E002"]
    assert "include('realtime.urls')" in message.hint


@override_settings(REALTIME={"BASE_URL": "api.example.com"})
def test_a_relative_base_url_is_an_error():
    """REALTIME['BASE_URL'] without a scheme is realtime.E003."""
    assert "REALTIME['BASE_URL']" in realtime_messages()["realtime.E003"].msg


@override_settings(REALTIME={"BASE_URL": "https://api.example.com"}, ALLOWED_HOSTS=["localhost"])
def test_a_base_url_outside_allowed_hosts_is_an_error():
    """A BASE_URL host that ALLOWED_HOSTS refuses is realtime.E004; listing it fixes it."""
    assert "api.example.com" in realtime_messages()["realtime.E004"].hint
    with override_settings(ALLOWED_HOSTS=["localhost", ".example.com"]):
        assert realtime_messages() == {}


class UserLinks(serializers.HyperlinkedModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["url", "username"]


def test_hyperlinked_payloads_without_base_url_warn(monkeypatch):
    """A live type whose serializer renders hyperlinks warns (realtime.W002) until REALTIME['BASE_URL'] is set."""
    declaration = SimpleNamespace(serializer_class=UserLinks, object_type="account")
    monkeypatch.setattr(registry, "declarations", lambda: [*registry._by_type.values(), declaration])
    with override_settings(REALTIME={}):  # the test settings set a BASE_URL
        message = realtime_messages()["realtime.W002"]
    assert "UserLinks" in message.msg
    assert "'account'" in message.msg
    with override_settings(REALTIME={"BASE_URL": "http://localhost:8000"}):
        assert realtime_messages() == {}


@modify_settings(INSTALLED_APPS={"remove": ["rest_framework.authtoken"]})
def test_token_authentication_without_authtoken_is_an_error():
    """TokenAuthentication in DEFAULT_AUTHENTICATION_CLASSES without rest_framework.authtoken is realtime.E005."""
    message = realtime_messages()["realtime.E005"]
    assert "rest_framework.authentication.TokenAuthentication" in message.msg
    assert "'rest_framework.authtoken'" in message.hint


class OwnTokenAuthentication(TokenAuthentication):
    model = get_user_model()  # a project's own token model: no need for rest_framework.authtoken


@modify_settings(INSTALLED_APPS={"remove": ["rest_framework.authtoken"]})
@override_settings(REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": [f"{__name__}.OwnTokenAuthentication"]})
def test_a_token_class_with_its_own_model_needs_no_authtoken():
    """A TokenAuthentication subclass that names its own model passes without rest_framework.authtoken."""
    assert "realtime.E005" not in realtime_messages()


@override_settings(REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": ["no.such.Authentication"]})
def test_an_unimportable_authentication_class_is_an_error():
    """An authentication class that cannot be imported is realtime.E006, naming the dotted path."""
    assert "no.such.Authentication" in realtime_messages()["realtime.E006"].msg


@override_settings(REALTIME={"SEND_BUFFER_BYTES": 0})
def test_a_send_buffer_of_zero_bytes_is_an_error():
    """SEND_BUFFER_BYTES below 1 is realtime.E007 (on daphne it is also the size of each read)."""
    message = realtime_messages()["realtime.E007"]
    assert "SEND_BUFFER_BYTES" in message.msg
    assert "262144" in message.hint


def test_the_default_send_buffer_passes():
    """The default SEND_BUFFER_BYTES raises no realtime.E007."""
    assert "realtime.E007" not in realtime_messages()
