"""The Excel workbook: per table a publication sheet and a tidy data sheet, then notes.

The publication sheet is the table as an NSO prints it
(:func:`flestimate.report.publication.publication_table`): a merged title row, two
header rows (a statistic spanning its estimate and confidence bounds), one row per
domain with its labels, numbers stored as rounded numbers with number formats,
suppressed cells empty but for a footnote marker, the footnotes, population, notes
and source under the table, and the header frozen. The data sheet (``<table>_data``)
holds the tidy table at full precision. Every string is stored as a text cell
(never a formula).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flestimate.report.analysis import analysis_names, comparisons_publication, tests_publication
from flestimate.report.publication import PublicationTable, publication_table
from flestimate.report.result import RunResult, to_jsonable
from flestimate.report.sections import section_tables, write_section_sheets
from flestimate.report.text import FORMULA_START, clean_result

__all__ = ["SheetRows", "number_format", "run_source", "sheet_names", "write_excel"]

DATA_SUFFIX = "_data"


def number_format(decimals: int) -> str:
    """The Excel number format of a column with ``decimals`` decimals: ``#,##0.00``."""
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def sheet_names(names: list[str]) -> list[tuple[str, str]]:
    """``(publication, data)`` sheet names of each table: unique, at most 31 characters."""
    used = {"notes", "metadata"}
    out = []
    for name in names:
        pair = []
        for suffix in ("", DATA_SUFFIX):
            base = name[: 31 - len(suffix)] + suffix
            cand, k = base, 2
            while cand.lower() in used:
                tag = f"_{k}{suffix}"
                cand = name[: 31 - len(tag)] + tag
                k += 1
            used.add(cand.lower())
            pair.append(cand)
        out.append((pair[0], pair[1]))
    return out


def run_source(result: RunResult) -> str:
    """The source line of a run: its title, input file, flestimate version and date."""
    man = result.manifest
    name = Path(str(man.get("input", {}).get("path", ""))).name
    created = str(man.get("created", ""))[:10]
    parts = [result.title]
    if name:
        parts.append(f"input file {name}")
    parts.append(f"estimates by flestimate {man.get('flestimate_version', '')}"
                 + (f" on {created}" if created else ""))
    return "; ".join(p for p in parts if p) + "."


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
            self.put(self.row, col, value)
        return self.row

    def put(self, row: int, col: int, value: Any) -> Any:
        """Write one cell (a string as text, never a formula); return the cell."""
        cell = self.ws.cell(row=row, column=col, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
            if value.startswith(FORMULA_START):
                cell.quotePrefix = True
        return cell


def _publication_sheet(ws: Any, pub: PublicationTable) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    ncol = len(pub.columns)
    sheet = SheetRows(ws)
    put = sheet.add
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="EEF2F6")
    rule = Border(bottom=Side(style="thin", color="888888"))
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    right = Alignment(horizontal="right")

    put([pub.title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncol)
    ws.cell(row=1, column=1).font = Font(bold=True, size=12)
    put([c.group for c in pub.columns])
    put([c.header for c in pub.columns])
    # a statistic's title spans its columns; a single column's header spans both rows
    c = 1
    while c <= ncol:
        col = pub.columns[c - 1]
        span = 1
        while c + span <= ncol and col.group and pub.columns[c + span - 1].group == col.group:
            span += 1
        if col.group:
            ws.merge_cells(start_row=2, start_column=c, end_row=2, end_column=c + span - 1)
        else:
            sheet.put(2, c, col.header)
            ws.merge_cells(start_row=2, start_column=c, end_row=3, end_column=c)
        c += span
    for r in (2, 3):
        for c in range(1, ncol + 1):
            cell = ws.cell(row=r, column=c)
            cell.font, cell.fill, cell.alignment = bold, head_fill, centre
    for c in range(1, ncol + 1):
        ws.cell(row=3, column=c).border = rule

    formats = [number_format(c.decimals) if c.decimals is not None else None for c in pub.columns]
    for values, total in zip(pub.rows, pub.total_rows, strict=True):
        row = put(values)
        for c, fmt in enumerate(formats, start=1):
            cell = ws.cell(row=row, column=c)
            if fmt is not None:
                if isinstance(cell.value, str):  # a footnote marker
                    cell.alignment = right
                else:
                    cell.number_format = fmt
            if total:
                cell.font = bold
    last = put([])
    for text in [*pub.footnotes, *pub.notes]:
        last = put([text])
        ws.cell(row=last, column=1).font = Font(italic=text in pub.footnotes, size=9)

    nlab = pub.n_label_columns
    for c, col in enumerate(pub.columns, start=1):
        if col.kind == "label":
            width = max([len(col.header), *(len(str(r[c - 1])) for r in pub.rows)]) + 2
        elif col.header == "Notes":
            width = 45
        else:
            width = 13
        ws.column_dimensions[get_column_letter(c)].width = min(45, max(9, width))
    ws.row_dimensions[2].height = 45
    ws.freeze_panes = ws.cell(row=4, column=nlab + 1).coordinate
    ws.print_title_rows = "2:3"
    ws.page_setup.orientation = "landscape"


def _data_sheet(ws: Any, title: str, subtitle: str, frame: Any) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    put = SheetRows(ws).add
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="EEF2F6")
    grey = Font(italic=True, color="888888")
    put([f"{title} (data: every statistic at full precision)"])
    ws["A1"].font = Font(bold=True, size=12)
    put([subtitle])
    put([])
    cols = list(frame.columns)
    put(cols)
    for c in range(1, len(cols) + 1):
        ws.cell(row=4, column=c).font = bold
        ws.cell(row=4, column=c).fill = head_fill
    # rows of the published table (not microdata); the row number is counted here:
    # openpyxl's ws.max_row scans every cell, which made big tables quadratic
    for rec in frame.itertuples(index=False):
        row = put([to_jsonable(v) for v in rec])
        if rec.suppressed:
            for c in range(1, len(cols) + 1):
                ws.cell(row=row, column=c).font = grey
    for c, name in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(c)].width = max(10, min(40, len(name) + 4))
    ws.freeze_panes = "A5"


