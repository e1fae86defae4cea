"""The catalog composes experiments from pieces, and fails clearly on every misuse."""

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import InterruptExecution, InvalidSource
from click.testing import CliRunner

from chaosaws_serverless.catalog.cli import parse_piece_argument
from chaosaws_serverless.catalog.compose import compose, dumps, expand, has_references
from chaosaws_serverless.catalog.control import after_loading_experiment_control
from chaosaws_serverless.catalog.pieces import Catalog, CatalogError
from chaosaws_serverless.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
READY = [
    "region-failure",
    "region-failure-fis",
    "region-evacuation",
    "error-injection",
    "canary-alias-latency",
    "tagged-latency",
    "failover-preflight",
]
HEADER = {"title": "t", "description": "d"}


def write_piece(folder: Path, name: str, text: str) -> None:
    path = folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def tiny(tmp_path: Path) -> Catalog:
    """A small catalog of its own, so error cases do not depend on the shipped pieces."""
    write_piece(
        tmp_path,
        "conf/a",
        "description: a.\nconfiguration: {latency_ms: 1000, region: us-east-1}\n",
    )
    write_piece(tmp_path, "conf/b", "description: b.\nconfiguration: {latency_ms: 2000}\n")
    write_piece(
        tmp_path,
        "fault",
        """description: a fault on each function.
variables:
  functions: {description: function names, default: [f1, f2]}
  region: {description: where}
method:
  - for_each: fn
    in: "{{functions}}"
    do:
      type: action
      name: "slow-{{fn}}-in-{{region}}"
      provider:
        type: python
        module: m
        func: f
        arguments: {function_name: "{{fn}}", latency_ms: "${latency_ms}", n: "{{functions}}"}
rollbacks:
  - type: action
    name: "undo-{{region}}"
    provider: {type: python, module: m, func: g}
""",
    )
    write_piece(
        tmp_path,
        "probe",
        """description: a probe.
variables:
  who: {description: a mapping, default: {prefix: us, region: us-east-1}}
steady-state-hypothesis:
  title: steady
  probes:
    - type: probe
      name: "{{who.prefix}}-probe"
      tolerance: true
      provider: {type: python, module: m, func: p, arguments: {region: "{{who.region}}"}}
""",
    )
    return Catalog([tmp_path])


# --- the engine ------------------------------------------------------------------------


def test_for_each_typed_and_embedded_variables(tiny: Catalog) -> None:
    references = ["conf/a", {"piece": "fault", "with": {"region": "eu"}}]
    experiment = compose(references, tiny, base=HEADER)
    names = [a["name"] for a in experiment["method"]]
    assert names == ["slow-f1-in-eu", "slow-f2-in-eu"]
    arguments = experiment["method"][0]["provider"]["arguments"]
    # "{{x}}" alone keeps the value's JSON type; ${...} is left for chaos run.
    assert arguments == {"function_name": "f1", "latency_ms": "${latency_ms}", "n": ["f1", "f2"]}
    assert [a["name"] for a in experiment["rollbacks"]] == ["undo-eu"]
    assert experiment["configuration"] == {"latency_ms": 1000, "region": "us-east-1"}


def test_shared_variables_and_dotted_access(tiny: Catalog) -> None:
    experiment = compose(
        ["conf/a", "fault", "probe"],
        tiny,
        variables={"region": "ap", "who": {"prefix": "eu", "region": "eu-west-1"}},
        base=HEADER,
    )
    probe = experiment["steady-state-hypothesis"]["probes"][0]
    assert probe["name"] == "eu-probe"
    assert probe["provider"]["arguments"] == {"region": "eu-west-1"}
    assert experiment["steady-state-hypothesis"]["title"] == "steady"
    assert experiment["rollbacks"][0]["name"] == "undo-ap"


def test_experiment_values_win_over_piece_defaults(tiny: Catalog) -> None:
    base = {**HEADER, "configuration": {"latency_ms": 5}}
    experiment = compose(["conf/a"], tiny, base=base)
    assert experiment["configuration"] == {"latency_ms": 5, "region": "us-east-1"}


