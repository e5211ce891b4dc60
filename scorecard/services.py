"""Writes for the organisation core."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import router, transaction
from django.db.models import Q, QuerySet
from django.db.models.deletion import Collector
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from . import periods
from .locks import lock_covering_period
from .models import Membership, Organization, PeriodLock, Role
from .signals import (
    fiscal_calendar_changed,
    fiscal_calendar_changing,
    organization_created,
    organization_deleting,
)


@transaction.atomic
def organization_create(
    *,
    name: str,
    slug: str,
    fiscal_year_start_month: int = 1,
    currency: str = "USD",
    root_name: str | None = None,
) -> Organization:
    """A new organisation with its root territory and the default scorecard template."""
    org = Organization.objects.create(
        name=name, slug=slug, fiscal_year_start_month=fiscal_year_start_month, currency=currency
    )
    # The root territory (territories) and the default scorecard template (kpis).
    organization_created.send(sender=Organization, org=org, root_name=root_name or name)
    return org


@transaction.atomic
def organization_delete(org: Organization) -> None:
    """Delete an organisation and everything in it.

    Foreign keys PROTECT reps, territories and the catalog, so the rows pointing at them go first.
    The collector's origin is the organisation, which tells signal receivers (stale-rollup tracking)
    that the whole organisation is going and there is nothing to recompute.
    """
    leaves = Collector(using=router.db_for_write(Organization), origin=org)
    leaves.collect(Membership.objects.filter(org=org))
    organization_deleting.send(sender=Organization, org=org, collect=leaves.collect)
    leaves.delete()
    org.delete()


@transaction.atomic
def period_lock(*, org: Organization, period: str, user=None, reason: str = "") -> PeriodLock:
    """Lock a period: deals closing in it, and its targets and measurements, may no longer change.

    The period must have ended; one already covered by a lock (itself or a longer period) is refused.
    """
    try:
        span = org.parse_period(period)
    except periods.PeriodError as exc:
        raise ValidationError({"period": str(exc)}) from exc
    if span.end >= timezone.localdate():
        raise ValidationError({"period": f"{span.key} has not ended yet: only closed periods can be locked."})
    covering = lock_covering_period(org, span.key)
    if covering is not None:
        raise ValidationError({"period": f"{span.key} is already locked by the lock on {covering.period}."})
    lock = PeriodLock(org=org, period=span.key, locked_by=user)
    lock._change_reason = reason  # type: ignore[attr-defined]  # django-simple-history reads it
    if user is not None:
        lock._history_user = user  # type: ignore[attr-defined]
    lock.save()
    return lock


@transaction.atomic
def period_unlock(*, lock: PeriodLock, user=None, reason: str) -> None:
    """Lift a lock. Unlocking needs a reason, kept in the lock's change history with who and when."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why the period is unlocked: the reason is kept in its history."}
        )
    lock._change_reason = reason  # type: ignore[attr-defined]
    if user is not None:
        lock._history_user = user  # type: ignore[attr-defined]
    lock.delete()


# --- members: invitations, roles and scopes, deactivation -----------------------------------------


def _recorded(instance, *, user=None, reason: str = ""):
    """Tell django-simple-history who made the change (when not in a request) and why."""
    if user is not None:
        instance._history_user = user
    if reason:
        instance._change_reason = reason
    return instance


def _scoped(membership: Membership, *, role: str, territory=None, rep=None) -> Membership:
    """Set the role and the scope it needs: a manager's territory, a rep's own rep record, nothing else."""
    org_id = membership.org_id
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    territory = territory if role == Role.MANAGER else None
    rep = rep if role == Role.REP else None
    if role == Role.MANAGER and territory is None:
        raise ValidationError(
            {"territory": "A manager sees one territory and everything below it: choose it."}
        )
    if role == Role.REP and rep is None:
        raise ValidationError({"rep": "A rep sees their own records: choose their rep record."})
    if territory is not None and territory.org_id != org_id:
        raise ValidationError({"territory": "The territory belongs to another organisation."})
    if rep is not None:
        if rep.org_id != org_id:
            raise ValidationError({"rep": "The rep belongs to another organisation."})
        taken = (
            Membership.objects.filter(org_id=org_id, rep=rep, active=True)
            .exclude(pk=membership.pk)
            .select_related("user")
            .first()
        )
        if taken is not None:
            raise ValidationError({"rep": f"{rep} is already the rep record of {taken.user.get_username()}."})
    membership.role, membership.territory, membership.rep = role, territory, rep
    return membership


def _other_active_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(org_id=membership.org_id, role=Role.ADMIN, active=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def _refuse_own(membership: Membership, by, what: str) -> None:
    if by is not None and membership.user_id == by.pk:
        raise ValidationError({"__all__": f"You cannot {what} yourself: ask another admin."})


@transaction.atomic
def member_invite(
    *,
    org: Organization,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    territory=None,
    rep=None,
    invited_by=None,
    site_url: str,
) -> Membership:
    """Make ``email`` a member of ``org`` and mail them a link.

    A new address becomes a user (username = the address) without a usable password; the mail carries a
    link to set one (Django's password-reset token, single use). A user who already exists (another
    organisation's member) joins with their account and is told so. After the transaction commits.
    """
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    User = get_user_model()
    user = User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).order_by("pk").first()
    if user is not None:
        existing = Membership.objects.filter(user=user, org=org).first()
        if existing is not None:
            state = "" if existing.active else ", deactivated: reactivate them on their page"
            raise ValidationError(
                {"email": f"{email} is already a member ({existing.get_role_display()}{state})."}
            )
    membership = _scoped(Membership(org=org), role=role, territory=territory, rep=rep)
    if user is None:
        user = User.objects.create_user(
            username=email, email=email, first_name=first_name.strip(), last_name=last_name.strip()
        )
    elif not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    membership.user = user
    _recorded(membership, user=invited_by, reason="Invited").save()
    transaction.on_commit(lambda: invitation_send(membership=membership, site_url=site_url))
    return membership