def write_excel(result: RunResult, path: Path) -> None:
    """Write the workbook: per table a publication sheet and a data sheet, then
    ``Notes`` and ``Metadata``.

    Suppressed cells: on the publication sheet empty but for a footnote marker
    explained under the table; on the data sheet blank, with ``suppressed`` true and
    the rule in ``suppression_reason``. Nothing computed from their values appears.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    result = clean_result(result)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    rel = result.settings.get("reliability", {})
    scale = float(result.headline.get("scale", 1000.0))
    source = run_source(result)
    extra = section_tables(result.sections)
    analyses = analysis_names(result)
    names = sheet_names([t.name for t in result.tables] + [t.name for t in extra] + analyses)
    for t, (pub_name, data_name) in zip(result.tables, names, strict=False):
        _publication_sheet(wb.create_sheet(pub_name),
                           publication_table(t, scale=scale, rules=rel, source=source))
        _data_sheet(wb.create_sheet(data_name), t.title,
                    f"Indicator {t.indicator}; population: {t.population}; CI {t.ci_method} "
                    f"{t.level * 100:g}%", t.frame)
    n_tables = len(result.tables)
    for st, (pub_name, data_name) in zip(extra, names[n_tables:n_tables + len(extra)],
                                         strict=True):
        write_section_sheets(wb, st, pub_name, data_name, source, SheetRows)
    layouts = {"comparisons": comparisons_publication, "tests": tests_publication}
    for a, (pub_name, data_name) in zip(analyses, names[n_tables + len(extra):], strict=True):
        frame = getattr(result, a)
        pub = layouts[a](frame, source=source)
        _publication_sheet(wb.create_sheet(pub_name), pub)
        _data_sheet(wb.create_sheet(data_name), pub.title, "One row per "
                    f"{'comparison' if a == 'comparisons' else 'test'}; the method in 'method'",
                    frame)

    notes = wb.create_sheet("Notes")
    note = SheetRows(notes).add
    note(["Notes"])
    notes["A1"].font = Font(bold=True, size=12)
    lines = [
        "Each table has two sheets: the publication layout (one row per domain, rounded) "
        f"and '<table>{DATA_SUFFIX}' (one row per domain and statistic, full precision; the "
        "'by' columns are empty on the total row).",
        f"prevalence: per {scale:,g} of the reference population; total: number of persons.",
        f"Suppression: unweighted n < {rel.get('min_n')}, or CV > {rel.get('cv_suppress')}"
        + ("; NCHS standard for proportions" if rel.get("nchs") else "")
        + (". In a table with a total, one suppressed cell triggers suppression of the next "
           "smallest cell (complementary suppression)." if rel.get("complementary") else "."),
        f"Caution: CV > {rel.get('cv_flag')} or design df < {rel.get('min_df')}.",
        "Suppressed cells are empty: a footnote marker on the publication sheet, the rule in "
        "suppression_reason on the data sheet; nothing computed from their values is "
        "published (no estimate, SE, CI, CV, design effect, effective or weighted size, flags "
        "or notes).",
    ]
    for line in lines:
        note([line])
    note([])
    notes.cell(row=note(["Warnings"]), column=1).font = bold
    for w in result.warnings or [{"code": "", "message": "none"}]:
        note([w.get("code", ""), w.get("message", "")])
    note([])
    notes.cell(row=note(["Methods"]), column=1).font = bold
    for p in result.methods + [p for sec in result.sections for p in sec.method]:
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
