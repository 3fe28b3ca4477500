"""The allocation engine's vocabulary: units, participants, vacancies, state and decisions.

See ``flux.domain.allocation`` for the rules and the invariants; this module only holds data.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import Any, Final, Literal, TypeAlias

from flux.domain.errors import DomainError

FULL: Final = 10_000
LANDLORD: Final = "landlord"
ShareRef: TypeAlias = int | Literal["landlord"]

RULE_VERSION: Final = "1"


class Rule(enum.Enum):
    """The per-scope choice of allocation rule; the value is stored with every decision."""

    LARGEST_DEFICIT = "largest_deficit"
    TIJDEMAN = "tijdeman_deadline"


RULE_NAME: Final = Rule.LARGEST_DEFICIT.value
TIJDEMAN_RULE_NAME: Final = Rule.TIJDEMAN.value


class AllocationError(DomainError):
    """A request the allocation engine refuses; the message (French) carries the figures."""


def _figure(value: Hashable) -> str | int:
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


class NotEligible(AllocationError):
    """The share is not among the participants of the vacancy."""

    def __init__(self, vacancy_id: Hashable, share: ShareRef) -> None:
        super().__init__(
            f"Le droit {share} n'est pas éligible au logement libéré {vacancy_id}.",
            {"vacancy": _figure(vacancy_id), "share": share},
        )
        self.vacancy_id = vacancy_id
        self.share = share


class DeductedVacancy(AllocationError):
    """A deducted vacancy is outside the flux base and never oriented."""

    def __init__(self, vacancy_id: Hashable, deduction: str) -> None:
        super().__init__(
            f"Le logement libéré {vacancy_id} est soustrait du flux ({deduction}) : "
            "il n'est orienté vers aucun droit.",
            {"vacancy": _figure(vacancy_id), "deduction": deduction},
        )
        self.vacancy_id = vacancy_id
        self.deduction = deduction


class RuleNotApplicable(AllocationError):
    """The scope's rule cannot rank this vacancy (Tijdeman's rule knows no sub-target)."""


def order_key(share: ShareRef) -> tuple[int, int]:
    """The fixed tie-break order: share id ascending, the landlord part after every share."""
    if isinstance(share, int):
        return (0, share)
    return (1, 0)


@dataclass(frozen=True, slots=True)
class EligibleShare:
    """A share eligible for one vacancy, with the basis points in force on the vacancy's date.

    ``sub_keys`` name the sub-targets the share must also be balanced over, each being this
    vacancy's value for that dimension (``"commune:35238"``, ``"typology:T3"``, ``"qpv:in"``).
    """

    share_id: int
    basis_points: int
    sub_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.share_id, bool) or not isinstance(self.share_id, int):
            raise AllocationError(f"Identifiant de droit invalide : {self.share_id!r}.")
        if isinstance(self.basis_points, bool) or not isinstance(self.basis_points, int):
            raise AllocationError(
                f"Droit {self.share_id} : pourcentage en points de base entiers attendu, "
                f"reçu {self.basis_points!r}."
            )
        if not 0 <= self.basis_points <= FULL:
            raise AllocationError(
                f"Droit {self.share_id} : {self.basis_points} points de base hors de 0 à {FULL}.",
                {"share": self.share_id, "basis_points": self.basis_points},
            )
        keys = tuple(sorted(set(self.sub_keys)))
        if len(keys) != len(self.sub_keys):
            raise AllocationError(f"Droit {self.share_id} : sous-objectif répété.")
        object.__setattr__(self, "sub_keys", keys)


# (share, weight in bp, sub-target keys), in the fixed order.
Participant: TypeAlias = tuple[ShareRef, int, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Vacancy:
    """A vacancy as the engine sees it: its id, its eligible shares, and any deduction reason."""

    vacancy_id: Hashable
    shares: tuple[EligibleShare, ...] = ()
    deduction: str | None = None
    participants: tuple[Participant, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shares = tuple(sorted(self.shares, key=lambda s: s.share_id))
        ids = [s.share_id for s in shares]
        # A vacancy being logged has no number yet: never "Logement libéré None".
        name = (
            "Ce logement libéré"
            if self.vacancy_id is None
            else f"Logement libéré n° {self.vacancy_id}"
        )
        if len(set(ids)) != len(ids):
            raise AllocationError(f"{name} : un droit figure deux fois.")
        reserved = sum(s.basis_points for s in shares)
        if reserved > FULL:
            raise AllocationError(
                f"{name} : les droits éligibles totalisent "
                f"{reserved} points de base, plus de 100 %.",
                {"vacancy": _figure(self.vacancy_id), "basis_points": reserved},
            )
        listed: list[Participant] = [(s.share_id, s.basis_points, s.sub_keys) for s in shares]
        listed.append((LANDLORD, FULL - reserved, ()))
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "participants", tuple(listed))

    @property
    def landlord_basis_points(self) -> int:
        """The landlord's non-reserved part on this vacancy (100 % minus the eligible shares)."""
        return self.participants[-1][1]

    def keys_of(self, share: ShareRef) -> tuple[str, ...]:
        """The sub-target keys of ``share`` on this vacancy; raises NotEligible if absent."""
        for ref, _, keys in self.participants:
            if ref == share:
                return keys
        raise NotEligible(self.vacancy_id, share)


