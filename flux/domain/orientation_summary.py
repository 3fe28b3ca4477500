"""The orientation in words: one French sentence saying which share a vacancy went to and why.

Built from the decision as recorded (its explanation lines, the proposal, an override and its
reason), never from the live state: the sentence of an old decision never changes. Plain data
in, one string out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

FULL = 10_000  # units per dwelling
LANDLORD = "landlord"


@dataclass(frozen=True)
class SubLine:
    key: str  # "commune:31555", "typology:T3", "qpv:in" / "qpv:out"
    deficit: int  # units


@dataclass(frozen=True)
class SummaryLine:
    share: int | str  # share id or "landlord"
    label: str
    deficit: int  # units
    priority: Fraction  # what the rule ranked by
    candidate: bool = True
    deadline: int | None = None  # Tijdeman's rule only
    subs: tuple[SubLine, ...] = ()


@dataclass(frozen=True)
class Override:
    by: str  # « le bailleur », « un administrateur »...
    reason: str
    proposed: int | str


def dwellings(units: int | Fraction) -> str:
    """Units as dwellings in French writing: 15000 -> "1,50"."""
    value = Decimal(Fraction(units).numerator) / Decimal(Fraction(units).denominator) / FULL
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}".replace(".", ",")


def key_words(key: str) -> str:
    """A sub-target key in words: "commune:31555" -> "dans la commune 31555"."""
    kind, _, value = key.partition(":")
    if kind == "commune":
        return f"dans la commune {value}"
    if kind == "typology":
        return f"pour la typologie {value}"
    if kind == "qpv":
        return "en QPV" if value == "in" else "hors QPV"
    return f"pour {key}"


def _name(line: SummaryLine) -> str:
    return "la part non réservée du bailleur" if line.share == LANDLORD else f"« {line.label} »"


def _mean_words(line: SummaryLine) -> str:
    parts = [f"global {dwellings(line.deficit)}"] + [
        f"{key_words(sub.key)} {dwellings(sub.deficit)}" for sub in line.subs
    ]
    return (
        f"la moyenne de ses retards ({', '.join(parts)}), soit {dwellings(line.priority)} logement"
    )


def summarize(
    lines: Sequence[SummaryLine],
    chosen: int | str,
    *,
    rule: str = "largest_deficit",
    override: Override | None = None,
) -> str:
    """One sentence: the share chosen and why (largest deficit; the sub-target and the mean it
    used when one decided; Tijdeman's deadline; or an override, by whom and why)."""
    by_share = {line.share: line for line in lines}
    winner = by_share.get(chosen)
    if winner is None:  # a reserver reading a vacancy now held by someone else's share
        return "Orienté vers une part dont les chiffres ne vous sont pas communiqués."
    if override is not None:
        proposed = by_share.get(override.proposed)
        proposal = _name(proposed) if proposed else "une autre part"
        return (
            f"Orienté vers {_name(winner)} par {override.by}, qui a dérogé à la proposition "
            f"({proposal}) pour le motif : « {override.reason} »."
        )
    others = [line for line in lines if line.share != chosen and line.candidate]
    if rule == "tijdeman_deadline" and winner.deadline is not None:
        return (
            f"Orienté vers {_name(winner)} selon la règle de Tijdeman : c'est la part dont "
            f"l'échéance est la plus proche ({winner.deadline} libération(s) avant de sortir de "
            "sa borne si elle n'est pas servie)."
        )
    sentence = f"Orienté vers {_name(winner)} : "
    if winner.subs:
        sentence += (
            "la part la plus en retard sur son dû, classée, parce qu'elle a un sous-objectif, "
            f"par {_mean_words(winner)}"
        )
    else:
        sentence += f"la part la plus en retard sur son dû ({dwellings(winner.deficit)} logement)"
    # A share that shows a larger backlog but lost because the rule ranked it by a mean.
    beaten = [o for o in others if o.deficit > winner.deficit and o.subs]
    if beaten:
        loser = max(beaten, key=lambda o: o.deficit)
        sentence += (
            f" ; {_name(loser)} affiche un retard global plus grand "
            f"({dwellings(loser.deficit)}) mais, ayant un sous-objectif, elle est classée par "
            f"{_mean_words(loser)}"
        )
    elif others:
        runner = max(others, key=lambda o: o.priority)
        if runner.priority == winner.priority:
            sentence += (
                f", à égalité avec {_name(runner)} : l'ordre fixe des parts départage "
                "(la plus petite référence, la part non réservée en dernier)"
            )
        else:
            sentence += f", devant {_name(runner)} ({dwellings(runner.priority)})"
    return sentence + "."


def _fraction(value: int | str) -> Fraction:
    """A recorded priority ("2500", "-7/2" or an integer) as a fraction; integers and "a/b"
    are read without Fraction's string parser (ten times slower, and a list reads thousands)."""
    if isinstance(value, int):
        return Fraction(value)
    numerator, _, denominator = value.partition("/")
    if numerator.removeprefix("-").isascii() and numerator.removeprefix("-").isdigit():
        if not denominator:
            return Fraction(int(numerator))
        if denominator.isascii() and denominator.isdigit() and denominator.strip("0"):
            return Fraction(int(numerator), int(denominator))
    return Fraction(value)  # any other spelling, as Fraction reads it (or refuses it)


def from_payload(
    payload: dict, labels: dict, visible: set | None = None, by: str = "le bailleur"
) -> str:
    """The sentence of a recorded orientation (its journal payload), with share labels; with
    `visible`, only those shares' lines are read (a reserver sees no one else's figures)."""
    lines = []
    for line in payload.get("explanation", []):
        share = line["share"]
        if visible is not None and share not in visible:
            continue
        lines.append(
            SummaryLine(
                share=share,
                label=labels.get(share, {}).get("label", str(share)),
                deficit=line["deficit"],
                priority=_fraction(line.get("priority", line["deficit"])),
                candidate=line.get("candidate", True),
                deadline=line.get("deadline"),
                subs=tuple(SubLine(s["key"], s["deficit"]) for s in line.get("sub_deficits", [])),
            )
        )
    override = None
    if payload.get("override"):
        override = Override(by, payload.get("reason") or "", payload.get("proposed"))
    return summarize(lines, payload["chosen"], rule=payload.get("rule", ""), override=override)


__all__ = [
    "from_payload",
    "Override",
    "SubLine",
    "SummaryLine",
    "dwellings",
    "key_words",
    "summarize",
]
