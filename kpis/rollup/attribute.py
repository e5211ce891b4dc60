"""Crediting facts to scopes on their dates: the territory a rep belonged to on a day (effective-dated
assignments), and whether a rep held a matching certification on a day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kpis.catalog import parse_filter_key
from people.models import Certification
from territories.models import TerritoryAssignment

from .arrays import BIG, FAR, index_of
from .deals import Deals
from .grid import Scopes


@dataclass
class Assignments:
    """Rep assignments sorted by (rep, start): rep and territory indices, start and end ordinals."""

    rep: np.ndarray
    start: np.ndarray
    end: np.ndarray
    territory: np.ndarray

    @classmethod
    def load(cls, org_id: int, scopes: Scopes) -> Assignments:
        rows = list(
            TerritoryAssignment.objects.filter(org_id=org_id)
            .order_by("rep_id", "start")
            .values_list("rep_id", "start", "end", "territory_id")
        )
        return cls(
            rep=index_of(scopes.rep_ids, [x[0] for x in rows]),
            start=np.array([x[1].toordinal() for x in rows], dtype=np.int64),
            end=np.array([x[2].toordinal() if x[2] else FAR for x in rows], dtype=np.int64),
            territory=index_of(scopes.tree.ids, [x[3] for x in rows]),
        )

    def __post_init__(self) -> None:
        self.key = self.rep * BIG + self.start

    def territory_on(self, rep: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Territory index each rep belonged to on each day (-1 when unassigned or no rep)."""
        rep = np.asarray(rep, dtype=np.int64)
        day = np.asarray(day, dtype=np.int64)
        if len(self.key) == 0:
            return np.full(np.broadcast(rep, day).shape, -1)
        i = np.searchsorted(self.key, rep * BIG + day, side="right") - 1
        ic = np.clip(i, 0, None)
        ok = (rep >= 0) & (i >= 0) & (self.rep[ic] == rep) & (self.end[ic] >= day)
        return np.where(ok, self.territory[ic], -1)

    def credited(self, rep: np.ndarray, credited: np.ndarray, day: np.ndarray, root: int) -> np.ndarray:
        """The rep's territory on the day, else the deal's credited territory, else the root: a deal
        whose rep had no assignment that day, or a rep-less one without a territory, is "unassigned" and
        counts at the root (DESIGN §4: the root always equals the organisation's total)."""
        territory = self.territory_on(rep, day)
        territory = np.where(territory < 0, credited, territory)
        return np.where(territory < 0, root, territory)

    def deal_territory(self, deals: Deals, sel: np.ndarray, day: np.ndarray, root: int) -> np.ndarray:
        return self.credited(deals.rep[sel], deals.terr[sel], day, root)


@dataclass
class Certifications:
    rep: np.ndarray  # rep index (-1: a rep not in the organisation)
    type: np.ndarray
    category: np.ndarray  # object array of category names
    earned: np.ndarray
    expires: np.ndarray  # FAR: no expiry

    @classmethod
    def load(cls, org_id: int, scopes: Scopes) -> Certifications:
        rows = list(
            Certification.objects.filter(org_id=org_id).values_list(
                "rep_id", "type_id", "type__category", "earned", "expires"
            )
        )
        return cls(
            rep=index_of(scopes.rep_ids, [c[0] for c in rows]),
            type=np.array([c[1] for c in rows], dtype=np.int64),
            category=np.array([c[2] for c in rows], dtype=object),
            earned=np.array([c[3].toordinal() for c in rows], dtype=np.int64),
            expires=np.array([c[4].toordinal() if c[4] else FAR for c in rows], dtype=np.int64),
        )

    def matching(self, fkey: str) -> np.ndarray:
        """Certifications matching a filter key (category, type)."""
        mask = np.ones(len(self.rep), dtype=bool)
        for key, value in parse_filter_key(fkey).items():
            if key == "category":
                mask &= self.category == value
            elif key == "type":
                mask &= self.type.astype(str) == value
        return mask

    def held(self, fkey: str, rep: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether each rep held a valid certification matching the filter on each day."""
        mask = self.matching(fkey) & (self.rep >= 0)
        if not mask.any():
            return np.zeros(np.broadcast(rep, day).shape, dtype=bool)
        c_rep, earned, expires = self.rep[mask], self.earned[mask], self.expires[mask]
        order = np.lexsort((earned, c_rep))
        c_rep, earned, expires = c_rep[order], earned[order], expires[order]
        key = c_rep * BIG + earned
        # Running maximum of the expiry within each rep's block (blocks sorted by rep, so offsets keep them apart).
        best = np.maximum.accumulate(c_rep * BIG + expires)
        i = np.searchsorted(key, rep * BIG + day, side="right") - 1
        ic = np.clip(i, 0, None)
        return (rep >= 0) & (i >= 0) & (c_rep[ic] == rep) & (best[ic] - rep * BIG >= day)