@dataclass
class AllocationState:
    """The counters of one scope and year; mutated in place by ``apply`` and its siblings.

    ``targets`` are allocation-only (Σ of basis points); ``carry_in`` is the opening balance per
    share in the same units (a gap of −8 dwellings last year gives +80 000).
    """

    rule: Rule = Rule.LARGEST_DEFICIT
    carry_in: dict[ShareRef, int] = field(default_factory=dict)
    targets: dict[ShareRef, int] = field(default_factory=dict)
    realised: dict[ShareRef, int] = field(default_factory=dict)
    eligible: dict[ShareRef, int] = field(default_factory=dict)
    sub_targets: dict[tuple[ShareRef, str], int] = field(default_factory=dict)
    sub_realised: dict[tuple[ShareRef, str], int] = field(default_factory=dict)
    sub_eligible: dict[tuple[ShareRef, str], int] = field(default_factory=dict)

    def deficit(self, share: ShareRef) -> int:
        """``T_i + carry-in − FULL·x_i``: how far the share is behind its due, in units."""
        owed = self.targets.get(share, 0) + self.carry_in.get(share, 0)
        return owed - FULL * self.realised.get(share, 0)

    def sub_deficit(self, share: ShareRef, key: str) -> int:
        """The same deficit over the vacancies of one sub-target key only (no carry-in)."""
        pair = (share, key)
        return self.sub_targets.get(pair, 0) - FULL * self.sub_realised.get(pair, 0)

    def shares(self) -> list[ShareRef]:
        """Every share the state has seen or carries in, in the fixed order."""
        return sorted(self.targets.keys() | self.carry_in.keys(), key=order_key)

    def copy(self) -> AllocationState:
        """An independent copy (to try a decision without touching the scope's state)."""
        return AllocationState(
            self.rule,
            dict(self.carry_in),
            dict(self.targets),
            dict(self.realised),
            dict(self.eligible),
            dict(self.sub_targets),
            dict(self.sub_realised),
            dict(self.sub_eligible),
        )


def invariant_residual(state: AllocationState) -> int:
    """``Σ_i (FULL·x_i − T_i)`` over allocation-only terms: 0 after every complete operation."""
    total_realised = sum(state.realised.values())
    return FULL * total_realised - sum(state.targets.values())


# Not frozen (but hashed as if): a frozen dataclass sets each field through
# object.__setattr__, which made building the explanation most of a decision's cost.
# Treat as immutable.
@dataclass(slots=True, unsafe_hash=True)
class SubDeficit:
    """One sub-target of a share at the moment of a decision, in units."""

    key: str
    target: int
    realised: int
    deficit: int


