"""Génère le parc FICTIF de logements de la démo Flux (un CSV par bailleur).

Usage, depuis la racine du dépôt :

    python conventions/demo/generate_dwellings.py

Bibliothèque standard uniquement, graine fixe : deux exécutions produisent
exactement les mêmes fichiers. Le territoire (communes, QPV) et la liste des
bailleurs sont lus dans ``territory.toml`` et ``organisations.toml`` ; seuls les
paramètres de répartition ci-dessous sont propres à ce script.

Sortie : ``conventions/demo/dwellings-<code bailleur>.csv``, UTF-8, séparateur
``;``, en-tête ``rpls_id;commune;qpv;typology;financing;construction_year;out_of_flux``
puis les colonnes facultatives de ce qu'un réservataire lit pour choisir ses candidats
(adresse, étage, surface, pièces, loyer, charges, PMR, ascenseur, contact), tirées par un
second générateur : les colonnes obligatoires restent celles des versions précédentes.
"""

from __future__ import annotations

import csv
import random
import sys
import tomllib
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 31_2025
HEADER = ["rpls_id", "commune", "qpv", "typology", "financing", "construction_year", "out_of_flux"]
DETAILS = ["address", "floor", "surface", "rooms", "rent", "charges", "pmr", "lift"]
DETAILS += ["landlord_contact"]
STREETS = [
    "rue des Lilas", "rue Pasteur", "avenue Jean-Jaurès", "rue de la République",
    "allée des Platanes", "rue Victor-Hugo", "chemin du Moulin", "rue des Écoles",
    "place du Marché", "rue Gambetta", "impasse des Tilleuls", "boulevard de la Garonne",
    "rue Émile-Zola", "rue du Lauragais", "avenue de Toulouse", "rue des Violettes",
]
SURFACE = {"T1": (24, 33), "T2": (42, 52), "T3": (58, 70), "T4": (72, 86), "T5": (88, 102)}
SURFACE["T6+"] = (104, 125)
RENT_PER_M2 = {"PLAI": (5.2, 5.9), "PLUS": (5.8, 6.6), "PLS": (8.4, 9.6), "PLI": (10.0, 11.5)}
RENT_PER_M2["autre"] = (6.0, 7.0)

# Taille du parc et poids relatifs par commune (code INSEE), par bailleur.
LANDLORDS: dict[str, dict] = {
    "oph-demo-garonne": {
        "size": 3000,
        "prefix": "G",
        "communes": {
            "31555": 55,
            "31149": 6,
            "31069": 5,
            "31157": 4,
            "31557": 4,
            "31044": 3,
            "31506": 2,
            "31561": 2,
            "31488": 2,
            "31116": 2,
            "31588": 2,
            "31022": 2,
            "31282": 1.5,
            "31395": 4,
            "31433": 1.5,
            "31446": 2,
            "31113": 2,
        },
    },
    "esh-demo-pastel": {
        "size": 2000,
        "prefix": "P",
        "communes": {
            "31555": 40,
            "31149": 10,
            "31069": 8,
            "31157": 5,
            "31557": 6,
            "31044": 4,
            "31506": 3,
            "31561": 3,
            "31395": 8,
            "31547": 2,
            "31187": 2,
            "31433": 3,
            "31446": 3,
            "31113": 2,
            "31254": 1,
        },
    },
    "coop-demo-lauragais": {
        "size": 1000,
        "prefix": "L",
        "communes": {
            "31395": 25,
            "31433": 8,
            "31547": 8,
            "31187": 8,
            "31446": 15,
            "31113": 12,
            "31254": 6,
            "31555": 10,
            "31157": 4,
            "31588": 4,
        },
    },
}

# Poids relatifs des QPV à l'intérieur de leur commune (défaut : 1).
QPV_WEIGHTS = {
    # Toulouse
    "QP031007": 55,
    "QP031010": 18,
    "QP031011": 15,
    "QP031006": 12,
    # Colomiers
    "QP031005": 65,
    "QP031016": 35,
    # Muret
    "QP031001": 60,
    "QP031002": 40,
}
QPV_SHARE = (0.25, 0.35)  # part du parc en QPV, par bailleur × commune dotée de QPV

