"""Writing a demo plan into the database: the organisation, its rows and the demo users.

``demo_create`` replaces the demo organisation (slug ``demo``) and the demo users with a fresh plan,
in one transaction. Rows go in through the services where they exist (organisation, territory tree)
and ``bulk_create`` elsewhere; the times a person would have entered them (targets set, measurements
entered, notes written) are stamped afterwards, as the fields fill them in on insert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Model, QuerySet
from simple_history.utils import bulk_create_with_history

from kpis.models import KPI, Measurement, Note, Target
from people.models import Certification, CertificationType, Program, ProgramParticipation
from sales.models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay
from scorecard.models import Membership, Organization, Role
from scorecard.services import organization_create, organization_delete
from territories.models import Rep, Territory, TerritoryAssignment
from territories.services import territory_child_create

from .data import (
    CERTIFICATION_TYPES,
    DELIVERABLES,
    DEMO_EMAIL_DOMAIN,
    DEMO_NAME,
    DEMO_PASSWORD,
    DEMO_SEED,
    DEMO_SLUG,
    DEMO_USER_NAMES,
    DEMO_USERS,
    MANAGER_REGION,
    PARTNERS,
    PLAYS,
    PRODUCTS,
    PROGRAMS,
    REGIONS,
)
from .plan import plan_demo
from .plan_records import DemoPlan, PlannedRep


class DemoError(Exception):
    """The demo cannot be (re)built, e.g. a real user holds one of the demo usernames."""


@dataclass
class DemoResult:
    org: Organization
    today: date
    counts: dict[str, int]
    logins: list[tuple[str, str, str, str]]  # username, password, role, what they see


def _demo_users_check(usernames: Iterable[str]) -> list[Any]:
    users = list(get_user_model().objects.filter(username__in=usernames))
    for user in users:
        if user.email != f"{user.username}@{DEMO_EMAIL_DOMAIN}":
            raise DemoError(
                f"User {user.username!r} exists and was not created by seed_demo; "
                "rename or delete it before building the demo."
            )
    return users


def demo_delete() -> None:
    """Remove the demo organisation and the demo users (only those seed_demo created)."""
    users = _demo_users_check(DEMO_USERS)
    org = Organization.objects.filter(slug=DEMO_SLUG).first()
    if org is not None:
        organization_delete(org)
    for user in users:
        user.delete()


@transaction.atomic
def demo_create(*, seed: int = DEMO_SEED, today: date | None = None, size: str = "full") -> DemoResult:
    """Rebuild the demo organisation and the demo users from scratch."""
    today = today or date.today()
    demo_delete()
    return demo_write(plan_demo(seed=seed, today=today, size=size))


@dataclass
class _Written:
    """The rows a plan's records became, for the rows that point at them."""

    org: Organization
    users: dict[str, Any]
    scopes: dict[str, Territory]  # "" is the root, else a region's or a team's name
    reps: list[Rep]  # by PlannedRep.index
    kpis: dict[str, KPI]

    def rep(self, planned: PlannedRep | None) -> Rep | None:
        return self.reps[planned.index] if planned is not None else None

    def scope(self, name: str | None) -> Territory | None:
        return self.scopes[name] if name is not None else None


def demo_write(plan: DemoPlan) -> DemoResult:
    """Store a plan as a new demo organisation with its users (inside the caller's transaction)."""
    org = organization_create(name=DEMO_NAME, slug=DEMO_SLUG)
    users = _write_users()
    scopes = _write_tree(org, plan, users["manager"])
    reps = _write_reps(org, plan, users["rep"], scopes)
    written = _Written(org, users, scopes, reps, {k.slug: k for k in KPI.objects.filter(org=org)})
    catalog = _write_catalog(org, plan)
    _write_people(written, plan, catalog)
    _write_deals(written, plan, catalog)
    _write_measurements(written, plan)
    _write_targets(written, plan)
    _write_notes(written, plan)
    logins = _write_memberships(written, plan)
    counts = {
        "territories": Territory.objects.filter(org=org).count(),
        "reps": len(plan.roster.reps),
        "accounts": len(plan.accounts),
        "opportunities": len(plan.deals),
        "certifications": Certification.objects.filter(org=org).count(),
        "programme participations": ProgramParticipation.objects.filter(org=org).count(),
        "measurements": Measurement.objects.filter(org=org).count(),
        "targets": Target.objects.filter(org=org).count(),
        "notes": Note.objects.filter(org=org).count(),
    }
    return DemoResult(org=org, today=plan.today, counts=counts, logins=logins)