# Not frozen (but hashed as if): a frozen dataclass sets each field through
# object.__setattr__, which made building the explanation most of a decision's cost.
# Treat as immutable.
@dataclass(slots=True, unsafe_hash=True)
class ExplanationLine:
    """One participant's figures at the moment of a decision, in units (FULL == one dwelling).

    ``target`` includes this vacancy's basis points and the carry-in; ``priority`` is the figure
    the rule ranks by: the deficit, or for a share with sub-targets the mean of its deficit and
    sub-deficits (a ``Fraction``, exact); ``deadline`` (Tijdeman's rule only) is the
    number of further vacancies after which the share, unserved, would leave its bound (0: this
    one); ``candidate`` is false for a share that may not receive this vacancy.
    """

    share_id: ShareRef
    basis_points: int
    carry_in: int
    target: int
    realised: int
    deficit: int
    sub_deficits: tuple[SubDeficit, ...]
    priority: int | Fraction
    candidate: bool
    deadline: int | None = None


# One participant's figures as largest deficit first captures them for a decision: (share,
# weight, carry-in, target, realised, deficit, sub-deficits, the priority's numerator and
# denominator); the sub-deficits are already the dicts the journal records, one per key
# ({"key", "target", "realised", "deficit"}, in that order), or () for a share without any.
Figures: TypeAlias = tuple[
    ShareRef, int, int, int, int, int, "list[dict[str, Any]] | tuple[()]", int, int
]


