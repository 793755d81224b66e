"""The model-based sections of the outputs (small areas, network scale-up).

A section's tables (:class:`~flestimate.report.result.SectionTable`) are written like
the other tables: a CSV each, a publication sheet (the shown columns, rounded, notes
under the table) and a data sheet (every column at full precision) in the workbook,
rows in ``results.json`` and an HTML table after the method paragraphs. A run without
sections writes exactly what it wrote before.
"""

from __future__ import annotations

import math
from typing import Any

from flestimate.report.result import ReportSection, SectionTable, to_jsonable

__all__ = ["section_html", "section_json", "section_tables", "write_section_sheets"]


def section_tables(sections: list[ReportSection]) -> list[SectionTable]:
    """Every table of the sections, in order."""
    return [t for s in sections for t in s.tables]


def section_json(sections: list[ReportSection]) -> list[dict[str, Any]]:
    """The sections as ``results.json`` holds them."""
    return [{"name": s.name, "title": s.title, "method": s.method, "details": s.details,
             "tables": [{"name": t.name, "title": t.title, "rows": t.frame}
                        for t in s.tables]} for s in sections]


def _cell(value: Any, decimals: int | None) -> Any:
    v = to_jsonable(value)
    if isinstance(v, float) and decimals is not None:
        return round(v, decimals)
    return v


def _text(value: Any, decimals: int | None) -> str:
    v = to_jsonable(value)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)) and decimals is not None and math.isfinite(v):
        return f"{v:,.{decimals}f}"
    return str(v)


def write_section_sheets(wb: Any, table: SectionTable, pub_name: str, data_name: str,
                         source: str, sheet_rows: Any) -> None:
    """A publication sheet and a data sheet for one section table."""
    from openpyxl.styles import Font

    from flestimate.report.workbook import number_format

    ws = wb.create_sheet(pub_name)
    put = sheet_rows(ws).add
    put([table.title])
    ws["A1"].font = Font(bold=True, size=12)
    cols = list(table.columns)
    put([table.columns[c] for c in cols])
    for c in range(1, len(cols) + 1):
        ws.cell(row=2, column=c).font = Font(bold=True)
    for rec in table.frame[cols].itertuples(index=False):
        row = put([_cell(v, table.decimals.get(c)) for c, v in zip(cols, rec, strict=True)])
        for j, c in enumerate(cols, start=1):
            if table.decimals.get(c) is not None:
                ws.cell(row=row, column=j).number_format = number_format(table.decimals[c])
    put([])
    for text in [*table.notes, source]:
        ws.cell(row=put([text]), column=1).font = Font(italic=True, size=9)
    ws.freeze_panes = "B3"

    wd = wb.create_sheet(data_name)
    put = sheet_rows(wd).add
    put([f"{table.title} (data: full precision)"])
    wd["A1"].font = Font(bold=True, size=12)
    put(list(table.frame.columns))
    for rec in table.frame.itertuples(index=False):
        put([to_jsonable(v) for v in rec])
    wd.freeze_panes = "A3"


def section_html(sections: list[ReportSection]) -> list[dict[str, Any]]:
    """The sections as the HTML template shows them (text cells, already rounded)."""
    out = []
    for s in sections:
        tables = []
        for t in s.tables:
            cols = list(t.columns)
            rows = [[_text(v, t.decimals.get(c)) for c, v in zip(cols, rec, strict=True)]
                    for rec in t.frame[cols].itertuples(index=False)]
            tables.append({"name": t.name, "title": t.title, "head": [t.columns[c] for c in cols],
                           "rows": rows, "notes": t.notes, "plot": t.plot_png})
        out.append({"name": s.name, "title": s.title, "method": s.method, "tables": tables})
    return out
