"""Label metadata outside the statistical formats: codebook files and Parquet schema metadata.

Codebook file (YAML or JSON)
----------------------------
CSV, TSV and Excel files carry no labels; a codebook beside them does. Schema (version 1)::

    flestimate_codebook: 1          # optional marker of the schema version
    file_label: "Forced labour survey 2024"          # optional
    variables:
      sex:
        label: Sex                                  # variable label
        values: {1: male, 2: female}                # value labels, code -> label
      p1:
        label: "P1: Threats or violence against worker or family"
        values: {1: "yes", 2: "no", 8: "don't know", 9: "refused"}
        missing: [8, 9]                             # user-missing codes, kept in the frame
        missing_ranges: [[97, 99]]                  # inclusive user-missing ranges
      sector:
        label: Economic activity (ISIC Rev.4 section)
        values: {A: Agriculture, B: Mining}         # text codes for text columns

Every key under a variable is optional. In JSON the codes of ``values`` are object keys,
hence text: they are converted to numbers when the column is numeric (``"1"`` -> ``1``).
``read_survey(path, codebook=...)`` applies a codebook to any format (its entries replace
the file's own labels for the variables it names). Without ``codebook=``, a CSV, TSV, Excel
or Parquet file ``NAME.EXT`` picks up ``NAME.codebook.yaml`` (``.yml``, ``.json``) from the
same folder when one exists; ``codebook=False`` switches that off.

Parquet schema metadata
-----------------------
flestimate keeps labels in a Parquet file's Arrow schema metadata under the key
``flestimate.labels`` (bytes of a UTF-8 JSON object)::

    {"version": 1,
     "variable_labels": {"sex": "Sex"},
     "value_labels": {"sex": [[1, "male"], [2, "female"]]},
     "missing_values": {"p1": [8, 9, {"lo": 97, "hi": 99}]},
     "file_label": null}

Value labels are lists of ``[code, label]`` pairs so that numeric codes keep their type.
:func:`write_parquet` writes this key (and pandas' own metadata); any Parquet writer that
sets the same key produces files whose labels :func:`~flestimate.read_survey` restores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import LoaderError, ValidationError
from flestimate.io.frames import as_frame

__all__ = [
    "PARQUET_METADATA_KEY",
    "Labels",
    "codebook_dict",
    "find_codebook",
    "load_codebook",
    "normalise_code",
    "parquet_labels",
    "parquet_metadata_bytes",
    "write_codebook",
    "write_parquet",
]

PARQUET_METADATA_KEY = b"flestimate.labels"
CODEBOOK_SUFFIXES = (".codebook.yaml", ".codebook.yml", ".codebook.json")


class Labels:
    """Variable labels, value labels, user-missing codes and file label of one file."""

    __slots__ = ("variable_labels", "value_labels", "missing_values", "file_label")

    def __init__(
        self,
        variable_labels: Mapping[str, str] | None = None,
        value_labels: Mapping[str, Mapping[Any, str]] | None = None,
        missing_values: Mapping[str, Iterable[Any]] | None = None,
        file_label: str | None = None,
    ) -> None:
        self.variable_labels = dict(variable_labels or {})
        self.value_labels = {k: dict(v) for k, v in (value_labels or {}).items()}
        self.missing_values = {k: tuple(v) for k, v in (missing_values or {}).items()}
        self.file_label = file_label

    def updated(self, other: Labels) -> Labels:
        """These labels with ``other``'s entries replacing them variable by variable."""
        return Labels(
            {**self.variable_labels, **other.variable_labels},
            {**self.value_labels, **other.value_labels},
            {**self.missing_values, **other.missing_values},
            other.file_label if other.file_label is not None else self.file_label,
        )

    def restricted(self, columns: Iterable[str]) -> Labels:
        keep = set(columns)
        return Labels(
            {k: v for k, v in self.variable_labels.items() if k in keep},
            {k: v for k, v in self.value_labels.items() if k in keep},
            {k: v for k, v in self.missing_values.items() if k in keep},
            self.file_label,
        )


def normalise_code(code: Any) -> Any:
    """A value-label or missing code in canonical form: integral numbers as ``int``."""
    if isinstance(code, (bool, np.bool_)):
        return int(code)
    if isinstance(code, (int, np.integer)):
        return int(code)
    if isinstance(code, (float, np.floating)):
        f = float(code)
        return int(f) if f.is_integer() else f
    return code


def _numeric_code(code: Any, where: str) -> Any:
    if isinstance(code, str):
        try:
            f = float(code)
        except ValueError:
            raise LoaderError(
                f"{where}: code {code!r} is not a number but the column is numeric; "
                "use numeric codes for numeric columns."
            ) from None
        return normalise_code(f)
    return normalise_code(code)


