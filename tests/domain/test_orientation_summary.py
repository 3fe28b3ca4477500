"""The orientation in one French sentence (issue 11 item 3)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from flux.domain.orientation_summary import (
    Override,
    SubLine,
    SummaryLine,
    dwellings,
    from_payload,
    summarize,
)


def line(share, label, deficit, subs=(), **kw) -> SummaryLine:
    priority = Fraction(deficit + sum(s.deficit for s in subs), 1 + len(subs)) if subs else deficit
    return SummaryLine(share, label, deficit, Fraction(priority), subs=tuple(subs), **kw)


def test_the_sentence_names_the_share_furthest_behind_and_the_next():
    text = summarize(
        [line(1, "Salariés", 15_000), line(2, "Ville", 6_000), line("landlord", "", 3_000)], 1
    )
    assert text == (
        "Orienté vers « Salariés » : la part la plus en retard sur son dû (1,50 logement), "
        "devant « Ville » (0,60)."
    )


def test_when_a_sub_target_decided_the_sentence_names_it_and_the_mean_it_used():
    # The État shows the larger backlog (1.00) but ranks by the mean of its global deficit and
    # its deficit in the commune (0.98): the landlord part (0.99) wins.
    etat = line(1, "Publics prioritaires", 10_000, subs=[SubLine("commune:31555", 9_600)])
    text = summarize([etat, line("landlord", "", 9_900)], "landlord")
    assert text.startswith(
        "Orienté vers la part non réservée du bailleur : la part la plus en retard sur son dû "
        "(0,99 logement) ; « Publics prioritaires » affiche un retard global plus grand (1,00)"
    )
    assert "la moyenne de ses retards (global 1,00, dans la commune 31555 0,96), soit 0,98" in text


def test_a_winner_with_a_sub_target_is_explained_by_its_mean():
    etat = line(1, "Publics prioritaires", 8_000, subs=[SubLine("commune:31555", 12_000)])
    text = summarize([etat, line(2, "Salariés", 9_000)], 1)
    assert "classée, parce qu'elle a un sous-objectif, par la moyenne de ses retards" in text
    assert "soit 1,00 logement" in text


def test_a_tie_says_the_fixed_order_decided():
    text = summarize([line(1, "A", 5_000), line(2, "B", 5_000)], 1)
    assert "à égalité avec « B »" in text and "ordre fixe" in text


def test_an_override_says_by_whom_and_why():
    text = summarize(
        [line(1, "Salariés", 15_000), line(2, "Ville", 6_000)],
        2,
        override=Override("le bailleur", "logement adapté PMR", 1),
    )
    assert text == (
        "Orienté vers « Ville » par le bailleur, qui a dérogé à la proposition (« Salariés ») "
        "pour le motif : « logement adapté PMR »."
    )


def test_the_sentence_reads_a_recorded_payload():
    payload = {
        "chosen": 3,
        "proposed": 3,
        "override": False,
        "rule": "largest_deficit",
        "explanation": [
            {"share": 3, "deficit": 5000, "priority": "5000", "sub_deficits": []},
            {"share": "landlord", "deficit": 3000, "priority": "3000", "sub_deficits": []},
        ],
    }
    text = from_payload(payload, {3: {"label": "Salariés"}})
    assert text.startswith("Orienté vers « Salariés »")
    # A reserver that sees only its own share reads no one else's figures.
    assert "non réservée" not in from_payload(payload, {3: {"label": "S"}}, visible={3})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-30_000, 30_000), min_size=1, max_size=6))
def test_every_decision_of_the_largest_deficit_reads_as_one_sentence(deficits):
    lines = [line(i + 1, f"P{i + 1}", d) for i, d in enumerate(deficits)]
    chosen = max(lines, key=lambda ln: ln.priority).share
    text = summarize(lines, chosen)
    assert text.startswith(f"Orienté vers « P{chosen} »") and text.endswith(".")
    assert dwellings(lines[chosen - 1].deficit) in text
