"""Idempotent writes of products, certifications and programme participations (validated records).

Like ``sync``: callers validate the whole file first and call these inside one transaction; rows
equal to the stored ones are not touched, so re-running an import changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from people.models import Certification, CertificationType, Program, ProgramParticipation
from sales.models import Product
from territories.models import Rep

from .sync import BATCH_SIZE, Counts, rows_upsert


@dataclass(frozen=True, slots=True)
class ProductRecord:
    line: str
    list_price: Decimal | None


@dataclass(frozen=True, slots=True)
class CertificationRecord:
    rep: str
    certification: str
    earned: date
    expires: date | None


@dataclass(frozen=True, slots=True)
class ProgrammeRecord:
    rep: str
    programme: str
    start: date
    end: date | None


def products_write(*, org, products: dict[str, ProductRecord]) -> Counts:
    """Upserts products by name; their description is left as it is."""
    _, counts = rows_upsert(
        Product,
        org=org,
        key="name",
        rows={name: {"line": p.line, "list_price": p.list_price} for name, p in products.items()},
    )
    return counts


def certifications_write(
    *, org, types: dict[str, tuple[str, str]], records: list[CertificationRecord]
) -> tuple[Counts, Counts]:
    """Certification types by name (category, issuer as given), then certifications keyed on rep,
    type and earned date (the expiry updated). Returns the counts of certifications and of types."""
    type_ids, type_counts = rows_upsert(
        CertificationType,
        org=org,
        key="name",
        rows={name: {"category": category, "issuer": issuer} for name, (category, issuer) in types.items()},
    )
    rep_ids = dict(Rep.objects.filter(org=org).values_list("name", "id"))
    stored = {(c.rep_id, c.type_id, c.earned): c for c in Certification.objects.filter(org=org)}
    counts = Counts()
    new, changed = [], []
    for r in records:
        key = (rep_ids[r.rep], type_ids[r.certification], r.earned)
        cert = stored.get(key)
        if cert is None:
            new.append(
                Certification(org=org, rep_id=key[0], type_id=key[1], earned=r.earned, expires=r.expires)
            )
        elif cert.expires != r.expires:
            cert.expires = r.expires
            changed.append(cert)
        else:
            counts.unchanged += 1
    Certification.objects.bulk_create(new, batch_size=BATCH_SIZE)
    Certification.objects.bulk_update(changed, ["expires"], batch_size=BATCH_SIZE)
    counts.created, counts.updated = len(new), len(changed)
    return counts, type_counts


def programmes_write(*, org, kinds: dict[str, str], records: list[ProgrammeRecord]) -> tuple[Counts, Counts]:
    """Programmes by name (kind as given), then participations keyed on rep, programme and start (the
    end updated). Returns the counts of participations and of programmes."""
    program_ids, program_counts = rows_upsert(
        Program, org=org, key="name", rows={name: {"kind": kind} for name, kind in kinds.items()}
    )
    rep_ids = dict(Rep.objects.filter(org=org).values_list("name", "id"))
    stored = {(p.rep_id, p.program_id, p.start): p for p in ProgramParticipation.objects.filter(org=org)}
    counts = Counts()
    new, changed = [], []
    for r in records:
        key = (rep_ids[r.rep], program_ids[r.programme], r.start)
        participation = stored.get(key)
        if participation is None:
            new.append(
                ProgramParticipation(org=org, rep_id=key[0], program_id=key[1], start=r.start, end=r.end)
            )
        elif participation.end != r.end:
            participation.end = r.end
            changed.append(participation)
        else:
            counts.unchanged += 1
    ProgramParticipation.objects.bulk_create(new, batch_size=BATCH_SIZE)
    ProgramParticipation.objects.bulk_update(changed, ["end"], batch_size=BATCH_SIZE)
    counts.created, counts.updated = len(new), len(changed)
    return counts, program_counts