def _read_mapping_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoaderError(f"codebook {str(path)!r} does not exist; check the path.") from None
    except IsADirectoryError:
        raise LoaderError(f"codebook {str(path)!r} is a directory, not a file.") from None
    except UnicodeDecodeError as exc:
        raise LoaderError(
            f"codebook {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8."
        ) from None
    except OSError as exc:
        raise LoaderError(f"codebook {str(path)!r} cannot be read: {exc.strerror}.") from None
    if path.suffix.lower() != ".json":
        from flestimate.io.safe_yaml import parse_yaml

        return parse_yaml(text, name=f"codebook {str(path)!r}", error=LoaderError,
                          max_alias_nodes=100_000)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError, nesting too deep
        raise LoaderError(
            f"codebook {str(path)!r} is not valid JSON: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}."
        ) from None


def load_codebook(path: str | Path, numeric_columns: Iterable[str] = ()) -> Labels:
    """Read a codebook file (YAML or JSON, schema in the module documentation).

    Parameters
    ----------
    path : str or Path
        The codebook file.
    numeric_columns : iterable of str
        Columns whose codes are numbers: text codes written as JSON keys (``"1"``) become
        numbers for them.

    Raises
    ------
    LoaderError
        The file is missing, unreadable, or does not follow the schema (the message names
        the key).
    """
    p = Path(path)
    raw = _read_mapping_file(p)
    src = f"codebook {str(p)!r}"
    if not isinstance(raw, Mapping) or not isinstance(raw.get("variables"), Mapping):
        raise LoaderError(
            f"{src}: expected a mapping with a 'variables' key (variable -> label, values, "
            "missing); see the codebook schema in flestimate.io.codebook."
        )
    unknown_top = set(raw) - {"variables", "file_label", "flestimate_codebook"}
    if unknown_top:
        raise LoaderError(
            f"{src}: unknown top-level key(s) {sorted(map(str, unknown_top))}; allowed: "
            "variables, file_label, flestimate_codebook."
        )
    numeric = set(numeric_columns)
    out = Labels(file_label=raw.get("file_label"))
    for name, spec in raw["variables"].items():
        name = str(name)
        where = f"{src}: variables.{name}"
        if spec is None:
            continue
        if isinstance(spec, str):  # shorthand: just the variable label
            out.variable_labels[name] = spec
            continue
        if not isinstance(spec, Mapping):
            raise LoaderError(f"{where}: expected a mapping (label, values, missing).")
        unknown = set(spec) - {"label", "values", "missing", "missing_ranges"}
        if unknown:
            raise LoaderError(
                f"{where}: unknown key(s) {sorted(map(str, unknown))}; allowed: label, values, "
                "missing, missing_ranges."
            )
        fix = (lambda c, w: _numeric_code(c, w)) if name in numeric else (
            lambda c, w: normalise_code(c)
        )
        if spec.get("label") is not None:
            out.variable_labels[name] = str(spec["label"])
        values = spec.get("values")
        if values is not None:
            if not isinstance(values, Mapping):
                raise LoaderError(f"{where}.values: expected a mapping code -> label.")
            out.value_labels[name] = {fix(k, f"{where}.values"): str(v) for k, v in values.items()}
        missing: list[Any] = []
        if spec.get("missing") is not None:
            codes = spec["missing"]
            if not isinstance(codes, list):
                codes = [codes]
            missing += [fix(c, f"{where}.missing") for c in codes]
        if spec.get("missing_ranges") is not None:
            ranges = spec["missing_ranges"]
            if not isinstance(ranges, list) or not all(
                isinstance(r, list) and len(r) == 2 for r in ranges
            ):
                raise LoaderError(
                    f"{where}.missing_ranges: expected a list of [lo, hi] pairs, e.g. [[97, 99]]."
                )
            for lo, hi in ranges:
                lo, hi = _numeric_code(lo, where), _numeric_code(hi, where)
                if lo > hi:
                    raise LoaderError(f"{where}.missing_ranges: range [{lo}, {hi}] has lo > hi.")
                missing.append({"lo": lo, "hi": hi})
        if missing:
            out.missing_values[name] = tuple(missing)
    return out


def find_codebook(data_path: Path) -> Path | None:
    """The codebook beside ``data_path`` (``NAME.codebook.yaml|yml|json``), if there is one."""
    for suffix in CODEBOOK_SUFFIXES:
        candidate = data_path.with_name(data_path.name.rsplit(".", 1)[0] + suffix)
        if candidate.is_file():
            return candidate
    return None


def _labels_of(data: Any, variable_labels, value_labels, missing_values) -> tuple[
    pd.DataFrame, Labels
]:
    frame = as_frame(data)
    if frame is data:
        base = Labels()
    else:
        src = getattr(data, "source", None)
        base = Labels(
            getattr(data, "variable_labels", None),
            getattr(data, "value_labels", None),
            getattr(data, "missing_values", None),
            getattr(src, "file_label", None),
        )
    extra = Labels(variable_labels, value_labels, missing_values)
    return frame, base.updated(extra).restricted(map(str, frame.columns))