def _write_users() -> dict[str, Any]:
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)
    return {
        username: User.objects.create(
            username=username,
            email=f"{username}@{DEMO_EMAIL_DOMAIN}",
            password=password,
            first_name=first,
            last_name=last,
            # No demo user enters the Django admin: it is for platform operators (createsuperuser).
        )
        for username, (first, last) in DEMO_USER_NAMES.items()
    }


def _write_tree(org: Organization, plan: DemoPlan, manager: Any) -> dict[str, Territory]:
    root = org.root_territory()
    scopes: dict[str, Territory] = {}
    for spec in REGIONS:
        root.refresh_from_db()
        region = territory_child_create(
            parent=root,
            name=spec.name,
            owner=manager if spec.name == MANAGER_REGION else None,
            owner_name=spec.lead,
        )
        scopes[spec.name] = region
        for team in plan.roster.teams:
            if team.region is spec:
                region.refresh_from_db()
                scopes[team.name] = territory_child_create(
                    parent=region, name=team.name, owner_name=team.spec.lead
                )
    scopes[""] = root
    return scopes


def _write_reps(org: Organization, plan: DemoPlan, rep_user: Any, scopes: dict[str, Territory]) -> list[Rep]:
    demo_rep = plan.roster.demo_rep
    reps = []
    for rep in plan.roster.reps:
        first, last = rep.name.split(" ", 1)
        reps.append(
            Rep(
                org=org,
                name=rep.name,
                email=f"{first}.{last}@northwind.example".lower().replace(" ", ""),
                external_id=f"EMP-{1001 + rep.index}",
                hire_date=rep.hire,
                leave_date=rep.leave,
                user=rep_user if rep is demo_rep else None,
            )
        )
    bulk_create_with_history(reps, Rep)
    rep_user.first_name, rep_user.last_name = demo_rep.name.split(" ", 1)
    rep_user.save(update_fields=["first_name", "last_name"])
    bulk_create_with_history(
        [
            TerritoryAssignment(
                org=org, rep=reps[rep.index], territory=scopes[team.name], start=start, end=end
            )
            for rep in plan.roster.reps
            for team, start, end in rep.assignments
        ],
        TerritoryAssignment,
    )
    return reps


@dataclass
class _Catalog:
    products: list[Product]
    partners: list[Partner]
    plays: list[StrategicPlay]
    deliverables: list[Deliverable]
    certification_types: dict[str, CertificationType]
    programs: list[Program]
    accounts: list[Account]


def _write_catalog(org: Organization, plan: DemoPlan) -> _Catalog:
    products = Product.objects.bulk_create(
        Product(org=org, name=name, line=line, list_price=Decimal(price), description=f"{line}: {name}")
        for line, name, price, _margin in PRODUCTS
    )
    partners = Partner.objects.bulk_create(Partner(org=org, name=n) for n in PARTNERS)
    plays = StrategicPlay.objects.bulk_create(
        StrategicPlay(org=org, name=n, description=d) for n, d, _ in PLAYS
    )
    deliverables = Deliverable.objects.bulk_create(Deliverable(org=org, name=n) for n in DELIVERABLES)
    certification_types = CertificationType.objects.bulk_create(
        CertificationType(org=org, name=n, category=c, issuer=i, validity_months=v)
        for n, c, i, v in CERTIFICATION_TYPES
    )
    programs = Program.objects.bulk_create(
        Program(org=org, name=n, kind=k, description=d) for n, k, d in PROGRAMS
    )
    accounts = Account.objects.bulk_create(
        Account(
            org=org,
            external_id=f"ACC-{account.index + 1:04d}",
            name=account.name,
            sector=account.sector,
            country=account.country,
        )
        for account in plan.accounts
    )
    type_by_name = {t.name: t for t in certification_types}
    return _Catalog(products, partners, plays, deliverables, type_by_name, programs, accounts)


def _write_people(written: _Written, plan: DemoPlan, catalog: _Catalog) -> None:
    org = written.org
    Certification.objects.bulk_create(
        Certification(
            org=org,
            rep=written.rep(rep),
            type=catalog.certification_types[c.type_name],
            earned=c.earned,
            expires=c.expires,
        )
        for rep, c in plan.certifications()
    )
    ProgramParticipation.objects.bulk_create(
        ProgramParticipation(
            org=org, rep=written.rep(p.rep), program=catalog.programs[p.program], start=p.start, end=p.end
        )
        for p in plan.participations
    )