def test_unknown_piece_names_the_closest(tiny: Catalog) -> None:
    with pytest.raises(CatalogError, match=r"unknown catalog piece 'faul'; did you mean 'fault'"):
        compose(["faul"], tiny, base=HEADER)


def test_missing_variable_says_how_to_pass_it(tiny: Catalog) -> None:
    with pytest.raises(CatalogError, match=r"piece 'fault' needs variable 'region' \(where\)"):
        compose(["conf/a", "fault"], tiny, base=HEADER)


def test_unknown_variable_of_a_reference(tiny: Catalog) -> None:
    with pytest.raises(CatalogError, match=r"piece 'fault' has no variable 'regoin'"):
        compose([{"piece": "fault", "with": {"regoin": "x"}}], tiny, base=HEADER)


def test_shared_variable_no_piece_uses(tiny: Catalog) -> None:
    with pytest.raises(CatalogError, match=r"variable 'regoin' is not a variable of any"):
        compose(["conf/a"], tiny, variables={"regoin": "x"}, base=HEADER)


def test_configuration_clash_names_both_pieces(tiny: Catalog) -> None:
    with pytest.raises(
        CatalogError,
        match=r"configuration key 'latency_ms' clashes: piece 'conf/a' sets 1000 "
        r"and piece 'conf/b' sets 2000",
    ):
        compose(["conf/a", "conf/b"], tiny, base=HEADER)


def test_activity_name_clash(tiny: Catalog) -> None:
    with pytest.raises(CatalogError, match=r"activity name 'slow-f1-in-eu' comes from both"):
        compose(["conf/a", "fault", "fault"], tiny, variables={"region": "eu"}, base=HEADER)


def test_undeclared_configuration_reference(tiny: Catalog) -> None:
    with pytest.raises(
        CatalogError,
        match=r"piece 'fault' uses \$\{latency_ms\} .* compose conf/a or conf/b, or add",
    ):
        compose([{"piece": "fault", "with": {"region": "eu"}}], tiny, base=HEADER)


def test_piece_using_an_undeclared_variable(tmp_path: Path) -> None:
    write_piece(tmp_path, "p", "description: p.\nmethod: [{type: action, name: '{{nope}}'}]\n")
    with pytest.raises(CatalogError, match=r"piece 'p' uses \{\{nope\}\} but declares no"):
        compose(["p"], Catalog([tmp_path]), base=HEADER)


def test_malformed_pieces_and_catalogs(tmp_path: Path) -> None:
    write_piece(tmp_path / "one", "p", "description: p.\nmethods: []\n")
    with pytest.raises(CatalogError, match=r"piece 'p' .* has unknown key 'methods'"):
        Catalog([tmp_path / "one"])
    write_piece(tmp_path / "two", "p", "method: []\n")
    with pytest.raises(CatalogError, match=r"needs a one-sentence 'description'"):
        Catalog([tmp_path / "two"])
    write_piece(tmp_path / "three", "p", "description: p.\n")
    write_piece(tmp_path / "four", "p", "description: p.\n")
    with pytest.raises(CatalogError, match=r"piece 'p' is defined twice"):
        Catalog([tmp_path / "three", tmp_path / "four"])
    with pytest.raises(CatalogError, match=r"catalog directory .* does not exist"):
        Catalog([tmp_path / "missing"])


@pytest.mark.parametrize(
    ("pieces", "composed", "refusal"),
    [
        ({"self": "self"}, ["self"], r"piece 'self' \(.*\) refers to itself in its method"),
        ({"a": "b", "b": "a"}, ["a"], r"piece 'a' \(.*\) refers to piece 'b' in its method"),
        ({"a": "b", "b": "a"}, ["b", "a"], r"piece 'b' \(.*\) refers to piece 'a' in its method"),
    ],
)
def test_a_piece_referring_to_pieces_is_refused(
    pieces: dict[str, str], composed: list[str], refusal: str, tmp_path: Path
) -> None:
    """A piece that refers to itself, or two that refer to each other, once composed an
    experiment with a {"piece": ...} item left in its method (exit 0): now one line, exit 1."""
    from click.testing import CliRunner

    from chaosaws_serverless.cli import main

    for name, target in pieces.items():
        write_piece(tmp_path, name, f"description: {name}.\nmethod: [{{piece: {target}}}]\n")
    with pytest.raises(CatalogError, match=refusal):
        compose(composed, Catalog([tmp_path]), base=HEADER)
    output = tmp_path / "out.json"
    result = CliRunner().invoke(
        main, ["compose", *composed, "--catalog", str(tmp_path), "-o", str(output)]
    )
    assert result.exit_code == 1 and "refers to" in result.stderr and not output.exists()


