"""``/manage/users/``: admins invite members (a set-password link by mail), change their role and scope,
deactivate and reactivate them; each membership's history shows who changed what, when and why."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from . import access, selectors, services
from .decorators import MembershipRequest, admin_required
from .forms import InviteForm, ReasonForm, RoleForm, add_service_errors
from .models import Membership


def _choices(request: MembershipRequest) -> dict[str, Any]:
    m = request.membership
    return {
        "territories": access.visible_territories(m).order_by("path"),
        "reps": access.visible_reps(m).order_by("name"),
    }


def _site_url(request: MembershipRequest) -> str:
    return request.build_absolute_uri("/")


def _member(request: MembershipRequest, pk: Any) -> Membership:
    """One of the organisation's memberships (another organisation's is 404)."""
    try:
        return Membership.objects.select_related("user", "territory", "rep").get(
            org=request.membership.org, pk=int(pk)
        )
    except (Membership.DoesNotExist, TypeError, ValueError):
        raise Http404("No such member.") from None


@admin_required
def manage_users(request: MembershipRequest) -> HttpResponse:
    """The members with their role, scope and state, and the invitation form."""
    form = InviteForm(prefix="invite", **_choices(request))
    status = 200
    if request.method == "POST":
        form = InviteForm(request.POST, prefix="invite", **_choices(request))
        if form.is_valid():
            try:
                membership = services.member_invite(
                    org=request.membership.org,
                    invited_by=request.user,
                    site_url=_site_url(request),
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                add_service_errors(form, exc, "email")
            else:
                messages.success(
                    request, f"{membership.user.email} is invited: a link to set a password is on its way."
                )
                return redirect("manage_users")
        status = 400
    context = {
        "form": form,
        "members": selectors.members(request.membership.org),
        "history": selectors.membership_history(request.membership),
    }
    return render(request, "scorecard/manage_users.html", context, status=status)


@admin_required
def manage_user(request: MembershipRequest, pk: int) -> HttpResponse:
    """One member: role and scope, deactivate or reactivate, send the invitation again, history."""
    membership = _member(request, pk)
    role_form = RoleForm(
        prefix="role",
        initial={"role": membership.role, "territory": membership.territory_id, "rep": membership.rep_id},
        **_choices(request),
    )
    state_form = ReasonForm(prefix="state")
    status = 200
    if request.method == "POST":
        action, by = request.POST.get("action"), request.user
        if action == "resend":
            if membership.active and not membership.user.has_usable_password():
                services.invitation_send(membership=membership, site_url=_site_url(request))
                messages.success(request, f"The invitation is sent again to {membership.user.email}.")
            return redirect("manage_user", pk=membership.pk)
        if action in ("deactivate", "reactivate"):
            state_form = ReasonForm(request.POST, prefix="state")
            if state_form.is_valid():
                reason = state_form.cleaned_data["reason"]
                try:
                    if action == "deactivate":
                        services.membership_deactivate(membership=membership, by=by, reason=reason)
                    else:
                        services.membership_reactivate(membership=membership, by=by, reason=reason)
                except ValidationError as exc:
                    add_service_errors(state_form, exc, "reason")
                else:
                    done = "deactivated" if action == "deactivate" else "active again"
                    messages.success(request, f"{membership.user.get_username()} is {done}.")
                    return redirect("manage_user", pk=membership.pk)
        else:
            role_form = RoleForm(request.POST, prefix="role", **_choices(request))
            if role_form.is_valid():
                data = role_form.cleaned_data
                try:
                    services.membership_update(
                        membership=membership,
                        role=data["role"],
                        territory=data["territory"],
                        rep=data["rep"],
                        by=by,
                        reason=data["reason"],
                    )
                except ValidationError as exc:
                    add_service_errors(role_form, exc, "role")
                else:
                    messages.success(request, f"{membership.user.get_username()}'s role is saved.")
                    return redirect("manage_user", pk=membership.pk)
        status = 400
        membership = _member(request, pk)
    context = {
        "member": membership,
        "is_self": membership.user_id == request.user.pk,
        "invited": not membership.user.has_usable_password(),
        "role_form": role_form,
        "state_form": state_form,
        "history": selectors.membership_history(request.membership, membership),
    }
    return render(request, "scorecard/manage_user.html", context, status=status)
