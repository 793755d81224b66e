"""The notebooks run top to bottom on small sizes (nbclient), from the notebooks/ folder.

Sizes are set by appending to each notebook's cell tagged ``parameters`` (as papermill
does), so the whole file runs in well under a minute. Set FLESTIMATE_NOTEBOOKS_FULL=1 to
run them at their own sizes instead (the coverage study then takes minutes).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# notebook -> extra lines for its parameters cell ({tmp} is a temporary folder)
SMALL = {
    "01-quickstart.ipynb": "",
    "02-nso-workflow.ipynb": "OUT_DIR = {tmp!r}",
    "03-ci-coverage.ipynb": (
        "REPLICATIONS = 8\nRESPONDENTS = 3_000\nSCENARIO_NAMES = ['p0.5%-low', 'p2%-high']"
    ),
    "04-district-estimates.ipynb": "N_BOOTSTRAP = 30",
    "05-mse.ipynb": "BOOTSTRAP = 100\nSIM_REPLICATIONS = 2",
    "06-hidden-populations.ipynb": "BOOTSTRAP = 50\nSIM_REPLICATIONS = 2\nSIM_BOOTSTRAP = 20",
}
# notebook -> text of the code cell that must show a figure when run
FIGURES = {"03-ci-coverage.ipynb": "study.plot_summary(summary)",
           "04-district-estimates.ipynb": "fit.plot_areas(ax=ax)",
           "05-mse.ipynb": "r.plot();",
           "06-hidden-populations.ipynb": "rds.convergence_plot(res)"}
# an import of a private module or name of flestimate (flestimate._x, from flestimate import _x)
PRIVATE_IMPORT = re.compile(
    r"\bflestimate(?:\.\w+)*\._\w|\bfrom\s+flestimate(?:\.\w+)*\s+import\s+[^\n]*\b_\w"
)


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(SMALL)


def test_notebooks_have_a_parameters_cell_and_no_outputs():
    for name in SMALL:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs, f"{name}: commit notebooks without outputs"
        # the public API only
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "import flestimate as fl" in code
        assert not PRIVATE_IMPORT.search(code), f"{name}: imports a private module of flestimate"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernel spec for this very interpreter, so the notebooks see this flestimate
    whatever other "python3" kernels the machine has."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "flestimate-tests"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "flestimate tests",
                "language": "python",
            }
        )
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(root))
    yield "flestimate-tests"
    mp.undo()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_notebook_runs(name, tmp_path, kernel_name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    if os.environ.get("FLESTIMATE_NOTEBOOKS_FULL") != "1":
        for cell in nb.cells:
            if "parameters" in cell.metadata.get("tags", []):
                cell.source += "\n" + SMALL[name].format(tmp=str(tmp_path / "out"))
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "error"
    ]
    assert not errors
    # every code cell ran
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip())
    # and the figures are shown (the library must not switch the notebook's backend)
    if name in FIGURES:
        (cell,) = [c for c in nb.cells if c.cell_type == "code" and FIGURES[name] in c.source]
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.outputs
