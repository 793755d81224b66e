"""Writers: tidy CSV, Excel workbook, results.json, report.html and manifest.json.

Every text that leaves the run is cleaned of control characters first
(:func:`flestimate.report.text.clean_result`); CSV text cells cannot start a
formula and the workbook stores text as text. The files are written into a
staging folder inside the destination and moved into place one by one,
``manifest.json`` last, by :func:`flestimate.report.folder.write_into`, which
never touches a file that no flestimate run wrote. ``manifest.json`` lists the
SHA-256 of every other file.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.io.hashing import sha256_file
from flestimate.report.folder import MANIFEST, check_file_names, write_into
from flestimate.report.result import PublishedTable, RunResult
from flestimate.report.specs import OutputOptions
from flestimate.report.text import FORMULA_START, clean_result, csv_safe_frame

__all__ = ["SheetRows", "write_outputs", "output_names", "to_jsonable", "render_html",
           "write_excel"]

_TEMPLATE = "report.html.j2"


# ---------------------------------------------------------------- helpers


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers to JSON types (NaN -> null)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (str, int)):
        return obj
    return str(obj)


def _fmt(x: Any, kind: str) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(f):
        return ""
    if kind == "total" or kind == "stock":
        return f"{f:,.0f}"
    if kind == "int":
        return f"{f:,.0f}"
    if kind == "cv":
        return f"{f:.3f}"
    return f"{f:,.2f}"


_STAT_NAMES = {
    "prevalence": "Prevalence",
    "total": "Number of persons",
    "stock": "Persons on any given day",
    "share": "Share (%)",
}


# ---------------------------------------------------------------- HTML


def _display_rows(t: PublishedTable) -> tuple[list[str], list[dict[str, Any]], int]:
    f = t.frame
    level_pct = f"{t.level * 100:g}"
    label_cols = [f"{b}_label" for b in t.by]
    header = [*(t.by or ["Domain"]), "Statistic", "Estimate", f"{level_pct}% CI", "SE", "CV",
              "Deff", "n", "df", "Quality"]
    rows = []
    is_total = f[t.by].isna().all(axis=1) if t.by else pd.Series(True, index=f.index)
    for i, r in f.iterrows():
        kind = r["statistic"]
        labels = [r[c] for c in label_cols] if t.by else ["Total"]
        if r["suppressed"]:
            cells = [*labels, _STAT_NAMES[kind], "suppressed", r["suppression_reason"], "", "", "",
                     _fmt(r["n_unweighted"], "int"), _fmt(r["df"], "int"), "suppressed"]
            cls = "suppressed"
        else:
            ci = f"{_fmt(r['ci_lower'], kind)} – {_fmt(r['ci_upper'], kind)}"
            notes = "; ".join(x for x in (r["quality_notes"], str(r["flags"] or "").replace(";", ", "))
                              if x)
            quality = f"{r['quality']}: {notes}" if notes else r["quality"]
            cells = [*labels, _STAT_NAMES[kind], _fmt(r["estimate"], kind), ci, _fmt(r["se"], kind),
                     _fmt(r["cv"], "cv"), _fmt(r["deff"], "prevalence"), _fmt(r["n_unweighted"], "int"),
                     _fmt(r["df"], "int"), quality]
            cls = "caution" if r["quality"] == "caution" else ""
        if is_total.loc[i]:
            cls = (cls + " total").strip()
        rows.append({"cells": cells, "cls": cls})
    return header, rows, max(1, len(t.by)) + 1


def render_html(result: RunResult) -> str:
    """Render the self-contained HTML report (inline CSS, embedded PNG plots, no scripts)."""
    import jinja2

    result = clean_result(result)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flestimate.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    h = result.headline
    scale = h["scale"]

    def stat_view(d: dict | None, kind: str) -> dict | None:
        if not d:
            return None
        if h.get("suppressed"):
            return {"text": "suppressed", "ci_text": ""}
        return {
            "text": _fmt(d.get("estimate"), kind),
            "ci_text": f"{_fmt(d.get('ci_lower'), kind)} – {_fmt(d.get('ci_upper'), kind)}",
        }

    headline = {
        "population_text": h.get("population_text", h["population"]),
        "scale_text": f"{scale:,g}",
        "level_pct": f"{h['level'] * 100:g}",
        "persons": stat_view(h["persons"], "total"),
        "prevalence": stat_view(h["prevalence"], "prevalence"),
        "stock": stat_view(h.get("stock"), "stock"),
        "suppressed": bool(h.get("suppressed")),
        "suppression_reason": h.get("suppression_reason", ""),
    }
    sens = None
    if result.sensitivity:
        s = result.sensitivity
        sens = {
            "conservative_text": _fmt(s["conservative"]["prevalence"]["estimate"], "prevalence"),
            "upper_text": _fmt(s["upper_bound"]["prevalence"]["estimate"], "prevalence"),
            "conservative_persons_text": _fmt(s["conservative"]["persons"]["estimate"], "total"),
            "upper_persons_text": _fmt(s["upper_bound"]["persons"]["estimate"], "total"),
            "changed_n": f"{int(s['changed_n']):,}",
            "changed_share_text": f"{100 * float(s['changed_weighted_share']):.2f}%",
        }
    tables = []
    for t in result.tables:
        header, rows, nlab = _display_rows(t)
        tables.append({
            "name": t.name, "title": t.title, "indicator": t.indicator,
            "population_text": t.population, "by": t.by, "ci_method": t.ci_method,
            "level_pct": f"{t.level * 100:g}", "header": header, "rows": rows,
            "n_label_cols": nlab, "plot": t.plot_png,
        })
    man = result.manifest
    return env.get_template(_TEMPLATE).render(
        title=result.title,
        version=man.get("flestimate_version", ""),
        created=man.get("created", ""),
        input_name=Path(str(man.get("input", {}).get("path", ""))).name,
        input_sha256=man.get("input", {}).get("sha256", ""),
        config_sha256=man.get("config_sha256", ""),
        headline=headline,
        sensitivity=sens,
        warnings=result.warnings,
        tables=tables,
        design={k: v for k, v in result.design.items()},
        weighting=result.weighting,
        weight_summary=result.weight_summary,
        methods=result.methods,
    )


# ---------------------------------------------------------------- Excel


def _sheet_names(names: list[str]) -> list[str]:
    used = {"notes", "metadata"}
    out = []
    for name in names:
        base = name[:31]
        cand = base
        k = 2
        while cand.lower() in used:
            suffix = f"_{k}"
            cand = base[: 31 - len(suffix)] + suffix
            k += 1
        used.add(cand.lower())
        out.append(cand)
    return out


class SheetRows:
    """Rows appended to a worksheet, text stored as text.

    openpyxl turns a string that starts with ``=`` into a live formula; a label or
    title is the user's text, so every string is written as a text cell, and one
    that a spreadsheet would read as a formula on editing gets Excel's quote prefix.
    """

    def __init__(self, ws: Any):
        self.ws, self.row = ws, 0

    def add(self, values: list[Any]) -> int:
        self.row += 1
        for col, value in enumerate(values, start=1):
            cell = self.ws.cell(row=self.row, column=col, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
                if value.startswith(FORMULA_START):
                    cell.quotePrefix = True
        return self.row


def write_excel(result: RunResult, path: Path) -> None:
    """Write the workbook: one sheet per table, then ``Notes`` and ``Metadata``.

    Suppressed cells show the text ``suppressed`` in the estimate column, the rule in
    ``suppression_reason`` and nothing computed from their values.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    result = clean_result(result)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="EEF2F6")
    grey = Font(italic=True, color="888888")
    for t, sheet in zip(result.tables, _sheet_names([t.name for t in result.tables]), strict=True):
        ws = wb.create_sheet(sheet)
        put = SheetRows(ws).add
        put([t.title])
        ws["A1"].font = Font(bold=True, size=12)
        put([f"Indicator {t.indicator}; population: {t.population}; CI {t.ci_method} "
             f"{t.level * 100:g}%"])
        put([])
        cols = list(t.frame.columns)
        put(cols)
        for c in range(1, len(cols) + 1):
            ws.cell(row=4, column=c).font = bold
            ws.cell(row=4, column=c).fill = head_fill
        est_col = cols.index("estimate")
        # rows of the published table (not microdata); the row number is counted here:
        # openpyxl's ws.max_row scans every cell, which made big tables quadratic
        for rec in t.frame.itertuples(index=False):
            vals = [to_jsonable(v) for v in rec]
            if rec.suppressed:
                vals[est_col] = "suppressed"
            row = put(vals)
            if rec.suppressed:
                for c in range(1, len(cols) + 1):
                    ws.cell(row=row, column=c).font = grey
        for c, name in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(c)].width = max(10, min(40, len(name) + 4))
        ws.freeze_panes = "A5"

    notes = wb.create_sheet("Notes")
    note = SheetRows(notes).add
    note(["Notes"])
    notes["A1"].font = Font(bold=True, size=12)
    rel = result.settings.get("reliability", {})
    lines = [
        "Each row is one estimate for one domain (the 'by' columns; empty on the total row).",
        "prevalence: per {:,g} of the reference population; total: number of persons.".format(
            result.headline["scale"]),
        f"Suppression: unweighted n < {rel.get('min_n')}, or CV > {rel.get('cv_suppress')}"
        + ("; NCHS standard for proportions" if rel.get("nchs") else "")
        + (". In a table with a total, one suppressed cell triggers suppression of the next "
           "smallest cell (complementary suppression)." if rel.get("complementary") else "."),
        f"Caution: CV > {rel.get('cv_flag')} or design df < {rel.get('min_df')}.",
        "Suppressed cells show 'suppressed' in the estimate column and the rule in "
        "suppression_reason; nothing computed from their values is published (no SE, CI, CV, "
        "design effect, effective or weighted size, flags or notes).",
    ]
    for line in lines:
        note([line])
    note([])
    notes.cell(row=note(["Warnings"]), column=1).font = bold
    for w in result.warnings or [{"code": "", "message": "none"}]:
        note([w.get("code", ""), w.get("message", "")])
    note([])
    notes.cell(row=note(["Methods"]), column=1).font = bold
    for p in result.methods:
        note([p])
    notes.column_dimensions["A"].width = 110

    meta = wb.create_sheet("Metadata")
    meta_row = SheetRows(meta).add
    meta_row(["key", "value"])
    meta["A1"].font = bold
    meta["B1"].font = bold

    def flat(prefix: str, obj: Any):
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from flat(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(obj, list) and obj and isinstance(obj[0], (dict, list)):
            for i, v in enumerate(obj):
                yield from flat(f"{prefix}[{i}]", v)
        else:
            yield prefix, obj if isinstance(obj, (int, float, str, bool)) or obj is None else json.dumps(
                to_jsonable(obj))

    man = {k: v for k, v in result.manifest.items() if k != "files"}
    for k, v in flat("", to_jsonable({"manifest": man, "design": result.design})):
        meta_row([k, v])
    meta.column_dimensions["A"].width = 45
    meta.column_dimensions["B"].width = 80
    wb.save(path)


# ---------------------------------------------------------------- folder


def output_names(tables: list[str], outputs: OutputOptions) -> list[str]:
    """The names of the files a run with these ``tables`` writes, ``manifest.json`` last.

    Raises
    ------
    ReportError
        Two table names differ only in case, or a name cannot be a file name.
    """
    check_file_names(tables)
    names = [f"{t}.csv" for t in tables] if outputs.csv else []
    names += ["tables.xlsx"] if outputs.excel else []
    names += ["results.json"] if outputs.json else []
    names += ["report.html"] if outputs.html else []
    return [*names, MANIFEST]


def _results_json(result: RunResult) -> str:
    payload = {
        "flestimate_version": result.manifest.get("flestimate_version"),
        "title": result.title,
        "settings": result.settings,
        "headline": result.headline,
        "sensitivity": result.sensitivity,
        "design": result.design,
        "weighting": result.weighting,
        "weight_summary": result.weight_summary,
        "warnings": result.warnings,
        "tables": [
            {
                "name": t.name, "title": t.title, "indicator": t.indicator,
                "population": t.population, "by": t.by, "statistics": t.statistics,
                "ci_method": t.ci_method, "level": t.level, "rows": t.frame,
            }
            for t in result.tables
        ],
    }
    return json.dumps(to_jsonable(payload), indent=2, allow_nan=False)


def _write_files(result: RunResult, outputs: OutputOptions, folder: Path) -> dict[str, str]:
    """Write every output into ``folder``, ``manifest.json`` last; return ``{name: sha256}``."""
    files: list[str] = []
    if outputs.csv:
        for t in result.tables:
            name = f"{t.name}.csv"
            csv_safe_frame(t.frame).to_csv(folder / name, index=False)
            files.append(name)
    if outputs.excel:
        write_excel(result, folder / "tables.xlsx")
        files.append("tables.xlsx")
    if outputs.json:
        (folder / "results.json").write_text(_results_json(result), encoding="utf-8")
        files.append("results.json")
    if outputs.html:
        (folder / "report.html").write_text(render_html(result), encoding="utf-8")
        files.append("report.html")
    manifest = dict(result.manifest)
    manifest["files"] = {name: sha256_file(folder / name) for name in files}
    (folder / MANIFEST).write_text(
        json.dumps(to_jsonable(manifest), indent=2, allow_nan=False), encoding="utf-8")
    return {**manifest["files"], MANIFEST: sha256_file(folder / MANIFEST)}


def write_outputs(result: RunResult, out_dir: str | Path, outputs: OutputOptions | None = None,
                  *, force: bool = False) -> Path:
    """Write every output file of a run into ``out_dir``, touching no file it did not write.

    Parameters
    ----------
    result : RunResult
    out_dir : path-like
        Destination folder, created if needed (with the default permissions). If it
        exists, it may hold the files of a previous run (those listed, unchanged, in
        its ``manifest.json``): they are replaced, and the ones this run does not
        write are removed. Anything else in it makes the call fail unless ``force``.
    outputs : OutputOptions, optional
        Which files to write (all by default).
    force : bool, default False
        Write into a folder that holds other files. They are left alone; a file
        of theirs that has the name of an output is still never replaced.

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    ReportError
        If ``out_dir`` is a file, holds files no flestimate run wrote (without
        ``force``) or one named like an output, cannot be created or written, or
        two table names differ only in case.
    """
    outputs = outputs or OutputOptions()
    result = clean_result(result)
    planned = output_names([t.name for t in result.tables], outputs)
    return write_into(out_dir, planned, lambda folder: _write_files(result, outputs, folder),
                      force=force)
