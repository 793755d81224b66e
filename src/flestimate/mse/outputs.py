"""The files of an MSE run: CSV, Excel, JSON, a self-contained HTML report, the manifest.

The folder is written by :func:`flestimate.report.folder.write_into`, the same
mechanism as survey estimates: only the files listed in ``manifest.json`` are ever
replaced, a folder holding other files is refused unless ``force``. Every text is
cleaned of control characters, CSV text cells cannot start a formula and the
workbook stores text as text (:mod:`flestimate.report.text`).
"""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.io.hashing import sha256_bytes, sha256_file
from flestimate.mse.result import MSEResult, sensitivity_plot
from flestimate.report.folder import MANIFEST, write_into
from flestimate.report.text import clean_frame, clean_text, clean_value, csv_safe_frame
from flestimate.report.writers import SheetRows, to_jsonable

__all__ = ["MSE_FILES", "METHODS_TEXT", "write_mse_outputs", "render_mse_html"]

MSE_FILES = ["estimates.csv", "models.csv", "coefficients.csv", "intervals.csv",
             "tables.xlsx", "results.json", "report.html"]

METHODS_TEXT = [
    "Multiple systems estimation: the counts of all 2^K - 1 observable capture patterns "
    "(the patterns with no case entered as zero counts) are fitted by a Poisson log-linear "
    "model with a main effect per list and the two-list interactions shown; the number of "
    "cases on no list is exp(intercept). The total adds the cases observed.",
    "Assumptions: the population is closed over the period of the lists; within a stratum "
    "every case has the same chance of being recorded by a list, up to the interactions "
    "modelled; dependence between lists is only what the interactions included describe. "
    "Heterogeneity (some cases easier to find on every list) and dependence that the model "
    "leaves out bias the estimate, usually downwards, and intervals then cover the truth "
    "less often than stated: internal-consistency studies found nominal 95% intervals "
    "covering 60-90%.",
    "Before a model is used, the existence of its maximum likelihood estimate is checked by "
    "the Fienberg-Rinaldo linear programme and its identifiability by the rank of the "
    "design; interactions whose lists share no case are estimated as minus infinity (their "
    "patterns fitted as 0).",
    "Intervals: profile likelihood (the set of dark figures whose profile deviance is within "
    "the chi-squared quantile of the minimum), Wald on the log scale, and, when requested, "
    "the parametric bootstrap (percentile and BCa) conditional on the model and the count "
    "observed.",
]

_MODEL_COLUMNS = ["model", "step", "added", "p_value", "status", "deviance", "df_residual",
                  "aic", "bic", "total", "profile_lower", "profile_upper"]


def _n(x: Any) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return ""
    if np.isinf(f):
        return "inf"
    return "" if np.isnan(f) else f"{f:,.0f}"


def _g(x: Any, digits: int = 4) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return ""
    return "" if np.isnan(f) else f"{f:.{digits}g}"