def _plain(code: Any) -> Any:
    code = normalise_code(code)
    if isinstance(code, Mapping):
        return {"lo": normalise_code(code["lo"]), "hi": normalise_code(code["hi"])}
    return code


def codebook_dict(
    data: Any,
    *,
    variable_labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    missing_values: Mapping[str, Iterable[Any]] | None = None,
) -> dict[str, Any]:
    """The codebook (schema version 1) of a SurveyData or DataFrame, as a plain dict."""
    frame, labels = _labels_of(data, variable_labels, value_labels, missing_values)
    variables: dict[str, Any] = {}
    for col in map(str, frame.columns):
        spec: dict[str, Any] = {}
        if col in labels.variable_labels:
            spec["label"] = labels.variable_labels[col]
        if col in labels.value_labels:
            spec["values"] = {_plain(k): v for k, v in labels.value_labels[col].items()}
        codes = labels.missing_values.get(col, ())
        scalars = [_plain(c) for c in codes if not isinstance(c, Mapping)
                   and not (isinstance(c, str) and c.startswith("."))]
        ranges = [[_plain(c["lo"]), _plain(c["hi"])] for c in codes if isinstance(c, Mapping)]
        if scalars:
            spec["missing"] = scalars
        if ranges:
            spec["missing_ranges"] = ranges
        if spec:
            variables[col] = spec
    out: dict[str, Any] = {"flestimate_codebook": 1}
    if labels.file_label:
        out["file_label"] = labels.file_label
    out["variables"] = variables
    return out


def write_codebook(
    data: Any,
    path: str | Path,
    *,
    variable_labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    missing_values: Mapping[str, Iterable[Any]] | None = None,
) -> Path:
    """Write the codebook of ``data`` as YAML (``.yaml``/``.yml``) or JSON (``.json``).

    Name it ``NAME.codebook.yaml`` beside ``NAME.csv`` and :func:`~flestimate.read_survey`
    applies it without being told. Labels given as arguments replace those of ``data``.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    p = Path(path)
    book = codebook_dict(
        data, variable_labels=variable_labels, value_labels=value_labels,
        missing_values=missing_values,
    )
    if p.suffix.lower() == ".json":
        text = json.dumps(book, indent=2, ensure_ascii=False) + "\n"
    elif p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(book, sort_keys=False, allow_unicode=True)
    else:
        raise ValidationError(
            f"write_codebook: path {str(p)!r} must end in .yaml, .yml or .json."
        )
    p.write_text(text, encoding="utf-8")
    return p


def parquet_metadata_bytes(labels: Labels) -> bytes:
    """The JSON of the ``flestimate.labels`` schema-metadata key (see the module documentation)."""
    payload = {
        "version": 1,
        "variable_labels": labels.variable_labels,
        "value_labels": {
            k: [[_plain(code), text] for code, text in v.items()]
            for k, v in labels.value_labels.items()
        },
        "missing_values": {
            k: [_plain(c) for c in v] for k, v in labels.missing_values.items()
        },
        "file_label": labels.file_label,
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def parquet_labels(metadata: Mapping[bytes, bytes] | None, where: str) -> Labels:
    """Labels stored under ``flestimate.labels`` in Arrow schema metadata (empty if absent)."""
    if not metadata or PARQUET_METADATA_KEY not in metadata:
        return Labels()
    try:
        payload = json.loads(metadata[PARQUET_METADATA_KEY].decode("utf-8"))
        value_labels = {
            str(col): {normalise_code(code): str(text) for code, text in pairs}
            for col, pairs in payload.get("value_labels", {}).items()
        }
        missing = {
            str(col): tuple(
                {"lo": normalise_code(c["lo"]), "hi": normalise_code(c["hi"])}
                if isinstance(c, Mapping) else normalise_code(c)
                for c in codes
            )
            for col, codes in payload.get("missing_values", {}).items()
        }
        return Labels(
            {str(k): str(v) for k, v in payload.get("variable_labels", {}).items()},
            value_labels,
            missing,
            payload.get("file_label"),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LoaderError(
            f"{where}: the Parquet schema metadata 'flestimate.labels' is damaged "
            f"({type(exc).__name__}: {exc}); rewrite the file with flestimate.io.write_parquet."
        ) from None


def write_parquet(
    data: Any,
    path: str | Path,
    *,
    variable_labels: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    missing_values: Mapping[str, Iterable[Any]] | None = None,
    compression: str = "zstd",
) -> Path:
    """Write a SurveyData (or DataFrame) to Parquet with its labels in the schema metadata.

    The frame is written without its index; labels go under the ``flestimate.labels``
    key (see the module documentation), so :func:`~flestimate.read_survey` restores the
    same variable labels, value labels and user-missing codes.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame, labels = _labels_of(data, variable_labels, value_labels, missing_values)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PARQUET_METADATA_KEY] = parquet_metadata_bytes(labels)
    table = table.replace_schema_metadata(meta)
    p = Path(path)
    pq.write_table(table, p, compression=compression)
    return p
