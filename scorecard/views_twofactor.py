"""``/accounts/two-factor/``: the second sign-in step; ``/accounts/two-factor/setup/``: enrol or disable."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice

from . import twofactor

WRONG_CODE = "That code is not right. Check the time on your phone and enter the current code."


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def _throttle_message(devices: list[Device]) -> str | None:
    until = twofactor.throttled_until(devices)
    if until is None:
        return None
    return f"Too many wrong codes. Try again after {date_format(localtime(until), 'H:i:s')}."


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """The code (or a recovery code) after the password, for a user with an authenticator."""
    user = request.user
    if not twofactor.has_authenticator(user) or twofactor.verified(request):
        return redirect(_next(request))
    error = None
    if request.method == "POST":
        devices = twofactor.second_factors(user)
        error = _throttle_message(devices)
        if error is None:
            if twofactor.verify(request, request.POST.get("code", ""), devices):
                return redirect(_next(request))
            error = WRONG_CODE
    return render(
        request,
        "registration/two_factor.html",
        {"error": error, "next": _next(request)},
        status=400 if error else 200,
    )


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator (QR code and secret, confirmed with a code; then the recovery codes, shown
    once), or disable it with a current code."""
    user = request.user
    if twofactor.has_authenticator(user):
        step = twofactor.pending_step(request)
        return step if step is not None else _manage(request)
    device = twofactor.pending_enrolment(user)
    error = None
    if request.method == "POST":
        error = _throttle_message([device])
        if error is None:
            codes = twofactor.confirm_enrolment(request, device, request.POST.get("code", ""))
            if codes is not None:
                return render(
                    request,
                    "registration/two_factor_codes.html",
                    {"codes": codes, "next": _next(request)},
                )
            error = WRONG_CODE
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "qr_svg": qr.svg_inline(scale=4, title="QR code for your authenticator app"),
            "secret": twofactor.secret_for_typing(device),
            "error": error,
            "next": _next(request),
            "required": twofactor.must_enrol(user),
        },
        status=400 if error else 200,
    )


def _manage(request: HttpRequest) -> HttpResponse:
    """Two-factor is on: disable it with a current code (or a recovery code)."""
    user = request.user
    error = None
    if request.method == "POST":
        if twofactor.required_for(user):
            error = "Admins of this deployment must keep two-factor sign-in on."
        else:
            devices = twofactor.second_factors(user)
            error = _throttle_message(devices)
            if error is None:
                if twofactor.verify(request, request.POST.get("code", ""), devices):
                    twofactor.disable(user)
                    messages.success(request, "Two-factor sign-in is off.")
                    return redirect("two_factor_setup")
                error = WRONG_CODE
    recovery_left = sum(d.token_set.count() for d in StaticDevice.objects.filter(user=user))
    return render(
        request,
        "registration/two_factor_manage.html",
        {"error": error, "recovery_left": recovery_left},
        status=400 if error else 200,
    )
