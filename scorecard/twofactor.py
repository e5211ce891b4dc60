"""Two-factor sign-in (TOTP with django-otp): who must give a second step, enrolment, verification.

A user with a confirmed authenticator (a ``TOTPDevice``) gives a code, or one of their recovery codes
(a ``StaticDevice``), after the password before any page works. With ``SCORECARD_REQUIRE_2FA`` an
admin (of any organisation, or a platform operator) without an authenticator is sent to enrol first.
The gates (``membership_required``, the admin site, the organisation pages) ask :func:`pending_step`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import access
from .models import Role

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def has_authenticator(user) -> bool:
    """A confirmed authenticator; a member's memberships (loaded for the page anyway) carry the answer,
    so the check costs no query of its own on a product page."""
    memberships = access.memberships_of(user)
    if memberships:
        return bool(memberships[0].user_has_authenticator)  # type: ignore[attr-defined]
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def required_for(user) -> bool:
    """With ``SCORECARD_REQUIRE_2FA`` on, admins (of any organisation they are active in) and platform
    operators."""
    if not settings.SCORECARD_REQUIRE_2FA:
        return False
    return user.is_superuser or any(m.role == Role.ADMIN for m in access.memberships_of(user))


def must_enrol(user) -> bool:
    return required_for(user) and not has_authenticator(user)


def verified(request: HttpRequest) -> bool:
    """The second step was given in this session (django-otp's OTPMiddleware adds ``is_verified``;
    a request that did not pass through it counts as not verified)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def pending_step(request: HttpRequest) -> HttpResponseRedirect | None:
    """Where a signed-in user must go before this page works: the code page when they have an
    authenticator and have not given a code in this session, the setup page when they must enrol;
    ``None`` when nothing is pending."""
    user = request.user
    if not user.is_authenticated or verified(request):
        return None
    query = urlencode({"next": request.get_full_path()})
    if has_authenticator(user):
        return HttpResponseRedirect(f"{reverse('two_factor')}?{query}")
    if must_enrol(user):
        return HttpResponseRedirect(f"{reverse('two_factor_setup')}?{query}")
    return None


def secret_for_typing(device: TOTPDevice) -> str:
    """The device's key as authenticator apps take it typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def pending_enrolment(user) -> TOTPDevice:
    """The user's unconfirmed authenticator (a new secret when there is none): shown until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def throttled_until(devices: list[Device]) -> datetime | None:
    """When a device locked by wrong codes (django-otp's throttling) accepts a code again, or ``None``."""
    waits = []
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            waits.append(data["locked_until"])
    return max(waits) if waits else None


def second_factors(user) -> list[Device]:
    """The devices that accept a code at sign-in: the authenticator, then the recovery codes."""
    return [
        *TOTPDevice.objects.filter(user=user, confirmed=True),
        *StaticDevice.objects.filter(user=user, confirmed=True),
    ]


def verify(request: HttpRequest, code: str, devices: list[Device]) -> Device | None:
    """The device of ``devices`` that accepts ``code`` (a recovery code is then used up); the session is
    marked verified. A wrong code counts against each device's throttle."""
    code = "".join(code.split()).lower()  # recovery codes are lower-case base32; people type either
    for device in devices:
        if device.verify_token(code):
            otp_login(request, device)
            return device
    return None


@transaction.atomic
def confirm_enrolment(request: HttpRequest, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm ``device`` with a code from the app; returns the new recovery codes (shown once), or
    ``None`` when the code is wrong. Older recovery codes are replaced."""
    if not device.verify_token("".join(code.split())):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=device.user).delete()
    recovery = StaticDevice.objects.create(user=device.user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
    otp_login(request, device)
    return codes


def disable(user) -> None:
    """Remove the user's authenticator and recovery codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
