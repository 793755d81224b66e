"""Validation of the ``flestimate run`` configuration (flestimate.run.config)."""

from __future__ import annotations

import copy

import pytest
import yaml

from flestimate.errors import ConfigError
from flestimate.run.config import check_columns, load_config, parse_config


@pytest.fixture
def base(tmp_path):
    (tmp_path / "data.csv").write_text("pid,w,stratum,psu,age,sex,fl\n1,1,1,1,20,1,0\n")
    (tmp_path / "mapping.yaml").write_text("settings: {}\n")
    (tmp_path / "margins.csv").write_text("sex,count\n1,10\n2,10\n")
    return tmp_path


def good():
    return {
        "title": "Test",
        "input": {"path": "data.csv"},
        "mapping": "mapping.yaml",
        "design": {"weight": "w", "strata": "stratum", "psu": "psu"},
        "populations": {"adults": "age >= 18", "children": "age >= 5 and age <= 17"},
        "tables": [
            {"name": "national"},
            {"name": "by_sex", "by": ["sex"], "population": "adults"},
        ],
    }


def test_valid_config_and_defaults(base):
    cfg = parse_config(good(), base_dir=base)
    assert cfg.input_path == base / "data.csv"
    assert cfg.mapping == base / "mapping.yaml"
    assert cfg.design.lonely_psu == "fail"
    assert cfg.ci_method == "korn-graubard" and cfg.level == 0.95 and cfg.scale == 1000
    assert set(cfg.populations) == {"total", "adults", "children"}
    assert cfg.populations["total"] is None
    assert cfg.populations["adults"].columns == ("age",)
    t = cfg.tables[1]
    assert (t.name, t.by, t.population, t.statistics, t.indicator) == (
        "by_sex", ("sex",), "adults", ("prevalence", "total"), "fl")
    assert cfg.reliability.min_n == 30 and cfg.reliability.cv_suppress == 0.5


def test_load_from_file_resolves_relative_paths(base, tmp_path_factory):
    (base / "run.yaml").write_text(yaml.safe_dump(good()))
    other = tmp_path_factory.mktemp("elsewhere")
    import os

    cwd = os.getcwd()
    os.chdir(other)
    try:
        cfg = load_config(base / "run.yaml")
    finally:
        os.chdir(cwd)
    assert cfg.input_path == (base / "data.csv").resolve()
    assert cfg.path == (base / "run.yaml").resolve()


def mutate(path, value):
    cfg = good()
    node = cfg
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is KeyError:
        del node[last]
    else:
        node[last] = value
    return cfg


@pytest.mark.parametrize(
    ("path", "value", "pattern"),
    [
        ("desing", {"weight": "w"}, r"desing: unknown key; did you mean 'design'\?"),
        ("design.wieght", "w", r"design.wieght: unknown key; did you mean 'weight'\?"),
        ("design.lonely_psu", "remvoe", r"design.lonely_psu: found 'remvoe' .*did you mean 'remove'\?"),
        ("design.weight", 3, r"design.weight: found 3 \(int\); expected a non-empty text value"),
        ("design", KeyError, r"design: required key is missing"),
        ("input.path", "nope.csv", r"input.path: file not found: 'nope.csv'"),
        ("mapping", "nomap.yaml", r"mapping: file not found: 'nomap.yaml'"),
        ("populations.adults", "age >= ", r"populations.adults: filter 'age >= ': expected"),
        ("populations.adults", "__import__('os').system('x')",
         r"populations.adults: .*names starting with '__' are not allowed"),
        ("populations.adults", 18, r"populations.adults: found 18 \(int\); expected a filter"),
        ("tables.0.name", "bad name!", r"tables\[0\].name: found 'bad name!'"),
        ("tables.1.by", "sex", None),  # a single name is accepted
        ("tables.1.by", [1], r"tables\[1\].by\[0\]: found 1 \(int\)"),
        ("tables.1.population", "adultz", r"tables\[1\].population: .*did you mean 'adults'\?"),
        ("tables.1.statistics", ["prevalance"], r"did you mean 'prevalence'\?"),
        ("tables.1.level", 95, r"tables\[1\].level: found 95 \(int\); expected a number > 0 and < 1"),
        ("tables.1.ci_method", "korn_graubard", r"did you mean 'korn-graubard'\?"),
        ("tables.1.colour", "red", r"tables\[1\].colour: unknown key"),
        ("tables", [], r"tables: found \[\] \(list\); expected a non-empty list"),
        ("reliability", {"min_n": "thirty"}, r"reliability.min_n: found 'thirty' \(str\); expected an integer >= 0"),
        ("reliability", {"cv_flag": 0.5, "cv_suppress": 0.3}, r"reliability.cv_suppress: found 0.3"),
        ("reliability", {"nchs": "yes"}, r"reliability.nchs: found 'yes' \(str\); expected true or false"),
        ("outputs", {"exel": True}, r"outputs.exel: unknown key; did you mean 'excel'\?"),
        ("weighting", [{"step": "rak", "totals": "margins.csv"}], r"weighting\[0\].step: .*did you mean 'rake'\?"),
        ("weighting", [{"step": "rake", "totals": "nomargins.csv"}], r"weighting\[0\].totals: file not found"),
        ("weighting", {"step": "rake"}, r"weighting: found .*expected a list of steps"),
        ("seed", -1, r"seed: found -1 \(int\); expected an integer >= 0"),
        ("duration", {"variable": "dur", "period": 0}, r"duration.period: found 0"),
        ("headline", {"population": "kids"}, r"headline.population: found 'kids'"),
    ],
)
def test_bad_configs_name_the_key_the_value_and_what_is_allowed(base, path, value, pattern):
    cfg = mutate(path, value)
    if pattern is None:
        parse_config(cfg, base_dir=base)
        return
    with pytest.raises(ConfigError, match=pattern) as exc:
        parse_config(cfg, base_dir=base)
    assert "\n" not in str(exc.value)


