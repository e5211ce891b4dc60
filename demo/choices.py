"""The models' choice values the demo writes, as string enums (``StrEnum``: each member is its value).

Spelled out here so that the plan needs no Django; ``tests/demo/test_data.py`` checks them against the
models' choices.
"""

from __future__ import annotations

from enum import StrEnum


class CertificationCategory(StrEnum):  # people.models.CertificationCategory
    PRODUCT = "product"
    INDUSTRY = "industry"
    CUSTOMER_INDUSTRY = "customer_industry"


class ProgramKind(StrEnum):  # people.models.ProgramKind
    DIVERSITY = "diversity"
    CAREER_MOVEMENT = "career_movement"
    HIGH_POTENTIAL = "high_potential"
    EDUCATION = "education"
    TRAINING = "training"


class Stage(StrEnum):  # sales.models.Stage
    PROSPECTING = "prospecting"
    QUALIFYING = "qualifying"
    ENGAGING = "engaging"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"


class Channel(StrEnum):  # sales.models.Channel
    DIRECT = "direct"
    PARTNER = "partner"


class Poc(StrEnum):  # sales.models.Poc
    NONE = "none"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"


class NoteKind(StrEnum):  # kpis.models.NoteKind
    COMMENT = "comment"
    COACHING = "coaching"
    ACTION = "action"
