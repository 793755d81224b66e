"""The model-based sections of a run (``small_areas:``, ``nsum:``, ``proxy:``,
``models:``), in the
report's order."""

from __future__ import annotations

from typing import Any

from flestimate.report.result import ReportSection
from flestimate.run.config_specs import Config
from flestimate.run.models import model_section
from flestimate.run.nsum import nsum_section
from flestimate.run.progress import Progress
from flestimate.run.proxy import proxy_section
from flestimate.run.small_areas import small_area_section

__all__ = ["model_sections"]


def model_sections(design: Any, config: Config, labels: dict, diags: list,
                   progress: Progress, pop_cols: dict[str, str | None] | None = None,
                   ) -> list[ReportSection]:
    """The sections the config asks for (none: an empty list, the outputs unchanged)."""
    sections = []
    if config.small_areas is not None:
        with progress.step(f"small-area estimates by {config.small_areas.area}"):
            sections.append(small_area_section(design, config, labels, diags))
    if config.nsum is not None:
        with progress.step("network scale-up"):
            sections.append(nsum_section(design, config))
    if config.proxy is not None:
        with progress.step("family (proxy) reports"):
            sections.append(proxy_section(design, config))
    for m in config.models:
        with progress.step(f"model {m.name}"):
            sections.append(model_section(design, m, config, (pop_cols or {}).get(m.population),
                                          labels, plots=config.outputs.plots))
    return sections
