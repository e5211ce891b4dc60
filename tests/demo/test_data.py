"""The demo's names and shapes agree with the models they are written into."""

from __future__ import annotations

import pytest

from demo import choices
from demo.data import (
    CERTIFICATION_TYPES,
    CREDENTIAL_SECTOR,
    LINES,
    PRODUCTS,
    PROGRAMS,
    REGIONS,
    SECTOR_SUFFIX,
    SECTORS,
)
from kpis.models import NoteKind
from people.models import CertificationCategory, ProgramKind
from sales.models import Channel, Poc, Stage


@pytest.mark.parametrize(
    ("ours", "model_choices"),
    [
        (choices.CertificationCategory, CertificationCategory),
        (choices.ProgramKind, ProgramKind),
        (choices.Stage, Stage),
        (choices.Channel, Channel),
        (choices.Poc, Poc),
        (choices.NoteKind, NoteKind),
    ],
)
def test_choice_values_are_the_models(ours, model_choices):
    assert [member.value for member in ours] == list(model_choices.values)


def test_every_territory_name_is_distinct_so_a_plan_can_refer_to_it_by_name():
    names = [""] + [r.name for r in REGIONS] + [t.name for r in REGIONS for t in r.teams]
    assert len(set(names)) == len(names)


def test_catalog_and_people_refer_to_known_names():
    assert {line for line, *_ in PRODUCTS} == set(LINES)
    assert set(SECTOR_SUFFIX) == set(SECTORS)
    customer_credentials = {
        name
        for name, category, *_ in CERTIFICATION_TYPES
        if category == CertificationCategory.CUSTOMER_INDUSTRY
    }
    assert set(CREDENTIAL_SECTOR) == customer_credentials
    assert set(CREDENTIAL_SECTOR.values()) <= set(SECTORS)
    assert {kind for _, kind, _ in PROGRAMS} == set(ProgramKind.values)
