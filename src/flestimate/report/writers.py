"""Writers: tidy CSV, Excel workbook, results.json, report.html and manifest.json.

Outputs are written into a temporary folder beside the destination and moved
into place only when every file is complete, so a failure part-way never leaves
a half-written folder that looks finished. ``manifest.json`` is written last and
lists the SHA-256 of every other file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.config import OutputSpec
from flestimate.errors import ConfigError
from flestimate.report.result import PublishedTable, RunResult

__all__ = ["write_outputs", "to_jsonable", "render_html", "write_excel"]

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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def write_excel(result: RunResult, path: Path) -> None:
    """Write the workbook: one sheet per table, then ``Notes`` and ``Metadata``.

    Suppressed cells show the text ``suppressed`` in the estimate column, the rule in
    ``suppression_reason`` and nothing computed from their values.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="EEF2F6")
    grey = Font(italic=True, color="888888")
    for t, sheet in zip(result.tables, _sheet_names([t.name for t in result.tables]), strict=True):
        ws = wb.create_sheet(sheet)
        ws.append([t.title])
        ws["A1"].font = Font(bold=True, size=12)
        ws.append([f"Indicator {t.indicator}; population: {t.population}; CI {t.ci_method} "
                   f"{t.level * 100:g}%"])
        ws.append([])
        cols = list(t.frame.columns)
        ws.append(cols)
        for c in range(1, len(cols) + 1):
            ws.cell(row=4, column=c).font = bold
            ws.cell(row=4, column=c).fill = head_fill
        est_col = cols.index("estimate")
        # rows of the published table (not microdata); the row number is counted here:
        # openpyxl's ws.max_row scans every cell, which made big tables quadratic
        for row, rec in enumerate(t.frame.itertuples(index=False), start=5):
            vals = [to_jsonable(v) for v in rec]
            if rec.suppressed:
                vals[est_col] = "suppressed"
            ws.append(vals)
            if rec.suppressed:
                for c in range(1, len(cols) + 1):
                    ws.cell(row=row, column=c).font = grey
        for c, name in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(c)].width = max(10, min(40, len(name) + 4))
        ws.freeze_panes = "A5"

    notes = wb.create_sheet("Notes")
    notes.append(["Notes"])
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
        notes.append([line])
    notes.append([])
    notes.append(["Warnings"])
    notes.cell(row=notes.max_row, column=1).font = bold
    for w in result.warnings or [{"code": "", "message": "none"}]:
        notes.append([w.get("code", ""), w.get("message", "")])
    notes.append([])
    notes.append(["Methods"])
    notes.cell(row=notes.max_row, column=1).font = bold
    for p in result.methods:
        notes.append([p])
    notes.column_dimensions["A"].width = 110

    meta = wb.create_sheet("Metadata")
    meta.append(["key", "value"])
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
        meta.append([k, v])
    meta.column_dimensions["A"].width = 45
    meta.column_dimensions["B"].width = 80
    wb.save(path)


# ---------------------------------------------------------------- folder


def _replaceable(out: Path) -> bool:
    if not out.is_dir():
        return False
    entries = list(out.iterdir())
    if not entries:
        return True
    man = out / "manifest.json"
    if not man.is_file():
        return False
    try:
        return "flestimate_version" in json.loads(man.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def write_outputs(result: RunResult, out_dir: str | Path, outputs: OutputSpec | None = None) -> Path:
    """Write every output file of a run into ``out_dir``, atomically.

    Parameters
    ----------
    result : RunResult
    out_dir : path-like
        Destination folder. If it exists it must be empty or a previous flestimate
        output (it is then replaced as a whole).
    outputs : OutputSpec, optional
        Which files to write (all by default).

    Returns
    -------
    Path
        The output folder.

    Raises
    ------
    ConfigError
        If ``out_dir`` exists and is not a flestimate output folder.
    """
    outputs = outputs or OutputSpec()
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output folder {str(out_dir)!r} is a file; choose another --out")
    if out.exists() and not _replaceable(out):
        raise ConfigError(
            f"output folder {str(out_dir)!r} exists and is not a flestimate output (no "
            f"manifest.json); choose another --out or empty it"
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as exc:
        raise ConfigError(
            f"output folder {str(out_dir)!r} cannot be created ({exc.strerror or exc}); choose "
            f"another --out"
        ) from None
    old: Path | None = None
    try:
        files: list[str] = []
        if outputs.csv:
            for t in result.tables:
                name = f"{t.name}.csv"
                t.frame.to_csv(tmp / name, index=False)
                files.append(name)
        if outputs.excel:
            write_excel(result, tmp / "tables.xlsx")
            files.append("tables.xlsx")
        if outputs.json:
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
            (tmp / "results.json").write_text(
                json.dumps(to_jsonable(payload), indent=2, allow_nan=False), encoding="utf-8")
            files.append("results.json")
        if outputs.html:
            (tmp / "report.html").write_text(render_html(result), encoding="utf-8")
            files.append("report.html")
        manifest = dict(result.manifest)
        manifest["files"] = {name: sha256_file(tmp / name) for name in files}
        (tmp / "manifest.json").write_text(
            json.dumps(to_jsonable(manifest), indent=2, allow_nan=False), encoding="utf-8")
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out