TYPOLOGY = {
    False: {"T1": 6, "T2": 22, "T3": 36, "T4": 26, "T5": 8, "T6+": 2},
    True: {"T1": 4, "T2": 16, "T3": 36, "T4": 30, "T5": 11, "T6+": 3},  # en QPV
}
# Financement selon l'époque : PLAI/PLS surtout dans la production récente.
FINANCING = {
    "recent": {"PLAI": 32, "PLUS": 40, "PLS": 22, "PLI": 4, "autre": 2},  # >= 2000
    "ancien": {"PLAI": 12, "PLUS": 74, "PLS": 2, "PLI": 3, "autre": 9},  # < 2000
}
# Tranches d'années de construction (bornes incluses) et poids.
YEARS = {
    True: {
        (1955, 1959): 6,
        (1960, 1969): 38,
        (1970, 1979): 34,
        (1980, 1989): 8,
        (1990, 1999): 5,
        (2000, 2009): 4,
        (2010, 2019): 4,
        (2020, 2025): 1,
    },
    False: {
        (1955, 1969): 8,
        (1970, 1979): 12,
        (1980, 1989): 14,
        (1990, 1999): 16,
        (2000, 2009): 20,
        (2010, 2019): 22,
        (2020, 2025): 8,
    },
}
OUT_OF_FLUX_RATE = 0.03
OUT_OF_FLUX = {
    "stock_defense": 25,
    "stock_securite_interieure": 20,
    "stock_sante": 10,
    "foyer": 25,
    "non_conventionne": 20,
}
BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def pick(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def apportion(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Répartit exactement ``total`` selon ``weights`` (plus forts restes)."""
    norm = sum(weights.values())
    raw = {k: total * w / norm for k, w in weights.items()}
    counts = {k: int(v) for k, v in raw.items()}
    rest = total - sum(counts.values())
    for k in sorted(raw, key=lambda k: (counts[k] - raw[k], k))[:rest]:
        counts[k] += 1
    return counts


def base36(n: int, width: int) -> str:
    digits = []
    for _ in range(width):
        n, r = divmod(n, 36)
        digits.append(BASE36[r])
    return "".join(reversed(digits))


def dwelling_details(rng: random.Random, landlord: str, row: list) -> list:
    """Adresse, étage, surface, pièces, loyer et charges (deux décimales), PMR, ascenseur,
    contact du bailleur : fictifs, plausibles pour la typologie et le financement."""
    _, _, _, typology, financing, year, _ = row
    address = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
    floor = rng.choice([0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8])
    lo, hi = SURFACE[typology]
    surface = rng.randint(lo * 100, hi * 100)  # centièmes de m²
    rate_lo, rate_hi = RENT_PER_M2[financing]
    rent = round(surface * rng.uniform(rate_lo, rate_hi))  # centimes : m² × €/m²
    charges = round(surface * rng.uniform(1.2, 2.0))
    lift = floor >= 3 or (year >= 2000 and floor >= 1)
    pmr = floor == 0 and year >= 2000 and rng.random() < 0.5
    rooms = 6 if typology == "T6+" else int(typology[1])
    contact = f"attributions@{landlord}.demo.example"

    def two(hundredths: int) -> str:
        return f"{hundredths // 100},{hundredths % 100:02d}"

    yes = {True: "oui", False: "non"}
    return [address, floor, two(surface), rooms, two(rent), two(charges), yes[pmr], yes[lift],
            contact]


def load() -> tuple[dict, list[str]]:
    with open(HERE / "territory.toml", "rb") as f:
        territory = tomllib.load(f)
    with open(HERE / "organisations.toml", "rb") as f:
        organisations = tomllib.load(f)
    landlords = [o["code"] for o in organisations["organisation"] if o["kind"] == "landlord"]
    return territory, landlords


def main() -> int:
    territory, landlords = load()
    communes = {c["insee"]: c["name"] for c in territory["commune"]}
    qpv_by_commune: dict[str, list[str]] = {}
    for q in territory["qpv"]:
        for insee in q["communes"]:
            qpv_by_commune.setdefault(insee, []).append(q["code"])

    if sorted(landlords) != sorted(LANDLORDS):
        sys.exit(f"bailleurs de organisations.toml {landlords} != paramètres {sorted(LANDLORDS)}")
    for code, params in LANDLORDS.items():
        unknown = set(params["communes"]) - set(communes)
        if unknown:
            sys.exit(f"{code} : communes absentes de territory.toml : {sorted(unknown)}")

    rng = random.Random(SEED)
    total = sum(p["size"] for p in LANDLORDS.values())
    numbers = iter(rng.sample(range(36**9), total))  # identifiants uniques au global

    stats = Counter()
    for code in landlords:  # ordre du fichier organisations.toml
        params = LANDLORDS[code]
        rows = []
        for insee, n in apportion(params["size"], params["communes"]).items():
            qpvs = qpv_by_commune.get(insee, [])
            n_qpv = round(n * rng.uniform(*QPV_SHARE)) if qpvs else 0
            per_qpv = apportion(n_qpv, {q: QPV_WEIGHTS.get(q, 1) for q in qpvs}) if n_qpv else {}
            slots = [q for q, k in per_qpv.items() for _ in range(k)] + [""] * (n - n_qpv)
            for qpv in slots:
                in_qpv = bool(qpv)
                lo, hi = pick(rng, YEARS[in_qpv])
                year = rng.randint(lo, hi)
                financing = pick(rng, FINANCING["recent" if year >= 2000 else "ancien"])
                if in_qpv and financing == "PLI":  # pas de logement intermédiaire en QPV
                    financing = "PLUS"
                typology = pick(rng, TYPOLOGY[in_qpv])
                out = pick(rng, OUT_OF_FLUX) if rng.random() < OUT_OF_FLUX_RATE else ""
                if out == "foyer":
                    typology = rng.choice(["T1", "T1", "T2"])
                rpls_id = params["prefix"] + base36(next(numbers), 9)
                rows.append([rpls_id, insee, qpv, typology, financing, year, out])
                stats[(code, insee)] += 1
                stats["qpv" if in_qpv else "hors_qpv"] += 1
                stats[("typology", typology)] += 1
                stats[("financing", financing)] += 1
                stats[("out", bool(out))] += 1
        rows.sort(key=lambda r: (r[1], r[0]))
        details = random.Random(f"{SEED}-{code}")  # its own draws: the columns above stay
        rows = [row + dwelling_details(details, code, row) for row in rows]
        path = HERE / f"dwellings-{code}.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, delimiter=";", lineterminator="\n")
            writer.writerow(HEADER + DETAILS)
            writer.writerows(rows)
        print(f"{path.relative_to(HERE.parent.parent)} : {len(rows)} logements")

    print(f"total : {total} logements, dont {stats['qpv']} en QPV")
    for key in ("typology", "financing"):
        shares = {k[1]: v for k, v in stats.items() if isinstance(k, tuple) and k[0] == key}
        parts = [f"{k} {100 * v / total:.1f} %" for k, v in sorted(shares.items())]
        print(f"{key} : " + ", ".join(parts))
    print(f"hors flux : {100 * stats[('out', True)] / total:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