def _plot_png(result: MSEResult) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = int((result.models["status"] == "ok").sum())
    fig = Figure(figsize=(8, min(12.0, 1.5 + 0.18 * min(rows, 60))))
    FigureCanvasAgg(fig)
    sensitivity_plot(result.models, fig.add_subplot(), level=result.level)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def render_mse_html(result: MSEResult, *, title: str, provenance: dict) -> str:
    """The self-contained HTML report (inline CSS, the sensitivity plot as an embedded PNG)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flestimate.mse", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    models = clean_frame(result.models)
    has_stratum = "stratum" in models
    model_cols = (["stratum"] if has_stratum else []) + _MODEL_COLUMNS
    model_rows = []
    for rec in models[model_cols].to_dict(orient="records"):
        cells = [str(rec.get("stratum", ""))] if has_stratum else []
        cells += [rec["model"], str(rec["step"]), rec["added"], _g(rec["p_value"], 3),
                  rec["status"], _g(rec["deviance"], 6), _n(rec["df_residual"]),
                  _g(rec["aic"], 6), _g(rec["bic"], 6), _n(rec["total"]),
                  _n(rec["profile_lower"]), _n(rec["profile_upper"])]
        model_rows.append({"cells": cells, "cls": ""})
    for row, chosen, ok in zip(model_rows, models["chosen"], models["status"] == "ok", strict=True):
        row["cls"] = "chosen" if chosen else ("" if ok else "failed")
    coefs = clean_frame(result.coefficients)
    coef_cols = (["stratum"] if "stratum" in coefs else []) + ["term", "estimate", "se", "z",
                                                               "p_value"]
    coef_rows = [[str(r[0]), *r[1:2], *(_g(v, 6) for v in r[2:])] if coef_cols[0] == "stratum"
                 else [r[0], *(_g(v, 6) for v in r[1:])]
                 for r in coefs[coef_cols].itertuples(index=False)]
    strata_rows = []
    if result.strata is not None:
        for r in clean_frame(result.to_frame()).itertuples(index=False):
            strata_rows.append({"stratum": str(r.stratum), "observed": _n(r.observed),
                                "dark": _n(r.dark), "total": _n(r.total),
                                "ci": f"{_n(r.ci_lower)} – {_n(r.ci_upper)}", "model": r.model})
    b = result.bootstrap
    text = clean_value({
        "model_text": result.model_description(),
        "warnings": [d.message for d in result.diagnostics if d.severity == "warning"],
    })
    return env.get_template("mse_report.html.j2").render(
        title=clean_text(title), version=provenance["flestimate_version"],
        created=provenance["created"], input_name=clean_text(provenance["input"]["path"]),
        input_sha256=provenance["input"].get("sha256") or "", lists=[clean_text(x) for x in result.lists],
        total=_n(result.total), dark=_n(result.dark), observed=_n(result.observed),
        total_ci=f"{_n(result.ci[0])} – {_n(result.ci[1])}",
        dark_ci=f"{_n(result.dark_ci[0])} – {_n(result.dark_ci[1])}",
        level_pct=f"{result.level * 100:g}", ci_method=result.ci_method,
        model_text=text["model_text"], warnings=text["warnings"], strata_rows=strata_rows,
        intervals=[{k: (_n(v) if k != "method" else v) for k, v in r.items()}
                   for r in result.intervals.to_dict(orient="records")],
        bootstrap=(f"{b['replicates']:,} replicates, {b['failed']} failed"
                   + (f", seed {b['seed']}" if b.get("seed") is not None else "")) if b else "",
        plot_png=_plot_png(result), model_header=model_cols, model_rows=model_rows,
        model_text_columns=3 + has_stratum, coef_header=coef_cols, coef_rows=coef_rows,
        methods=METHODS_TEXT,
    )


def _write_excel(result: MSEResult, path: Path, provenance: dict) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    sheets = {"Estimates": result.to_frame(), "Models": result.models,
              "Coefficients": result.coefficients, "Intervals": result.intervals}
    for name, frame in sheets.items():
        ws = wb.create_sheet(name)
        put = SheetRows(ws).add
        frame = clean_frame(frame)
        put(list(map(str, frame.columns)))
        for c in range(1, len(frame.columns) + 1):
            ws.cell(row=1, column=c).font = bold
        for rec in frame.itertuples(index=False):
            put([to_jsonable(v) for v in rec])
        ws.freeze_panes = "A2"
    notes = wb.create_sheet("Notes")
    note = SheetRows(notes).add
    for line in [*METHODS_TEXT, "", *(d.message for d in result.diagnostics)]:
        note([clean_text(line)])
    notes.column_dimensions["A"].width = 120
    meta = wb.create_sheet("Metadata")
    row = SheetRows(meta).add
    row(["key", "value"])
    for k, v in to_jsonable({k: v for k, v in provenance.items() if k != "files"}).items():
        row([k, v if isinstance(v, (str, int, float)) or v is None else json.dumps(v)])
    wb.save(path)


def _write_files(result: MSEResult, provenance: dict, title: str, folder: Path) -> dict[str, str]:
    frames = {"estimates.csv": result.to_frame(), "models.csv": result.models,
              "coefficients.csv": result.coefficients, "intervals.csv": result.intervals}
    for name, frame in frames.items():
        csv_safe_frame(clean_frame(frame)).to_csv(folder / name, index=False)
    _write_excel(result, folder / "tables.xlsx", provenance)
    payload = {"flestimate_version": provenance["flestimate_version"], "title": title,
               **result.to_dict()}
    (folder / "results.json").write_text(
        json.dumps(to_jsonable(clean_value(payload)), indent=2, allow_nan=False), encoding="utf-8")
    (folder / "report.html").write_text(render_mse_html(result, title=title, provenance=provenance),
                                        encoding="utf-8")
    manifest = dict(provenance)
    manifest["files"] = {name: sha256_file(folder / name) for name in MSE_FILES}
    (folder / MANIFEST).write_text(json.dumps(to_jsonable(clean_value(manifest)), indent=2,
                                              allow_nan=False), encoding="utf-8")
    return {**manifest["files"], MANIFEST: sha256_file(folder / MANIFEST)}


def write_mse_outputs(result: MSEResult, out_dir: str | Path, *, input_path: str | Path | None = None,
                      settings: dict | None = None, title: str = "Multiple systems estimate",
                      force: bool = False) -> Path:
    """Write the outputs of an MSE result into ``out_dir``.

    Parameters
    ----------
    result : MSEResult
    out_dir : path-like
        The output folder (created if needed); see :func:`flestimate.report.folder.write_into`
        for what it may already hold.
    input_path : path-like, optional
        The data file, recorded with its SHA-256 in the manifest.
    settings : dict, optional
        The options of the fit, recorded in the manifest.
    title : str
    force : bool, default False
        Write into a folder that holds files no flestimate run wrote.

    Returns
    -------
    Path
        The output folder: ``estimates.csv``, ``models.csv``, ``coefficients.csv``,
        ``intervals.csv``, ``tables.xlsx``, ``results.json``, ``report.html`` and
        ``manifest.json`` (the SHA-256 of every other file).
    """
    import flestimate

    path = Path(input_path) if input_path is not None else None
    provenance = {
        "flestimate_version": flestimate.__version__,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "mse",
        "input": ({"path": path.name, "sha256": sha256_file(path)} if path is not None
                  else {"path": "(data frame)", "sha256": None}),
        "settings": settings or {},
        "seed": (result.bootstrap or {}).get("seed"),
        "packages": {"numpy": np.__version__, "pandas": pd.__version__},
    }
    if settings is not None:
        provenance["settings_sha256"] = sha256_bytes(
            json.dumps(to_jsonable(settings), sort_keys=True).encode())
    return write_into(out_dir, [*MSE_FILES, MANIFEST],
                      lambda folder: _write_files(result, provenance, title, folder), force=force)
