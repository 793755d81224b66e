"""The one YAML loader (issue 14, defects 8 and 10): budgets on size, nesting and aliases,
refusals as the caller's named error naming the file, bounded messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flestimate.cli import main
from flestimate.errors import ConfigError, LoaderError, MappingError, first_values, shown
from flestimate.indicators.mapping import load_mapping
from flestimate.io.codebook import load_codebook
from flestimate.io.safe_yaml import MAX_DEPTH, parse_yaml, read_yaml_file
from flestimate.run.config import load_config

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"

# nine aliases of nine aliases ... : 9**7 values from a few hundred bytes
BOMB = "\n".join(
    [
        'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 7)),
    ]
)
# the same inside the title (the attack of the issue: a nested-alias title)
TITLE_BOMB = "title: [" + ", ".join(
    ['&l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
     *(f"&l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 8))]
) + "]\n"


def _copy_sample(tmp_path: Path) -> Path:
    for name in ("example.yaml", "mapping.yaml", "fl_survey.sav", "margins.csv"):
        shutil.copy(SAMPLE / name, tmp_path / name)
    return tmp_path / "example.yaml"


def _with(cfg: Path, old: str, new: str) -> Path:
    text = cfg.read_text(encoding="utf-8")
    assert old in text
    cfg.write_text(text.replace(old, new, 1), encoding="utf-8")
    return cfg


@pytest.mark.parametrize("doc", [BOMB, TITLE_BOMB])
def test_alias_bomb_refused(doc):
    with pytest.raises(ConfigError, match=r"c\.yaml: its aliases .* expand to [\d,]+ values") as exc:
        parse_yaml(doc, name="c.yaml", error=ConfigError)
    assert len(str(exc.value)) < 300


def test_alias_within_budget_still_works():
    doc = "base: &b {a: 1, b: [1, 2, 3]}\nx: *b\ny: {<<: *b, a: 2}\n"
    out = parse_yaml(doc, name="c.yaml", error=ConfigError)
    assert out["x"] == {"a": 1, "b": [1, 2, 3]} and out["y"]["a"] == 2


@pytest.mark.parametrize("doc", ["a: &a [1, *a]\n", "a: &a {b: *a}\n"])
def test_recursive_alias_refused(doc):
    with pytest.raises(MappingError, match=r"m\.yaml: nested more than \d+ levels deep once aliases"):
        parse_yaml(doc, name="m.yaml", error=MappingError)


def test_deep_nesting_refused_before_recursion_limit():
    doc = "title: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ConfigError, match=rf"nested more than {MAX_DEPTH} levels deep at line 1"):
        parse_yaml(doc, name="c.yaml", error=ConfigError)
    assert parse_yaml("a: " + "[" * 40 + "]" * 40, name="c", error=ConfigError)["a"] == [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]


def test_duplicate_and_unhashable_keys_refused():
    with pytest.raises(ConfigError, match=r"key 'seed' appears twice \(lines 1 and 2\)"):
        parse_yaml("seed: 1\nseed: 2\n", name="c.yaml", error=ConfigError)
    with pytest.raises(ConfigError, match="keys must be plain values"):
        parse_yaml("? [1, 2]\n: 3\n", name="c.yaml", error=ConfigError)


def test_size_and_encoding_budgets(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("title: " + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"big\.yaml' is larger than 1,000 bytes"):
        read_yaml_file(big, error=ConfigError, what="config file", max_bytes=1000)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("title: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin\.yaml' is not a UTF-8 text file"):
        read_yaml_file(latin, error=ConfigError, what="config file")


def test_config_bomb_exits_2_with_short_message(tmp_path, capsys):
    cfg = _with(_copy_sample(tmp_path), "title: Forced labour in the synthetic sample survey "
                "(flestimate example)\n", TITLE_BOMB)
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "example.yaml: its aliases" in err and "Traceback" not in err and len(err) < 400
    assert not (tmp_path / "out").exists()


def test_mapping_file_budgets(tmp_path):
    m = tmp_path / "mapping.yaml"
    m.write_text("framework: ilo-2012\n" + BOMB + "\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"mapping\.yaml: its aliases"):
        load_mapping(m)
    m.write_text("framework: " + "[" * 400 + "]" * 400 + "\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"mapping\.yaml: nested more than"):
        load_mapping(m)
    m.write_bytes((SAMPLE / "mapping.yaml").read_text(encoding="utf-8").replace(
        "framework", "# \xe9t\xe9\nframework", 1).encode("latin-1"))
    with pytest.raises(MappingError, match=r"mapping file 'mapping\.yaml' is not a UTF-8 text file"):
        load_mapping(m)


def test_mapping_messages_are_bounded(tmp_path):
    m = tmp_path / "mapping.yaml"
    text = (SAMPLE / "mapping.yaml").read_text(encoding="utf-8")
    # an alias-built value within budget but far longer than a message should be
    m.write_text("x: &x [" + ", ".join(["'" + "z" * 500 + "'"] * 15) + "]\n"
                 + text.replace("framework: ilo-2012", "framework: *x"), encoding="utf-8")
    with pytest.raises(MappingError) as exc:
        load_mapping(m)
    assert len(str(exc.value)) < 400
    with pytest.raises(MappingError, match="unknown framework") as exc:
        load_mapping({"framework": ["a" * 10**6], "columns": {}, "indicators": {}})
    assert len(str(exc.value)) < 400


def test_codebook_uses_the_bounded_loader(tmp_path):
    cb = tmp_path / "book.yaml"
    cb.write_text("variables: " + "[" * 400 + "]" * 400 + "\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="nested more than"):
        load_codebook(cb)


def test_load_config_deep_nesting_named(tmp_path):
    cfg = _with(_copy_sample(tmp_path), "seed: 20181010", "seed: " + "{a: " * 300 + "1" + "}" * 300)
    with pytest.raises(ConfigError, match=r"example\.yaml: nested more than"):
        load_config(cfg)


def test_shown_never_builds_the_whole_repr():
    a: list = ["lol"] * 9
    for _ in range(12):  # 9**13 leaves: a full repr would never finish
        a = [a] * 9
    text = shown(a)
    assert len(text) <= 60 and text.startswith("[[[[")
    assert shown(10**10000).startswith("<an integer of about 10001 digits")
    loop: list = [1]
    loop.append(loop)
    assert shown(loop) == "[1, [...]]"
    assert shown("x" * 10**6, limit=20) == "'xxxxxxxxxxxxxxxx..."
    assert first_values(["y" * 10**6, 3]).startswith("'yyy") and len(first_values(["y" * 10**6])) <= 60
