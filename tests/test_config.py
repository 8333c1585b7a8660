"""Settings: precedence, sources, validation and the generated config file."""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

import pytest

from ragkb.cli.commands.config import render_config_toml
from ragkb.config import (
    FIELDS,
    FIELDS_BY_NAME,
    SECTIONS,
    load_settings,
    read_config_file,
)
from ragkb.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def empty_user_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user config dir (platformdirs reads XDG_CONFIG_HOME) at an empty temp dir."""
    folder = tmp_path / "xdg-config"
    folder.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- precedence and sources -------------------------------------------------------------------


def test_defaults_when_nothing_is_set() -> None:
    settings = load_settings({}, environ={})
    for field in FIELDS:
        assert settings.value(field.name) == field.default, field.name
        assert settings.sources[field.name] == "default", field.name
    assert settings.config_path is None


def test_config_file_overrides_default(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "c.toml", "[retrieval]\nk = 7\n[store]\nmetric = 'l2'\n")
    settings = load_settings({}, config_path=path, environ={})
    assert settings.retrieval.k == 7
    assert settings.store.metric == "l2"
    assert settings.sources["k"] == f"file {path}"
    assert settings.sources["metric"] == f"file {path}"
    assert settings.sources["mode"] == "default"
    assert settings.config_path == path


def test_env_overrides_config_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "c.toml", "[retrieval]\nk = 7\nmode = 'vector'\n")
    settings = load_settings({}, config_path=path, environ={"RAGKB_K": "9"})
    assert settings.retrieval.k == 9
    assert settings.sources["k"] == "env"
    # A key only the file sets still comes from the file.
    assert settings.retrieval.mode == "vector"
    assert settings.sources["mode"] == f"file {path}"


def test_flag_overrides_env_and_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "c.toml", "[retrieval]\nk = 7\n")
    settings = load_settings({"k": 11}, config_path=path, environ={"RAGKB_K": "9"})
    assert settings.retrieval.k == 11
    assert settings.sources["k"] == "flag"


def test_none_flags_and_empty_env_values_are_ignored(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "c.toml", "[retrieval]\nk = 7\n")
    settings = load_settings({"k": None}, config_path=path, environ={"RAGKB_K": ""})
    assert settings.retrieval.k == 7
    assert settings.sources["k"] == f"file {path}"


def test_ragkb_config_env_names_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "env.toml", "[generation]\nn_ctx = 4096\n")
    settings = load_settings({}, environ={"RAGKB_CONFIG": str(path)})
    assert settings.generation.n_ctx == 4096
    assert settings.sources["n_ctx"] == f"file {path}"


def test_config_flag_beats_ragkb_config(tmp_path: Path) -> None:
    from_env = write_toml(tmp_path / "env.toml", "[retrieval]\nk = 3\n")
    from_flag = write_toml(tmp_path / "flag.toml", "[retrieval]\nk = 4\n")
    settings = load_settings({}, config_path=from_flag, environ={"RAGKB_CONFIG": str(from_env)})
    assert settings.retrieval.k == 4
    assert settings.config_path == from_flag


def test_user_config_dir_is_the_last_resort(empty_user_config_dir: Path) -> None:
    path = empty_user_config_dir / "ragkb" / "config.toml"
    path.parent.mkdir()
    write_toml(path, "[retrieval]\nk = 8\n")
    settings = load_settings({}, environ={})
    assert settings.retrieval.k == 8
    assert settings.config_path == path
    assert settings.sources["k"] == f"file {path}"


def test_missing_config_files_are_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        load_settings({}, config_path=missing, environ={})
    with pytest.raises(ConfigError, match="RAGKB_CONFIG"):
        load_settings({}, environ={"RAGKB_CONFIG": str(missing)})


def test_env_values_are_coerced_to_the_field_type() -> None:
    settings = load_settings(
        {},
        environ={
            "RAGKB_MMR": "yes",
            "RAGKB_PRUNE": "off",
            "RAGKB_N_GPU_LAYERS": "-1",
            "RAGKB_MIN_SCORE": "0.55",
        },
    )
    assert settings.retrieval.mmr is True
    assert settings.ingest.prune is False
    assert settings.generation.n_gpu_layers == -1
    assert settings.retrieval.min_score == pytest.approx(0.55)
    assert {settings.sources[n] for n in ("mmr", "prune", "n_gpu_layers", "min_score")} == {"env"}


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="RAGKB_K"):
        load_settings({}, environ={"RAGKB_K": "many"})


@pytest.mark.parametrize("port", ["0", "-1", "65536", "99999"])
def test_a_port_out_of_range_is_refused_before_any_server_starts(port: str) -> None:
    with pytest.raises(UsageError, match="expected a whole number from 1 to 65535"):
        load_settings({"port": port})
    with pytest.raises(ConfigError, match="RAGKB_PORT"):
        load_settings({}, environ={"RAGKB_PORT": port})
    assert load_settings({"port": "65535"}).serve.port == 65535


def test_a_misspelt_variable_is_named_once_not_ignored_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = {"RAGKB_MIN_RELEVENCE": "0.5", "RAGKB_HOME": "/tmp/h", "RAGKB_DEBUG": "1"}
    with caplog.at_level("WARNING", logger="ragkb"):
        settings = load_settings({}, environ=environ)
        load_settings({}, environ=environ)
    assert settings.sources["min_relevance"] == "default"
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [
        "RAGKB_MIN_RELEVENCE is not a ragkb setting and is ignored; "
        "did you mean RAGKB_MIN_RELEVANCE or RAGKB_EVIDENCE or RAGKB_MIN_SCORE?"
    ]  # once; RAGKB_HOME and RAGKB_DEBUG are known


def test_home_and_api_key_come_from_the_given_environ(tmp_path: Path) -> None:
    settings = load_settings(
        {"api_key_env": "MY_KEY"},
        environ={"RAGKB_HOME": str(tmp_path / "h"), "MY_KEY": "s3cret"},
    )
    assert settings.home == tmp_path / "h"
    assert settings.generation.api_key == "s3cret"


# -- the config file rejects what it does not know -------------------------------------------


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[retrival]\nk = 5\n", "retrival"),
        ("[retrieval]\ntopk = 5\n", "topk"),
        ("[store]\nk = 5\n", "'k' in [store]"),  # a real key in the wrong section
        ("k = 5\n", "k"),  # a top-level key is not a section
    ],
)
def test_unknown_section_or_key_is_rejected_by_name(tmp_path: Path, toml: str, named: str) -> None:
    path = write_toml(tmp_path / "c.toml", toml)
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    assert named in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[retrieval]\nk = 'five'\n", "k"),
        ("[retrieval]\nk = true\n", "k"),
        ("[retrieval]\nk = 2.5\n", "k"),
        ("[store]\nkb = 5\n", "kb"),
        ("[ingest]\nprune = 'maybe'\n", "prune"),
        ("[retrieval]\nmin_score = false\n", "min_score"),
    ],
)
def test_wrong_type_is_rejected(tmp_path: Path, toml: str, named: str) -> None:
    path = write_toml(tmp_path / "c.toml", toml)
    with pytest.raises(ConfigError, match=rf"^{named} = .*expected"):
        read_config_file(path)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "c.toml", "[retrieval\nk = 5\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        read_config_file(path)


def test_integral_float_is_accepted_for_int(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "c.toml", "[retrieval]\nk = 6.0\n")
    assert read_config_file(path) == {"k": 6}


# -- choices and cross-field rules ------------------------------------------------------------


def test_metric_choice_enforced_in_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "c.toml", "[store]\nmetric = 'dot'\n")
    with pytest.raises(ConfigError, match=r'metric = "dot".*cosine, l2'):
        load_settings({}, config_path=path, environ={})


def test_mode_choice_enforced_in_env() -> None:
    with pytest.raises(ConfigError, match=r'mode = "semantic".*vector, keyword, hybrid'):
        load_settings({}, environ={"RAGKB_MODE": "semantic"})


def test_backend_choice_enforced_in_flag() -> None:
    with pytest.raises(ConfigError, match='backend = "vllm"'):
        load_settings({"backend": "vllm"}, environ={})
    assert load_settings({"backend": "openai"}, environ={}).generation.backend == "openai"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"chunk_tokens": 100, "overlap_tokens": 100}, "overlap_tokens"),
        ({"chunk_tokens": 100, "overlap_tokens": 150}, "overlap_tokens"),
        ({"overlap_tokens": -1}, "overlap_tokens"),
        ({"n_ctx": 512, "max_tokens": 512}, "max_tokens"),
        ({"n_ctx": 512, "max_tokens": 600}, "max_tokens"),
        ({"k": 0}, "k must be positive"),
        ({"k": 1001}, "k must be at most 1000"),
        ({"top_p": 1.5}, "top_p"),
        ({"temperature": -0.1}, "temperature"),
        ({"kb": "my kb"}, "kb name"),
        ({"kb": "a/b"}, "kb name"),
        ({"kb": "../up"}, "kb name"),
        ({"kb": ""}, "kb name"),
    ],
)
def test_validate_rejects_impossible_values(flags: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(flags, environ={})


def test_an_impossible_value_names_where_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"n_ctx must be positive \(got -5\) \(from RAGKB_N_CTX\)"
    ):
        load_settings({}, environ={"RAGKB_N_CTX": "-5"})
    config = tmp_path / "c.toml"
    config.write_text("[retrieval]\nk = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"from file {config}"):
        load_settings({}, config_path=config, environ={})
    with pytest.raises(ConfigError, match=r"\(from --k\)"):
        load_settings({"k": 10**9}, environ={})


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf"])
def test_a_threshold_must_be_a_finite_number(raw: str) -> None:
    with pytest.raises(ConfigError, match="RAGKB_MIN_RELEVANCE"):
        load_settings({}, environ={"RAGKB_MIN_RELEVANCE": raw})


def test_validate_accepts_values_at_the_edges() -> None:
    settings = load_settings(
        {
            "chunk_tokens": 100,
            "overlap_tokens": 99,
            "n_ctx": 512,
            "max_tokens": 511,
            "kb": "Docs_v2.1-x",
        },
        environ={},
    )
    assert settings.chunking.overlap_tokens == 99
    assert settings.generation.max_tokens == 511
    assert settings.store.kb == "Docs_v2.1-x"


def test_unknown_flag_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'topk'; did you mean 'top_p' in"):
        load_settings({"topk": 3}, environ={})


def test_a_typo_in_the_config_file_gets_a_suggestion_and_toml_spelling(tmp_path: Path) -> None:
    # A new-user trial: a typo'd key got no suggestion (a typo'd RAGKB_* variable did), and a
    # wrong type was shown as Python writes it ("k = True ...: expected int").
    path = tmp_path / "config.toml"
    path.write_text("[retrieval]\nmin_relevnce = 0.3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'min_relevance'\\?"):
        load_settings({}, config_path=path, environ={})
    path.write_text("[generation]\nmin_relevance = 0.3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'min_relevance' in \\[retrieval\\]"):
        load_settings({}, config_path=path, environ={})
    path.write_text("[retrieval]\nk = true\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"k = true .*: expected a whole number$"):
        load_settings({}, config_path=path, environ={})


def test_a_data_home_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    # A new-user trial: `list` said "No knowledge bases yet" and `ingest` failed on ENOTDIR.
    home = tmp_path / "home"
    home.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="RAGKB_HOME folder is a file"):
        load_settings({}, environ={"RAGKB_HOME": str(home)})


# -- the generated config file ----------------------------------------------------------------


def test_rendered_config_parses_back_to_the_defaults(tmp_path: Path) -> None:
    text = render_config_toml()
    data = tomllib.loads(text)
    assert list(data) == list(SECTIONS)
    for field in FIELDS:
        assert data[field.section][field.name] == field.default, field.name
    path = write_toml(tmp_path / "config.toml", text)
    assert read_config_file(path) == {f.name: f.default for f in FIELDS}


def test_rendered_config_lists_choices_and_help() -> None:
    text = render_config_toml()
    assert "(cosine | l2)" in text
    for field in FIELDS:
        assert f"# {field.help}" in text


def test_rendered_config_loads_with_every_value_from_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "config.toml", render_config_toml())
    settings = load_settings({}, config_path=path, environ={})
    assert set(settings.sources.values()) == {f"file {path}"}
    assert all(settings.value(f.name) == f.default for f in FIELDS)


# -- Settings.replace -------------------------------------------------------------------------


def test_replace_returns_a_changed_copy() -> None:
    original = load_settings({}, environ={"RAGKB_K": "9"})
    changed = original.replace(k="3", mmr=True)
    assert changed.retrieval.k == 3
    assert changed.retrieval.mmr is True
    assert changed.sources["k"] == "flag"
    assert changed.sources["mmr"] == "flag"
    assert changed.sources["mode"] == "default"
    # The original is untouched.
    assert original.retrieval.k == 9
    assert original.sources["k"] == "env"
    assert original.retrieval.mmr is FIELDS_BY_NAME["mmr"].default


def test_replace_keeps_home_config_path_and_api_key(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "c.toml", "[retrieval]\nk = 7\n")
    original = load_settings(
        {}, config_path=path, environ={"RAGKB_HOME": str(tmp_path), "OPENAI_API_KEY": "key"}
    )
    changed = original.replace(n_ctx=4096)
    assert changed.home == original.home
    assert changed.config_path == path
    assert changed.generation.api_key == "key"
    assert changed.retrieval.k == 7


def test_replace_validates_and_rejects_unknown_names() -> None:
    settings = load_settings({}, environ={})
    with pytest.raises(ConfigError, match="overlap_tokens"):
        settings.replace(overlap_tokens=settings.chunking.chunk_tokens)
    with pytest.raises(ConfigError, match="unknown setting 'nope'"):
        settings.replace(nope=1)
    with pytest.raises(ConfigError, match="metric"):
        settings.replace(metric="dot")


def test_an_old_config_files_thresholds_mean_the_embedders_own(tmp_path: Path) -> None:
    # Earlier `config init` files spelled out MiniLM's raw-cosine thresholds.
    path = tmp_path / "config.toml"
    path.write_text("[retrieval]\nmin_score = 0.3\nmin_relevance = 0.62\nk = 7\n")
    settings = load_settings(config_path=path, environ={})
    assert settings.retrieval.min_score == -1.0 and settings.retrieval.min_relevance == -1.0
    assert settings.retrieval.k == 7
    path.write_text("[retrieval]\nmin_relevance = 0.5\n")
    assert load_settings(config_path=path, environ={}).retrieval.min_relevance == 0.5
    assert load_settings({"min_score": 0.3}, environ={}).retrieval.min_score == 0.3
