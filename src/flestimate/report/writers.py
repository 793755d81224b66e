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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flestimate.io.hashing import sha256_file
from flestimate.report.analysis import analysis_names, comparisons_publication, tests_publication
from flestimate.report.folder import MANIFEST, check_file_names, write_into
from flestimate.report.publication import PublicationTable, publication_table
from flestimate.report.result import RunResult, to_jsonable
from flestimate.report.sections import section_html, section_json, section_tables
from flestimate.report.specs import OutputOptions
from flestimate.report.text import clean_result, csv_safe_frame
from flestimate.report.workbook import SheetRows, write_excel

__all__ = ["SheetRows", "write_outputs", "output_names", "to_jsonable", "render_html",
           "write_excel"]

_TEMPLATE = "report.html.j2"


# ---------------------------------------------------------------- helpers


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


def _html_table(pub: PublicationTable) -> dict[str, Any]:
    """The publication layout as HTML cells: a statistic's bounds in one CI cell."""
    head1: list[dict[str, Any]] = []  # {text, colspan, rowspan, cls}
    head2: list[dict[str, Any]] = []
    keep: list[tuple[int, str]] = []  # (column, how the cell is shown)
    cols = pub.columns
    i = 0
    while i < len(cols):
        c = cols[i]
        if c.group:
            head1.append({"text": c.group, "colspan": 2, "rowspan": 1, "cls": "grp"})
            head2 += [{"text": c.header, "cls": "num"},
                      {"text": cols[i + 1].header.replace(" lower", ""), "cls": "num nw"}]
            keep += [(i, "num"), (i, "ci")]
            i += 3
            continue
        numeric = c.kind != "label" and c.decimals is not None  # n, p-values, statistics
        cls = "l" if c.kind == "label" else ("num" if numeric else "l nw")
        if c.header == "Notes":
            cls = "l notes"
        head1.append({"text": c.header, "colspan": 1, "rowspan": 2, "cls": cls})
        keep.append((i, "label" if c.kind == "label" else ("n" if numeric else "text")))
        i += 1
    rows = []
    for values, total in zip(pub.rows, pub.total_rows, strict=True):
        cells = []
        for j, how in keep:
            v, dec = values[j], cols[j].decimals
            if how == "ci":
                lo, hi = values[j + 1], values[j + 2]
                text = "" if lo is None or hi is None else f"{lo:,.{dec}f} – {hi:,.{dec}f}"
                cells.append({"text": text, "cls": "num nw"})
            elif how in ("num", "n"):
                text = v if isinstance(v, str) or v is None else f"{v:,.{dec}f}"
                cells.append({"text": text or "", "cls": "num nw"})
            else:
                cls = "l" if how == "label" else ("l notes" if cols[j].header == "Notes" else "l nw q")
                cells.append({"text": "" if v is None else str(v), "cls": cls})
        grade = values[-2]
        cls = " ".join(x for x in ("total" if total else "", grade if grade != "ok" else "") if x)
        rows.append({"cells": cells, "cls": cls})
    return {"head1": head1, "head2": head2, "rows": rows, "footnotes": pub.footnotes,
            "notes": pub.notes}


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
    rel = result.settings.get("reliability", {})
    for t in result.tables:
        pub = publication_table(t, scale=float(scale), rules=rel)
        tables.append({"name": t.name, "title": t.title, "indicator": t.indicator,
                       "plot": t.plot_png, **_html_table(pub)})
    layouts = {"comparisons": comparisons_publication, "tests": tests_publication}
    analyses = []
    for a in analysis_names(result):
        pub = layouts[a](getattr(result, a))
        analyses.append({"name": a, "title": pub.title, **_html_table(pub)})
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
        analyses=analyses,
        design={k: v for k, v in result.design.items()},
        weighting=result.weighting,
        weight_summary=result.weight_summary,
        methods=result.methods,
        sections=section_html(result.sections),
    )


# ---------------------------------------------------------------- folder


def output_names(tables: list[str], outputs: OutputOptions,
                 analyses: Sequence[str] = ()) -> list[str]:
    """The names of the files a run with these ``tables`` (and ``analyses``:
    ``comparisons``, ``tests``) writes, ``manifest.json`` last.

    Raises
    ------
    ReportError
        Two table names differ only in case, or a name cannot be a file name.
    """
    check_file_names([*tables, *analyses])
    names = [f"{t}.csv" for t in [*tables, *analyses]] if outputs.csv else []
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
        **{a: getattr(result, a) for a in analysis_names(result)},
    }
    if result.sections:  # absent from a run without small_areas: or nsum:
        payload["sections"] = section_json(result.sections)
    return json.dumps(to_jsonable(payload), indent=2, allow_nan=False)


def _write_files(result: RunResult, outputs: OutputOptions, folder: Path) -> dict[str, str]:
    """Write every output into ``folder``, ``manifest.json`` last; return ``{name: sha256}``."""
    files: list[str] = []
    if outputs.csv:
        for t in result.tables:
            name = f"{t.name}.csv"
            csv_safe_frame(t.frame).to_csv(folder / name, index=False)
            files.append(name)
        for st in section_tables(result.sections):
            name = f"{st.name}.csv"
            csv_safe_frame(st.frame).to_csv(folder / name, index=False)
            files.append(name)
        for a in analysis_names(result):
            csv_safe_frame(getattr(result, a)).to_csv(folder / f"{a}.csv", index=False)
            files.append(f"{a}.csv")
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
    planned = output_names([t.name for t in result.tables]
                           + [t.name for t in section_tables(result.sections)], outputs,
                           analysis_names(result))
    return write_into(out_dir, planned, lambda folder: _write_files(result, outputs, folder),
                      force=force)
