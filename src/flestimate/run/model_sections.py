"""The model-based sections of a run (``small_areas:``, ``nsum:``, ``proxy:``), in the
report's order."""

from __future__ import annotations

from typing import Any

from flestimate.report.result import ReportSection
from flestimate.run.config_specs import Config
from flestimate.run.nsum import nsum_section
from flestimate.run.progress import Progress
from flestimate.run.proxy import proxy_section
from flestimate.run.small_areas import small_area_section

__all__ = ["model_sections"]


def model_sections(design: Any, config: Config, labels: dict, diags: list,
                   progress: Progress) -> list[ReportSection]:
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
    return sections
