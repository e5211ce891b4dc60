"""Changes that affect rollups mark the affected periods stale and enqueue a recompute after commit."""

from __future__ import annotations

from datetime import date

from django.db.models import Min
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from people.models import Certification, ProgramParticipation
from sales.models import Opportunity, Product, Stage
from scorecard.services import year_or_quarter_keyed
from scorecard.signals import fiscal_calendar_changed, fiscal_calendar_changing, organization_created
from territories.models import TerritoryAssignment
from territories.signals import tree_changed

from . import recompute
from .models import KPI, Measurement, Note, RecomputeRequest, Target
from .services import scorecard_template_create

DATE_FIELDS = {
    Opportunity: ("created_date", "engage_date", "close_date"),
    TerritoryAssignment: ("start", "end"),
    Certification: ("earned", "expires"),
    ProgramParticipation: ("start", "end"),
}


def _dates(instance) -> list[date]:
    return [d for d in (getattr(instance, f) for f in DATE_FIELDS[type(instance)]) if d is not None]


def _deleting_organisation(kwargs) -> bool:
    """A cascade from deleting a whole organisation has nothing left to recompute."""
    from scorecard.models import Organization

    origin = kwargs.get("origin")
    model = getattr(origin, "model", type(origin))
    return model is Organization


def _request_for_dates(instance, dates: list[date], open_ended: bool) -> None:
    org = instance.org
    if not dates:
        return
    today = timezone.localdate()
    last = today if open_ended else max(dates)
    recompute.request(
        org.pk,
        recompute.affected_periods(min(dates), last, org.fiscal_year_start_month, today),
    )


def _first_win_days(accounts: set[int]) -> list[date]:
    """The close dates of the accounts' first won deals (``new_customers`` counts an account there)."""
    if not accounts:
        return []
    rows = (
        Opportunity.objects.filter(account_id__in=accounts, stage=Stage.WON, close_date__isnull=False)
        .values("account_id")
        .annotate(first=Min("close_date"))
    )
    return [row["first"] for row in rows]


@receiver(pre_save, sender=Opportunity)
@receiver(pre_save, sender=TerritoryAssignment)
@receiver(pre_save, sender=Certification)
@receiver(pre_save, sender=ProgramParticipation)
def remember_old_dates(sender, instance, **kwargs):
    old: dict[str, object] = {}
    if instance.pk:
        extra = ("account_id", "stage") if sender is Opportunity else ()
        old = sender.objects.filter(pk=instance.pk).values(*DATE_FIELDS[sender], *extra).first() or {}
        instance._old_dates = [old[f] for f in DATE_FIELDS[sender] if old.get(f) is not None]
    if sender is Opportunity:
        # A won deal can take or give up its account's first win, which counts where that win is: the
        # first wins of its accounts before and after the change are affected too.
        accounts = {
            account
            for account, stage in (
                (old.get("account_id"), old.get("stage")),
                (instance.account_id, instance.stage),
            )
            if account is not None and stage == Stage.WON
        }
        instance._first_win_accounts = accounts
        instance._first_win_days = _first_win_days(accounts)


@receiver(post_save, sender=Opportunity)
@receiver(post_delete, sender=Opportunity)
@receiver(post_save, sender=TerritoryAssignment)
@receiver(post_delete, sender=TerritoryAssignment)
@receiver(post_save, sender=Certification)
@receiver(post_delete, sender=Certification)
@receiver(post_save, sender=ProgramParticipation)
@receiver(post_delete, sender=ProgramParticipation)
def dated_fact_changed(sender, instance, **kwargs):
    if _deleting_organisation(kwargs):
        return
    dates = _dates(instance) + getattr(instance, "_old_dates", [])
    # Open deals and open-ended assignments or certifications affect every period up to today.
    if sender is Opportunity:
        recompute.deals_changed(instance.org_id, [instance.pk])
        open_ended = instance.close_date is None
        _request_first_wins(instance)
    else:
        open_ended = getattr(instance, "end", getattr(instance, "expires", None)) is None
    _request_for_dates(instance, dates, open_ended)


def _request_first_wins(deal: Opportunity) -> None:
    """The periods of the first wins of the deal's accounts, before and after the change (on their own:
    they may lie far from the deal's dates)."""
    remembered = vars(deal)
    accounts = remembered.pop("_first_win_accounts", None)
    if accounts is None:  # deleted: its account's first win may have passed to another deal
        accounts = {deal.account_id} if deal.account_id is not None and deal.stage == Stage.WON else set()
    days = {*remembered.pop("_first_win_days", ()), *_first_win_days(accounts)}
    fsm, today = deal.org.fiscal_year_start_month, timezone.localdate()
    recompute.request(
        deal.org_id, {key for day in days for key in recompute.affected_periods(day, day, fsm, today)}
    )


@receiver(m2m_changed, sender=Opportunity.products.through)
@receiver(m2m_changed, sender=Opportunity.deliverables.through)
def deal_links_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """Products (lines, list price) and deliverables of deals count in their figures."""
    if not action.startswith("post_"):
        return
    if _deleting_organisation(kwargs):
        return
    if reverse:  # from the product / deliverable side (a clear does not say which deals)
        recompute.deals_changed(instance.org_id, pk_set)
        recompute.request(instance.org_id, None)
    else:
        recompute.deals_changed(instance.org_id, [instance.pk])
        _request_for_dates(instance, _dates(instance), instance.close_date is None)


@receiver(post_save, sender=Measurement)
@receiver(post_delete, sender=Measurement)
@receiver(post_save, sender=Target)
@receiver(post_delete, sender=Target)
def period_input_changed(sender, instance, **kwargs):
    if _deleting_organisation(kwargs):
        return
    org = instance.org
    period = org.parse_period(instance.period)
    recompute.request(
        org.pk,
        recompute.affected_periods(period.start, period.end, org.fiscal_year_start_month),
    )


@receiver(post_save, sender=KPI)
@receiver(post_delete, sender=KPI)
@receiver(post_save, sender=Product)
@receiver(post_delete, sender=Product)
def definition_changed(sender, instance, **kwargs):
    if _deleting_organisation(kwargs):
        return
    recompute.request(instance.org_id, None)


@receiver(organization_created)
def create_scorecard_template(sender, org, **kwargs) -> None:
    """Every new organisation starts from the default scorecard (DESIGN §2)."""
    scorecard_template_create(org)


@receiver(tree_changed)
def territory_tree_changed(sender, org_id: int, **kwargs):
    """Territories moved (what the ones above them sum up) or renamed: recompute the organisation."""
    recompute.request(org_id, None)


@receiver(fiscal_calendar_changing)
def rows_keyed_by_the_fiscal_calendar(sender, org, **kwargs) -> list[str]:
    """Targets (superseded ones too: their history is shown), measurements and notes of a year or a
    quarter, which the new fiscal calendar would put on other months."""
    found = []
    for model, noun in ((Target, "target"), (Measurement, "measurement"), (Note, "note")):
        count = year_or_quarter_keyed(model.objects.filter(org=org)).count()
        if count:
            found.append(f"{count} {noun}{'s' if count != 1 else ''}")
    return found


@receiver(fiscal_calendar_changed)
def fiscal_calendar_changed_recompute(sender, org, **kwargs):
    """Every year and quarter is another span now: drop the stale requests keyed by the old calendar and
    recompute everything (the stored rows of the old fiscal years are replaced)."""
    RecomputeRequest.objects.filter(org=org).exclude(period=RecomputeRequest.ALL).delete()
    recompute.request(org.pk, None)
