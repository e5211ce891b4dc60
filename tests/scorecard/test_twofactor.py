"""Two-factor sign-in: enrol, the second step after the password, recovery codes, throttling, and the
setting that makes it compulsory for admins. Codes are computed here from the device's key (RFC 6238)."""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from scorecard.models import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory

HOME = "/"


def _sign_in(client, user) -> None:
    """The password step through the real login page (django-axes needs the request)."""
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()


def _code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (``steps_ahead`` 30-second steps later: a code is
    accepted once, so a second sign-in in the same step uses the next one, within the tolerance)."""
    return f"{totp(device.bin_key, drift=steps_ahead):06d}"


def _enrol(client) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("two_factor_setup"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user_id=client.session["_auth_user_id"], confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"code": _code(device)})
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    return device, response.context["codes"]


@pytest.fixture
def member(db):
    return MembershipFactory.create(user=UserFactory.create(username="vera")).user


@pytest.fixture
def admin_member(db):
    return MembershipFactory.create(user=UserFactory.create(username="ada"), role=Role.ADMIN).user


def test_setup_page_shows_a_qr_code_and_the_secret_to_type(client, member):
    _sign_in(client, member)
    page = client.get(reverse("two_factor_setup")).content.decode()
    device = TOTPDevice.objects.get(user=member)
    assert "<svg" in page
    secret = page.split('id="totp-secret" class="twofactor-secret">', 1)[1].split("<", 1)[0]
    typed = secret.replace(" ", "")
    assert base64.b32decode(typed + "=" * (-len(typed) % 8)) == device.bin_key


def test_enrol_with_a_code_turns_it_on_and_shows_ten_recovery_codes_once(client, member):
    _sign_in(client, member)
    device, codes = _enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert set(StaticToken.objects.filter(device__user=member).values_list("token", flat=True)) == set(codes)
    # Shown once: the setup page now offers to turn it off, not the codes.
    page = client.get(reverse("two_factor_setup")).content.decode()
    assert "Two-factor sign-in is on" in page and codes[0] not in page
    assert client.get(HOME).status_code == 200  # enrolling verified this session


def test_a_wrong_code_does_not_enrol(client, member):
    _sign_in(client, member)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=member)
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("two_factor_setup"), {"code": wrong})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


def test_with_a_device_no_page_works_until_the_code_is_given(client, member):
    _sign_in(client, member)
    device, _ = _enrol(client)
    client.post(reverse("logout"))

    _sign_in(client, member)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('two_factor')}?next=%2F"
    assert client.get(reverse("org_create")).status_code == 302

    response = client.post(reverse("two_factor"), {"code": _code(device, 1), "next": HOME})
    assert response.status_code == 302 and response["Location"] == HOME
    assert client.get(HOME).status_code == 200


def test_a_wrong_code_is_refused_and_then_throttled(client, member):
    _sign_in(client, member)
    device, _ = _enrol(client)
    client.post(reverse("logout"))
    _sign_in(client, member)

    wrong = f"{(int(_code(device, 1)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("two_factor"), {"code": wrong})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    # Right away, even the right code waits (django-otp's throttling: 1, 2, 4 … seconds).
    response = client.post(reverse("two_factor"), {"code": _code(device, 1)})
    assert response.status_code == 400
    assert "Too many wrong codes. Try again after" in response.content.decode()
    assert client.get(HOME).status_code == 302


def test_a_recovery_code_signs_in_once(client, member):
    _sign_in(client, member)
    _, codes = _enrol(client)
    client.post(reverse("logout"))

    _sign_in(client, member)
    typed = codes[0].upper()[:4] + " " + codes[0].upper()[4:]  # as a person might type it
    assert client.post(reverse("two_factor"), {"code": typed}).status_code == 302
    assert client.get(HOME).status_code == 200
    client.post(reverse("logout"))

    _sign_in(client, member)
    response = client.post(reverse("two_factor"), {"code": codes[0]})
    assert response.status_code == 400
    assert client.get(HOME).status_code == 302
    assert StaticToken.objects.filter(device__user=member).count() == 9


def test_turning_it_off_needs_a_current_code(client, member):
    _sign_in(client, member)
    device, _ = _enrol(client)
    wrong = f"{(int(_code(device, 1)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("two_factor_setup"), {"code": wrong})
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(user=member, confirmed=True).exists()
    for model in (TOTPDevice, StaticDevice):  # the wrong code's wait, over
        model.objects.filter(user=member).update(throttling_failure_count=0)

    response = client.post(reverse("two_factor_setup"), {"code": _code(device, 1)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=member).exists()
    client.post(reverse("logout"))
    _sign_in(client, member)
    assert client.get(HOME).status_code == 200


def test_without_a_device_and_without_the_setting_nobody_is_asked(client, admin_member, settings):
    settings.SCORECARD_REQUIRE_2FA = False
    _sign_in(client, admin_member)
    assert client.get(HOME).status_code == 200


def test_with_the_setting_an_admin_without_a_device_must_enrol_first(client, admin_member, settings):
    settings.SCORECARD_REQUIRE_2FA = True
    _sign_in(client, admin_member)
    for url in (HOME, reverse("manage"), reverse("org_create")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("two_factor_setup")), url
    assert "must use two-factor sign-in" in client.get(reverse("two_factor_setup")).content.decode()
    _enrol(client)
    assert client.get(reverse("manage")).status_code == 200


def test_with_the_setting_an_admin_may_not_turn_it_off(client, admin_member, settings):
    settings.SCORECARD_REQUIRE_2FA = True
    _sign_in(client, admin_member)
    device, _ = _enrol(client)
    response = client.post(reverse("two_factor_setup"), {"code": _code(device, 1)})
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(user=admin_member, confirmed=True).exists()


def test_with_the_setting_a_non_admin_is_not_asked(client, member, settings):
    settings.SCORECARD_REQUIRE_2FA = True
    _sign_in(client, member)
    assert client.get(HOME).status_code == 200


def test_operator_with_a_device_gets_into_the_admin_only_after_the_code(client, db):
    operator = UserFactory.create(username="op", is_staff=True, is_superuser=True)
    _sign_in(client, operator)
    device, _ = _enrol(client)
    client.post(reverse("logout"))

    _sign_in(client, operator)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 302
    login = client.get(index["Location"])
    assert login.status_code == 302 and login["Location"].startswith(reverse("two_factor"))
    assert client.get(reverse("admin:scorecard_organization_changelist")).status_code == 302

    client.post(reverse("two_factor"), {"code": _code(device, 1)})
    assert client.get(reverse("admin:index")).status_code == 200


def test_with_the_setting_an_operator_without_a_device_must_enrol_before_the_admin(client, db, settings):
    settings.SCORECARD_REQUIRE_2FA = True
    operator = UserFactory.create(username="op", is_staff=True, is_superuser=True)
    _sign_in(client, operator)
    index = client.get(reverse("admin:index"))
    login = client.get(index["Location"])
    assert login.status_code == 302 and login["Location"].startswith(reverse("two_factor_setup"))
    _enrol(client)
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_code_page_sends_nowhere_outside_the_site(client, member):
    _sign_in(client, member)
    device, _ = _enrol(client)
    client.post(reverse("logout"))
    _sign_in(client, member)
    response = client.post(reverse("two_factor"), {"code": _code(device, 1), "next": "https://evil.example/"})
    assert response["Location"] == HOME