def test_catalog_error_passes_chaoslib_loader_and_cli_handlers() -> None:
    # chaoslib re-raises only InterruptExecution from a control; chaos run
    # prints InvalidSource as one line and exits 1.
    assert issubclass(CatalogError, InterruptExecution)
    assert issubclass(CatalogError, InvalidSource)


def test_piece_argument_syntax() -> None:
    assert parse_piece_argument("a/b") == "a/b"
    assert parse_piece_argument('a/b:xs=["u","e"],n=3,s=eu-west-1') == {
        "piece": "a/b",
        "with": {"xs": ["u", "e"], "n": 3, "s": "eu-west-1"},
    }
    with pytest.raises(CatalogError, match="NAME:variable=value"):
        parse_piece_argument("a/b:oops")


# --- the shipped catalog ------------------------------------------------------------------


def test_every_shipped_piece_loads_with_a_description() -> None:
    catalog = Catalog.default()
    names = catalog.names()
    assert len(names) >= 15
    for group in ("configuration", "steady-state", "method", "rollbacks", "scenario"):
        assert any(n.startswith(f"{group}/") for n in names), group
    for name in names:
        description = catalog.piece(name).description
        assert description.endswith((".", ")")), f"{name}: {description!r}"


def readme_recipes() -> dict[str, list[str]]:
    """Return the compose commands of experiments/README.md, by output file."""
    text = (EXPERIMENTS / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^chaosaws-serverless compose .*?(?<!\\)$", text, re.M | re.S)
    recipes = {}
    for command in commands:
        words = shlex.split(command.replace("\\\n", " "))
        output = words[words.index("-o") + 1]
        recipes[Path(output).stem] = words[1:]
    return recipes


def test_readme_has_one_recipe_per_ready_experiment() -> None:
    assert sorted(readme_recipes()) == sorted(READY)


@pytest.mark.parametrize("name", READY)
def test_ready_experiment_is_its_readme_recipe_byte_for_byte(name: str, tmp_path: Path) -> None:
    arguments = readme_recipes()[name]
    out = tmp_path / f"{name}.json"
    arguments[arguments.index("-o") + 1] = str(out)
    result = CliRunner().invoke(main, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shipped = EXPERIMENTS / f"{name}.json"
    assert out.read_bytes() == shipped.read_bytes()
    experiment = json.loads(shipped.read_text(encoding="utf-8"))
    assert experiment["runtime"]["rollbacks"]["strategy"] == "always"


def test_short_form_expands_to_the_reference_experiment() -> None:
    from chaoslib.loader import parse_experiment_from_file

    short = parse_experiment_from_file(str(EXPERIMENTS / "short" / "region-failure.yaml"))
    assert has_references(short)
    shipped = (EXPERIMENTS / "region-failure.json").read_text(encoding="utf-8")
    assert dumps(expand(short, Catalog.default())) == shipped
    # What the loader control does to the experiment chaos run loaded.
    state: dict[str, Any] = dict(short)
    after_loading_experiment_control(str(EXPERIMENTS / "short" / "region-failure.yaml"), state)
    assert dumps(state) == shipped


def test_control_leaves_experiments_without_references_untouched() -> None:
    state = {"title": "t", "description": "d", "method": [{"type": "probe"}], "zz": 1, "a": 2}
    after_loading_experiment_control("x.json", state)
    assert list(state) == ["title", "description", "method", "zz", "a"]


def test_compose_cli_reports_errors_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["compose", "method/no-such-piece"])
    assert result.exit_code == 1
    assert "Error: unknown catalog piece 'method/no-such-piece'" in result.output
    result = CliRunner().invoke(main, ["compose", "configuration/aws-regions"])
    assert result.exit_code == 1
    assert "no title or description" in result.output
    result = CliRunner().invoke(main, ["catalog"])
    assert result.exit_code == 0
    assert "method/region-latency-fault\n" in result.output
    assert "--var functions:" in result.output


def test_two_scenarios_clash_on_the_title() -> None:
    with pytest.raises(
        CatalogError,
        match=r"'title' clashes: piece 'scenario/error-injection' sets .* piece "
        r"'scenario/region-failure' sets",
    ):
        compose(["scenario/error-injection", "scenario/region-failure"], Catalog.default())


def test_control_finds_a_team_catalog_beside_the_experiment(tmp_path: Path) -> None:
    write_piece(tmp_path / "team-catalog", "steady/ping", PING_PIECE)
    short = {
        "title": "t",
        "description": "d",
        "extensions": [{"name": "chaosaws-serverless-catalog", "catalog_dirs": ["team-catalog"]}],
        "steady-state-hypothesis": {"title": "h", "probes": [{"piece": "steady/ping"}]},
        "method": [{"piece": "method/wait-for-failover"}],
        "configuration": {k: 1 for k in CONFIGURATION_KEYS},
    }
    state = dict(short)
    after_loading_experiment_control(str(tmp_path / "short.json"), state)
    assert [p["name"] for p in state["steady-state-hypothesis"]["probes"]] == ["ping"]
    assert [a["name"] for a in state["method"]] == ["seconds-until-us-customers-fail-over"]
    assert "extensions" not in state


def test_control_turns_any_expansion_error_into_a_catalog_error(tmp_path: Path) -> None:
    state = {"title": "t", "description": "d", "method": [{"piece": "nope"}]}
    with pytest.raises(CatalogError, match="unknown catalog piece 'nope'"):
        after_loading_experiment_control(str(tmp_path / "x.json"), state)
    state = {"title": "t", "description": "d", "extensions": "not a list"}
    with pytest.raises(CatalogError, match="'extensions' must be a list"):
        after_loading_experiment_control(str(tmp_path / "x.json"), state)


PING_PIECE = """description: ping.
steady-state-hypothesis:
  probes:
    - {type: probe, name: ping, tolerance: true, provider: {type: python, module: m, func: f}}
"""
CONFIGURATION_KEYS = [
    "hosted_zone_id",
    "record_name",
    "failover_timeout_seconds",
    "failover_poll_seconds",
    "health_source",
    "post_failover_pause_seconds",
]


def test_the_package_ships_the_repository_catalog() -> None:
    # The built-in catalog is the repository's experiments/catalog itself (through
    # chaosaws_serverless/_shipped/experiments, a link setuptools follows when it builds),
    # not a copy that could drift; .ci/wheel-smoke checks the built wheel carries it.
    from chaosaws_serverless.catalog.pieces import default_catalog_dirs

    assert default_catalog_dirs()[-1] == (EXPERIMENTS / "catalog").resolve()


PIECE_FILES = sorted((EXPERIMENTS / "catalog").rglob("*.yaml"))


def test_the_reference_experiment_composes_with_the_latency_objective() -> None:
    """The recipe of experiments/README.md: region-failure plus the latency objective, valid."""
    from chaoslib.experiment import ensure_experiment_is_valid

    from chaosaws_serverless.catalog.compose import compose
    from chaosaws_serverless.catalog.pieces import Catalog

    experiment = compose(
        [
            "scenario/region-failure",
            "configuration/aws-regions",
            "configuration/reference-stack",
            "configuration/fault-parameters",
            {"piece": "steady-state/health-checks-healthy", "with": {"prefixes": ["eu"]}},
            "steady-state/customers-error-ratio-within-budget",
            "steady-state/customers-latency-within-objective",
            "method/region-latency-fault",
            "method/wait-for-failover",
        ],
        Catalog.default(),
    )
    ensure_experiment_is_valid(experiment)
    probes = experiment["steady-state-hypothesis"]["probes"]
    latency = [p for p in probes if p["provider"]["func"] == "get_slow_request_ratio"]
    assert [p["provider"]["arguments"]["client_region"] for p in latency] == [
        "us-east-1",
        "eu-west-1",
    ]
    assert experiment["configuration"]["latency_objective_ms"] == 1000
    assert experiment["configuration"]["max_slow_ratio"] == 0.01