def invitation_send(*, membership: Membership, site_url: str) -> None:
    """Mail the member the link to set their password (or, with a password already, to sign in)."""
    user = membership.user
    if user.has_usable_password():
        link = urljoin(site_url, reverse("login"))
    else:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = urljoin(site_url, reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}))
    context = {
        "membership": membership,
        "org": membership.org,
        "user": user,
        "link": link,
        "set_password": not user.has_usable_password(),
        "valid_days": settings.PASSWORD_RESET_TIMEOUT // (24 * 60 * 60),
    }
    subject = render_to_string("scorecard/email/invitation_subject.txt", context).strip()
    body = render_to_string("scorecard/email/invitation.txt", context)
    send_mail(subject, body, None, [user.email])


@transaction.atomic
def membership_update(
    *, membership: Membership, role: str, territory=None, rep=None, by=None, reason: str = ""
) -> Membership:
    """Change a member's role and scope. An admin cannot change their own role, and the last admin stays."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _refuse_own(membership, by, "change the role of")
    if membership.role == Role.ADMIN and role != Role.ADMIN and not _other_active_admins(membership):
        raise ValidationError(
            {"role": "This is the organisation's last admin: make someone else admin first."}
        )
    _scoped(membership, role=role, territory=territory, rep=rep)
    membership.full_clean()
    _recorded(membership, user=by, reason=reason).save()
    return membership


@transaction.atomic
def membership_deactivate(*, membership: Membership, by=None, reason: str = "") -> Membership:
    """The member no longer reaches the organisation; the membership and its history stay.

    A user left without any active membership cannot sign in any more (``is_active`` off), unless they
    are a platform operator (staff), whose account is not the organisation's to close.
    """
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _refuse_own(membership, by, "deactivate")
    if not membership.active:
        return membership
    if membership.role == Role.ADMIN and not _other_active_admins(membership):
        raise ValidationError(
            {"__all__": "This is the organisation's last admin: make someone else admin first."}
        )
    membership.active = False
    _recorded(membership, user=by, reason=reason).save(update_fields=["active"])
    user = membership.user
    elsewhere = Membership.objects.filter(user=user, active=True).exists()
    if not elsewhere and not (user.is_staff or user.is_superuser):
        user.is_active = False
        user.save(update_fields=["is_active"])
    return membership


@transaction.atomic
def membership_reactivate(*, membership: Membership, by=None, reason: str = "") -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.active:
        return membership
    if membership.rep is not None:
        _scoped(membership, role=membership.role, territory=membership.territory, rep=membership.rep)
    membership.active = True
    _recorded(membership, user=by, reason=reason).save(update_fields=["active"])
    if not membership.user.is_active:
        membership.user.is_active = True
        membership.user.save(update_fields=["is_active"])
    return membership


# --- organisation settings ----------------------------------------------------------------------------

CURRENCY = re.compile(r"[A-Z]{3}")


def year_or_quarter_keyed(rows: QuerySet) -> QuerySet:
    """Rows whose ``period`` is a year or a quarter (keys that depend on the fiscal calendar)."""
    return rows.filter(Q(period__contains="Q") | ~Q(period__contains="-"))


def _calendar_blockers(org: Organization, month: int) -> list[str]:
    found = []
    locks = year_or_quarter_keyed(PeriodLock.objects.filter(org=org)).count()
    if locks:
        found.append(f"{locks} period lock{'s' if locks != 1 else ''}")
    for _receiver, descriptions in fiscal_calendar_changing.send(sender=Organization, org=org, month=month):
        found.extend(descriptions or [])
    return found


@transaction.atomic
def organization_settings_update(
    *,
    org: Organization,
    name: str,
    currency: str,
    fiscal_year_start_month: int,
    user=None,
    reason: str = "",
) -> bool:
    """Change the organisation's name, currency and fiscal year start; True when the fiscal calendar
    changed, which renames every year and quarter and requests a full recompute.

    The calendar cannot change while year- or quarter-keyed rows (targets, measurements, notes, period
    locks) exist: under the new calendar their keys would name other months, or nothing at all.
    """
    org = Organization.objects.select_for_update().get(pk=org.pk)
    name, currency = name.strip(), currency.strip().upper()
    if not name:
        raise ValidationError({"name": "The organisation needs a name."})
    if not CURRENCY.fullmatch(currency):
        raise ValidationError({"currency": "Use a three-letter ISO 4217 code, e.g. USD, EUR, GBP."})
    calendar_changes = fiscal_year_start_month != org.fiscal_year_start_month
    if calendar_changes:
        blockers = _calendar_blockers(org, fiscal_year_start_month)
        if blockers:
            raise ValidationError(
                {
                    "fiscal_year_start_month": f"{_and(blockers)} are keyed by years or quarters of the "
                    "current fiscal calendar, and would fall on other months under the new one: enter "
                    "them by month, or remove them, before changing the fiscal year."
                }
            )
    org.name, org.currency, org.fiscal_year_start_month = name, currency, fiscal_year_start_month
    org.full_clean()
    _recorded(org, user=user, reason=reason).save()
    if calendar_changes:
        fiscal_calendar_changed.send(sender=Organization, org=org)
    return calendar_changes


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