def _write_deals(written: _Written, plan: DemoPlan, catalog: _Catalog) -> None:
    org = written.org
    opportunities = [
        Opportunity(
            org=org,
            external_id=f"NW-{n:05d}",
            rep=written.rep(d.rep),
            account=catalog.accounts[d.account.index],
            stage=d.stage,
            created_date=d.created,
            engage_date=d.engaged,
            close_date=d.closed,
            amount=d.amount,
            profit=d.profit,
            channel=d.channel,
            partner=catalog.partners[d.partner] if d.partner is not None else None,
            strategic_play=catalog.plays[d.play] if d.play is not None else None,
            poc=d.poc,
            identified_by=written.rep(d.identified_by),
        )
        for n, d in enumerate(plan.deals, start=1)
    ]
    Opportunity.objects.bulk_create(opportunities, batch_size=500)
    ProductLink = Opportunity.products.through
    DeliverableLink = Opportunity.deliverables.through
    ProductLink.objects.bulk_create(
        (
            ProductLink(opportunity=o, product=catalog.products[i])
            for o, d in zip(opportunities, plan.deals, strict=True)
            for i in d.products
        ),
        batch_size=1000,
    )
    DeliverableLink.objects.bulk_create(
        (
            DeliverableLink(opportunity=o, deliverable=catalog.deliverables[i])
            for o, d in zip(opportunities, plan.deals, strict=True)
            for i in d.deliverables
        ),
        batch_size=1000,
    )


def _stamp(queryset: QuerySet[Any], field: str, rows: Iterable[tuple[Model, datetime]]) -> None:
    """Set a time the field fills in on insert: one update per distinct time."""
    by_time: dict[datetime, list[Any]] = defaultdict(list)
    for row, moment in rows:
        by_time[moment].append(row.pk)
    for moment, pks in by_time.items():
        queryset.filter(pk__in=pks).update(**{field: moment})


def _write_measurements(written: _Written, plan: DemoPlan) -> None:
    rows = [
        Measurement(
            org=written.org,
            kpi=written.kpis[m.kpi],
            territory=written.scope(m.scope),
            rep=written.rep(m.rep),
            period=m.period,
            value=m.value,
            weight=m.weight,
            note=m.note,
            entered_by=written.users[m.entered_by],
        )
        for m in plan.measurements
    ]
    Measurement.objects.bulk_create(rows, batch_size=1000)
    _stamp(
        Measurement.objects.filter(org=written.org),
        "entered_at",
        zip(rows, (m.entered_at for m in plan.measurements), strict=True),
    )


def _write_targets(written: _Written, plan: DemoPlan) -> None:
    rows = [
        Target(
            org=written.org,
            kpi=written.kpis[t.kpi],
            territory=written.scope(t.scope),
            rep=written.rep(t.rep),
            period=t.period,
            goal=t.goal,
            red_flag=t.red_flag,
            reason=t.reason,
            set_by=written.users[t.set_by],
            superseded_at=t.superseded_at,
        )
        for t in plan.targets
    ]
    Target.objects.bulk_create(rows, batch_size=1000)
    _stamp(
        Target.objects.filter(org=written.org),
        "set_at",
        zip(rows, (t.set_at for t in plan.targets), strict=True),
    )


def _write_notes(written: _Written, plan: DemoPlan) -> None:
    rows = [
        Note(
            org=written.org,
            kind=n.kind,
            period=n.period,
            kpi=written.kpis[n.kpi] if n.kpi else None,
            objective=written.kpis[n.objective_of].objective if n.objective_of else None,
            rep=written.rep(n.rep),
            territory=written.scope(n.scope),
            author=written.users[n.author],
            text=n.text,
            due_date=n.due_date,
            done=n.done,
        )
        for n in plan.notes
    ]
    Note.objects.bulk_create(rows)
    _stamp(
        Note.objects.filter(org=written.org),
        "created_at",
        zip(rows, (n.created_at for n in plan.notes), strict=True),
    )


def _write_memberships(written: _Written, plan: DemoPlan) -> list[tuple[str, str, str, str]]:
    users, demo_rep = written.users, plan.roster.demo_rep
    manager_region = written.scopes[MANAGER_REGION]
    Membership.objects.bulk_create(
        [
            Membership(org=written.org, user=users["admin"], role=Role.ADMIN),
            Membership(org=written.org, user=users["manager"], role=Role.MANAGER, territory=manager_region),
            Membership(org=written.org, user=users["rep"], role=Role.REP, rep=written.rep(demo_rep)),
            Membership(org=written.org, user=users["viewer"], role=Role.VIEWER),
        ]
    )
    return [
        ("admin", DEMO_PASSWORD, "admin", "everything; changes KPIs, targets, tree, users"),
        ("manager", DEMO_PASSWORD, "manager", f"{manager_region.full_name} and the teams below it"),
        ("rep", DEMO_PASSWORD, "rep", f"own records and scorecard ({demo_rep.name}, Enterprise East)"),
        ("viewer", DEMO_PASSWORD, "viewer", "the whole organisation, read-only"),
    ]
