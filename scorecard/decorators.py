"""``@membership_required``: the one place a view learns who is asking and for which organisation."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from . import access, twofactor
from .models import Membership, Role

P = ParamSpec("P")


class MembershipRequest(HttpRequest):
    """A request from a signed-in member: ``membership`` is the organisation they are working in."""

    membership: Membership
    htmx: HtmxDetails


def membership_required(
    view: Callable[Concatenate[MembershipRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Anonymous users go to the login page; a user owing the second sign-in step (a code, or enrolment
    when two-factor is required) goes to that page; users without a membership get the no-membership
    page (403); everyone else reaches the view with ``request.membership`` set."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        step = twofactor.pending_step(request)
        if step is not None:
            return step
        membership = access.current_membership(request)
        if membership is None:
            return render(request, "scorecard/no_membership.html", status=403)
        member_request: MembershipRequest = request  # type: ignore[assignment]
        member_request.membership = membership
        return view(member_request, *args, **kwargs)

    wrapper.membership_required = True  # type: ignore[attr-defined]  # lets a test list the member pages
    # The roles this gate lets through (admin_required and manager_required narrow it); the route fuzzer
    # (tests/security/test_fuzz_routes.py) holds its table of who may open each route against it.
    if not hasattr(wrapper, "allowed_roles"):
        wrapper.allowed_roles = frozenset(Role)  # type: ignore[attr-defined]
    return wrapper


def admin_required(
    view: Callable[Concatenate[MembershipRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """``membership_required`` and the admin role (sales ops); any other role gets 403."""

    @wraps(view)
    def only_admins(request: MembershipRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if request.membership.role != Role.ADMIN:
            raise PermissionDenied("Only the organisation's admins may open this page.")
        return view(request, *args, **kwargs)

    only_admins.allowed_roles = frozenset({Role.ADMIN})  # type: ignore[attr-defined]
    return membership_required(only_admins)


def manager_required(
    view: Callable[Concatenate[MembershipRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """``membership_required`` and the admin or manager role (pages that change figures within the
    member's territories, e.g. targets); reps and viewers get 403. What a manager reaches is the own
    subtree: the view scopes it through ``access`` (outside it is 404)."""

    @wraps(view)
    def admins_and_managers(request: MembershipRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if request.membership.role not in (Role.ADMIN, Role.MANAGER):
            raise PermissionDenied("Only the organisation's admins and managers may open this page.")
        return view(request, *args, **kwargs)

    admins_and_managers.allowed_roles = frozenset({Role.ADMIN, Role.MANAGER})  # type: ignore[attr-defined]
    return membership_required(admins_and_managers)