def test_share_needs_one_by_column(base):
    cfg = good()
    cfg["tables"].append({"name": "share", "statistics": ["share"], "by": ["sex", "age"]})
    with pytest.raises(ConfigError, match=r"tables\[2\].by: .*exactly one 'by' column"):
        parse_config(cfg, base_dir=base)


def test_duplicate_table_names(base):
    cfg = good()
    cfg["tables"].append({"name": "national"})
    with pytest.raises(ConfigError, match="table names must be unique"):
        parse_config(cfg, base_dir=base)


def test_missing_config_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    p = tmp_path / "bad.yaml"
    p.write_text("design:\n  weight: w\n   psu: [\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+"):
        load_config(p)
    p.write_text("")
    with pytest.raises(ConfigError, match="empty"):
        load_config(p)


def test_yaml_tags_are_not_evaluated(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("input: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


def test_check_columns(base):
    cfg = parse_config(good(), base_dir=base)
    cols = ["pid", "w", "stratum", "psu", "age", "sex", "fl", "fl_adult"]
    check_columns(cfg, cols, indicators=["fl", "fl_adult"])
    bad = copy.deepcopy(good())
    bad["tables"][1]["by"] = ["sexe"]
    with pytest.raises(ConfigError, match=r"tables\[1\].by\[0\]: column 'sexe' is not a column of the data; did you mean 'sex'\?"):
        check_columns(parse_config(bad, base_dir=base), cols)
    bad = copy.deepcopy(good())
    bad["tables"][0]["indicator"] = "fl_adlt"
    with pytest.raises(ConfigError, match=r"tables\[0\].indicator: unknown indicator 'fl_adlt'; did you mean 'fl_adult'\?"):
        check_columns(parse_config(bad, base_dir=base), cols, indicators=["fl", "fl_adult"])
    bad = copy.deepcopy(good())
    bad["design"]["psu"] = "ea"
    with pytest.raises(ConfigError, match=r"design.psu: column 'ea' is not a column"):
        check_columns(parse_config(bad, base_dir=base), cols)
    bad = copy.deepcopy(good())
    bad["populations"]["workers"] = "worked == 1"
    with pytest.raises(ConfigError, match=r"populations.workers: .*unknown column 'worked'"):
        check_columns(parse_config(bad, base_dir=base), cols)


def test_replicate_design_config(base):
    cfg = good()
    cfg["design"] = {"weight": "w", "replicate": {"weights": "repw", "method": "jk1"}}
    assert parse_config(cfg, base_dir=base).design.replicate["method"] == "jk1"
    cfg["design"]["replicate"]["method"] = "jackknife"
    with pytest.raises(ConfigError, match=r"design.replicate.method: found 'jackknife'"):
        parse_config(cfg, base_dir=base)
    cfg["design"]["replicate"] = {"weights": ["r1", "r2"]}
    with pytest.raises(ConfigError, match=r"design.replicate.method: required key is missing"):
        parse_config(cfg, base_dir=base)
    cfg["design"] = {"weight": "w", "psu": "psu",
                     "replicate": {"weights": ["r1"], "method": "brr"}}
    with pytest.raises(ConfigError, match=r"design.psu: found 'psu' together with design.replicate"):
        parse_config(cfg, base_dir=base)