class Decision:
    """A proposal with its explanation: every participant's figures and the share chosen.

    ``taken_from`` is set when the decision re-orients a vacancy whose share was re-credited.
    Largest deficit first gives either the figures it ranked by (``figures``, see
    ``Figures``: ``orient``, whose callers mostly want the choice only), from which the
    explanation is written when first asked for, or the explanation already written as the
    journal records it (``payload``: ``propose``, whose callers record it). The lines
    (``ExplanationLine`` objects) are built from either on first read. Tijdeman's rule gives
    the lines.
    """

    __slots__ = (
        "vacancy_id",
        "chosen",
        "rule_name",
        "rule_version",
        "taken_from",
        "_lines",
        "_figures",
        "_payload",
    )

    def __init__(
        self,
        vacancy_id: Hashable,
        chosen: ShareRef,
        rule_name: str,
        rule_version: str,
        lines: tuple[ExplanationLine, ...] | None = None,
        taken_from: ShareRef | None = None,
        figures: list[Figures] | None = None,
        *,
        payload: list[dict[str, Any]] | None = None,
    ) -> None:
        if lines is None and figures is None and payload is None:
            raise ValueError("a decision needs its lines, its figures or its explanation")
        self.vacancy_id = vacancy_id
        self.chosen = chosen
        self.rule_name = rule_name
        self.rule_version = rule_version
        self.taken_from = taken_from
        self._lines = lines
        self._figures = figures
        self._payload = payload

    @property
    def lines(self) -> tuple[ExplanationLine, ...]:
        """Every participant's figures at the moment of the decision, in the fixed order."""
        if self._lines is None:
            if self._figures is not None:
                self._lines = figures_lines(self._figures, self.taken_from)
            else:
                self._lines = payload_lines(self._payload)
        return self._lines

    def explanation_payload(self) -> list[dict[str, Any]]:
        """The explanation as the journal records it (plain lists, dicts, ints and strings):
        written straight from the figures captured at decision time when the rule kept them,
        without building the lines; else from the lines. Both give the same structure.

        Built once: every call returns the same list, which callers must not modify (the
        journal stores it; the refold check compares with it)."""
        if self._payload is None:
            if self._figures is not None:
                self._payload = figures_payload(self._figures, self.taken_from)
            else:
                self._payload = lines_payload(self.lines)
        return self._payload

    def _key(self) -> tuple:
        return (
            self.vacancy_id,
            self.chosen,
            self.rule_name,
            self.rule_version,
            self.lines,
            self.taken_from,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Decision(vacancy_id={self.vacancy_id!r}, chosen={self.chosen!r}, "
            f"rule_name={self.rule_name!r}, rule_version={self.rule_version!r}, "
            f"lines={self.lines!r}, taken_from={self.taken_from!r})"
        )

    def line(self, share: ShareRef) -> ExplanationLine:
        """The figures of one participant; raises KeyError if it was not eligible."""
        for line in self.lines:
            if line.share_id == share:
                return line
        raise KeyError(share)


def lines_payload(lines: Iterable[ExplanationLine]) -> list[dict[str, Any]]:
    """Explanation lines as the journal records them (the priority as its exact text)."""
    return [
        {
            "share": line.share_id,
            "basis_points": line.basis_points,
            "carry_in": line.carry_in,
            "target": line.target,
            "realised": line.realised,
            "deficit": line.deficit,
            "priority": str(line.priority),
            "candidate": line.candidate,
            "deadline": line.deadline,
            "sub_deficits": [
                {"key": s.key, "target": s.target, "realised": s.realised, "deficit": s.deficit}
                for s in line.sub_deficits
            ],
        }
        for line in lines
    ]


def payload_lines(payload: Iterable[dict[str, Any]]) -> tuple[ExplanationLine, ...]:
    """The lines of a recorded explanation (the inverse of ``lines_payload``): the priority is
    computed again from the deficits, exactly (the mean, a ``Fraction``, for a share with
    sub-targets)."""
    lines = []
    for item in payload:
        deficit = item["deficit"]
        subs = tuple(
            SubDeficit(sub["key"], sub["target"], sub["realised"], sub["deficit"])
            for sub in item["sub_deficits"]
        )
        priority: int | Fraction = deficit
        if subs:
            priority = Fraction(deficit + sum(sub.deficit for sub in subs), 1 + len(subs))
        lines.append(
            ExplanationLine(
                item["share"],
                item["basis_points"],
                item["carry_in"],
                item["target"],
                item["realised"],
                deficit,
                subs,
                priority,
                item["candidate"],
                item["deadline"],
            )
        )
    return tuple(lines)


def figures_payload(
    figures: Iterable[Figures], taken_from: ShareRef | None
) -> list[dict[str, Any]]:
    """The recorded explanation written straight from a decision's figures: the same as
    ``lines_payload(figures_lines(figures, taken_from))``, without building the lines."""
    payload = []
    append = payload.append
    for share, weight, carry, target, real, deficit, subs, num, den in figures:
        if den == 1:
            priority, subs = str(num), []
        elif den == 2:  # one sub-target key: the common case
            priority = f"{num}/2" if num & 1 else str(num >> 1)
        else:
            priority = fraction_text(num, den)
        append(
            {
                "share": share,
                "basis_points": weight,
                "carry_in": carry,
                "target": target,
                "realised": real,
                "deficit": deficit,
                "priority": priority,
                "candidate": share != taken_from,
                "deadline": None,
                "sub_deficits": subs,
            }
        )
    return payload


def figures_lines(
    figures: Iterable[Figures], taken_from: ShareRef | None
) -> tuple[ExplanationLine, ...]:
    """A decision's lines from its figures (the priority a ``Fraction`` for a mean)."""
    return tuple(
        ExplanationLine(
            share,
            weight,
            carry,
            target,
            real,
            deficit,
            tuple(SubDeficit(s["key"], s["target"], s["realised"], s["deficit"]) for s in subs)
            if subs
            else (),
            num if den == 1 else Fraction(num, den),
            share != taken_from,
        )
        for share, weight, carry, target, real, deficit, subs, num, den in figures
    )


def fraction_text(num: int, den: int) -> str:
    """``str(Fraction(num, den))`` without building the fraction (den > 0)."""
    if den == 2:  # one sub-target key: the common case
        return f"{num}/2" if num & 1 else str(num >> 1)
    divisor = gcd(num, den)
    if divisor != 1:
        num, den = num // divisor, den // divisor
    return str(num) if den == 1 else f"{num}/{den}"
