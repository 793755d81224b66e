"""The true values of the population: counts and prevalences nationally, by group,
by sector, by form of forced labour, the stock, and the children's categories (the
``populations`` entry of ``truth.json``; layout in :mod:`flestimate.simulation`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flestimate.simulation.parameters import (
    AGE_GROUP_LABELS,
    FORM_NAMES,
    MIGRANT_LABELS,
    SECTOR_LABELS,
    SECTORS,
    SEX_LABELS,
    URBAN_LABELS,
)
from flestimate.simulation.population import age_group_codes


def _cell(pop: int, k: int, label: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {} if label is None else {"label": label}
    out["population"] = int(pop)
    out["fl"] = int(k)
    out["prevalence_per_1000"] = 1000.0 * int(k) / int(pop) if pop > 0 else None
    return out


def true_values(
    *,
    age: np.ndarray,
    sex: np.ndarray,
    region: np.ndarray,
    urban: np.ndarray,
    migrant: np.ndarray,
    worked: np.ndarray,
    sector: np.ndarray,
    fl: np.ndarray,
    form: np.ndarray,
    child_cat: np.ndarray,
    dur: np.ndarray,
    region_labels: dict[int, str],
) -> dict[str, Any]:
    age_group = age_group_codes(age)
    dims = {
        "sex": (sex, SEX_LABELS),
        "age_group": (age_group, AGE_GROUP_LABELS),
        "region": (region, region_labels),
        "migrant": (migrant, MIGRANT_LABELS),
        "urban": (urban, URBAN_LABELS),
    }
    pops = {
        "all": ("persons aged 5+", np.ones(age.size, dtype=bool)),
        "adults": ("persons aged 18+", age >= 18),
        "children": ("persons aged 5-17", age < 18),
    }
    out: dict[str, Any] = {}
    for key, (definition, mask) in pops.items():
        flm = fl & mask
        entry: dict[str, Any] = {
            "definition": definition,
            "national": _cell(mask.sum(), flm.sum()),
        }
        by: dict[str, Any] = {}
        for dim, (codes, labels) in dims.items():
            size = max(labels) + 1
            n_pop = np.bincount(codes[mask], minlength=size)
            n_fl = np.bincount(codes[flm], minlength=size)
            by[dim] = {str(c): _cell(n_pop[c], n_fl[c], labels[c]) for c in sorted(labels)}
        wm = mask & worked
        n_pop = np.bincount(sector[wm], minlength=len(SECTORS))
        n_fl = np.bincount(sector[wm & fl], minlength=len(SECTORS))
        by["sector"] = {
            s: _cell(n_pop[i], n_fl[i], SECTOR_LABELS[s])
            for i, s in enumerate(SECTORS)
            if n_pop[i] > 0
        }
        entry["by"] = by
        n_form = np.bincount(form[flm], minlength=4)
        total = int(mask.sum())
        entry["forms"] = {
            name: {
                "fl": int(n_form[code]),
                "prevalence_per_1000": 1000.0 * int(n_form[code]) / total if total else None,
            }
            for code, name in FORM_NAMES.items()
        }
        stock = float(dur[flm].astype(np.int64).sum()) / 12.0
        entry["stock"] = {
            "persons_on_any_given_day": stock,
            "per_1000": 1000.0 * stock / total if total else None,
        }
        if key == "children":
            n_cat = np.bincount(child_cat[flm], minlength=5)
            entry["child_categories"] = {
                name: int(n_cat[code])
                for code, name in zip((1, 2, 3, 4), ("i", "ii", "iii", "iv"), strict=True)
            }
        out[key] = entry
    return out
