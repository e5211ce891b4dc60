"""Changes that affect rollups mark the affected periods stale and enqueue a recompute after commit.

Every write that can change a stored figure requests a recompute (``recompute.request``) in its own
transaction, and every write that changes what a deal contributes logs the deal (``recompute.deals_changed``),
which a worker keeping the deals in memory (``kpis.rollup.warm``) re-reads. What the figures read
(``kpis.rollup``: load, deals, attribute, tally, warm), and who requests when it changes:

| table · columns read | writes, and the receiver or caller that requests |
| --- | --- |
| Organization · fiscal_year_start_month | ``organization_settings_update`` (``fiscal_calendar_changed``) and any other save (admin): ``organization_saved`` |
| Territory · id, path, depth | add (service, admin, imports): ``territory_saved``; move / rename: ``tree_changed``; delete (subtree): ``territory_deleted`` |
| Rep · id, hire_date, leave_date | hire / create: ``rep_saved`` (new scope: all periods); hire / leave dates: ``rep_saved`` (the periods between old and new dates); delete: ``rep_deleting`` (its deals as identifier are set to NULL: logged) |
| TerritoryAssignment · rep, territory, start, end | save / delete, cascades from a rep: ``dated_fact_changed`` |
| Certification · rep, type, earned, expires | save / delete, cascades from a rep: ``dated_fact_changed`` |
| CertificationType · category | ``catalog_kind_saved`` (filters by category); deleting one in use is refused (PROTECT) |
| ProgramParticipation · rep, program, start, end | save / delete, cascades: ``dated_fact_changed`` |
| Program · kind | ``catalog_kind_saved`` (filters by kind); deleting one in use is refused (PROTECT) |
| KPI · active ones, every field | save / delete (objective and perspective deletes cascade to it): ``definition_changed`` |
| Measurement, Target (current) | save / delete, cascades from KPIs, reps, territories: ``period_input_changed`` (also logs an ``InputChange`` for the workers keeping them) |
| Product · line, list_price | save / delete: ``definition_changed``; its deals' links cascade on delete: ``catalog_entry_deleting`` |
| Opportunity · every column the deal columns hold | save / delete: ``dated_fact_changed`` (+ first wins of its accounts) |
| Opportunity.products / .deliverables (links) | ``m2m_changed`` from either side (add, remove, clear): ``deal_links_changed``; a deleted product or deliverable's links: ``catalog_entry_deleting`` |
| Account, Partner, StrategicPlay · only as a deal's foreign key | protected by their deals (PROTECT): deleting one in use is refused, one without deals counts nowhere |
| imports (bulk writes, no model signals) | ``imports.sync.rollups_mark_stale`` (all periods, every deal) and ``imports.services.names_create_missing`` |

The warm deals also check that nothing they hold changed unlogged: before each use, the catalog entries
deals point at (``kpis.rollup.deals.catalog_digest``); after each run that brought them up to date, how
many deliverable links the deals have (``deals.deliverable_links``, ``warm.verify``); when in doubt every
deal is read again.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.utils import timezone

from people.models import Certification, CertificationType, Program, ProgramParticipation
from sales.models import Deliverable, Opportunity, Product, Stage
from scorecard.models import Organization
from scorecard.services import year_or_quarter_keyed
from scorecard.signals import fiscal_calendar_changed, fiscal_calendar_changing, organization_created
from territories.models import Rep, Territory, TerritoryAssignment
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


def _request_for_deals(org_id: int, deals: QuerySet[Opportunity]) -> None:
    """Log the deals as changed and mark the periods they count in stale (in the caller's transaction)."""
    ids = list(deals.values_list("pk", flat=True))
    if not ids:
        return
    recompute.deals_changed(org_id, ids)
    found = deals.aggregate(
        **{f"first_{f}": Min(f) for f in DATE_FIELDS[Opportunity]},
        **{f"last_{f}": Max(f) for f in DATE_FIELDS[Opportunity]},
        open=Count("pk", filter=Q(close_date__isnull=True)),
    )
    dates = [d for k, d in found.items() if k != "open" and d is not None]
    if not dates:
        return
    org = Organization.objects.get(pk=org_id)
    today = timezone.localdate()
    last = today if found["open"] else max(dates)
    recompute.request(
        org_id, recompute.affected_periods(min(dates), last, org.fiscal_year_start_month, today)
    )


def _linked_deals(through, target: str, pk: int) -> QuerySet[Opportunity]:
    """The deals linked to one product or deliverable (a subquery: there may be many)."""
    return Opportunity.objects.filter(
        pk__in=through.objects.filter(**{f"{target}_id": pk}).values("opportunity_id")
    )


@receiver(m2m_changed, sender=Opportunity.products.through)
@receiver(m2m_changed, sender=Opportunity.deliverables.through)
def deal_links_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """Products (lines, list price) and deliverables of deals count in their figures. From the product /
    deliverable side the deals are ``pk_set``, except for a clear, which names none: its deals are
    logged before it, in the same transaction."""
    if _deleting_organisation(kwargs):
        return
    if reverse:
        if action == "pre_clear":
            _request_for_deals(instance.org_id, _linked_deals(sender, instance._meta.model_name, instance.pk))
        elif action in ("post_add", "post_remove"):
            _request_for_deals(instance.org_id, Opportunity.objects.filter(pk__in=pk_set or ()))
    elif action.startswith("post_"):
        recompute.deals_changed(instance.org_id, [instance.pk])
        _request_for_dates(instance, _dates(instance), instance.close_date is None)


@receiver(pre_delete, sender=Product)
@receiver(pre_delete, sender=Deliverable)
def catalog_entry_deleting(sender, instance, **kwargs):
    """Deleting a product or a deliverable deletes its links to deals without a signal of their own (a fast
    delete): its deals change, so they are logged and their periods requested before the links go."""
    if _deleting_organisation(kwargs):
        return
    through = Opportunity.products.through if sender is Product else Opportunity.deliverables.through
    _request_for_deals(instance.org_id, _linked_deals(through, sender._meta.model_name, instance.pk))


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
    recompute.inputs_changed(org.pk)


@receiver(post_save, sender=KPI)
@receiver(post_delete, sender=KPI)
@receiver(post_save, sender=Product)
@receiver(post_delete, sender=Product)
def definition_changed(sender, instance, **kwargs):
    if _deleting_organisation(kwargs):
        return
    recompute.request(instance.org_id, None)


@receiver(pre_save, sender=Rep)
def remember_rep_dates(sender, instance, **kwargs):
    if instance.pk:
        instance._old_rep_dates = (
            sender.objects.filter(pk=instance.pk).values_list("hire_date", "leave_date").first()
        )


@receiver(post_save, sender=Rep)
def rep_saved(sender, instance, created, **kwargs):
    """A new rep is a new scope of every period; hire and leave dates decide in which periods a rep is
    active (headcount, turnover, participation, per-rep figures): the periods between the old and the new
    date (an open start: every period; an open end: up to today)."""
    old = vars(instance).pop("_old_rep_dates", None)
    if created or old is None:
        recompute.request(instance.org_id, None)
        return
    (old_hire, old_leave), hire, leave = old, instance.hire_date, instance.leave_date
    if old_hire != hire and None in (old_hire, hire):
        recompute.request(instance.org_id, None)
        return
    pairs = [(a, b) for a, b in ((old_hire, hire), (old_leave, leave)) if a != b]
    dates = [d for pair in pairs for d in pair if d is not None]
    _request_for_dates(instance, dates, open_ended=old_leave != leave and None in (old_leave, leave))


@receiver(pre_delete, sender=Rep)
def rep_deleting(sender, instance, **kwargs):
    """A rep's scope goes (its assignments, certifications, targets cascade with their own receivers),
    and the deals it identified lose it (SET NULL, without a signal): they are logged."""
    if _deleting_organisation(kwargs):
        return
    _request_for_deals(instance.org_id, instance.identified_opportunities.all())
    recompute.request(instance.org_id, None)


@receiver(post_save, sender=Territory)
def territory_saved(sender, instance, created, **kwargs):
    """A new territory is a new scope of every period (moves and renames send ``tree_changed``)."""
    if created:
        recompute.request(instance.org_id, None)


@receiver(post_delete, sender=Territory)
def territory_deleted(sender, instance, **kwargs):
    if not _deleting_organisation(kwargs):
        recompute.request(instance.org_id, None)


@receiver(pre_save, sender=CertificationType)
@receiver(pre_save, sender=Program)
def remember_kind(sender, instance, **kwargs):
    field = "category" if sender is CertificationType else "kind"
    if instance.pk:
        instance._old_kind = sender.objects.filter(pk=instance.pk).values_list(field, flat=True).first()


@receiver(post_save, sender=CertificationType)
@receiver(post_save, sender=Program)
def catalog_kind_saved(sender, instance, created, **kwargs):
    """KPIs filter certifications by category and programmes by kind: a type or programme changing it
    moves all its rows between filters."""
    field = "category" if sender is CertificationType else "kind"
    old = vars(instance).pop("_old_kind", None)
    if not created and old != getattr(instance, field):
        recompute.request(instance.org_id, None)


@receiver(pre_save, sender=Organization)
def remember_fiscal_calendar(sender, instance, **kwargs):
    if instance.pk:
        instance._old_fiscal_start = (
            sender.objects.filter(pk=instance.pk).values_list("fiscal_year_start_month", flat=True).first()
        )


@receiver(post_save, sender=Organization)
def organization_saved(sender, instance, created, **kwargs):
    """A fiscal year changed by any save (the admin too, not only ``organization_settings_update``)."""
    old = vars(instance).pop("_old_fiscal_start", None)
    if not created and old is not None and old != instance.fiscal_year_start_month:
        fiscal_calendar_changed_recompute(sender, instance)


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
