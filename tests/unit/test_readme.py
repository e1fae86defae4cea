"""The README and the documentation site: the reference page is discovery's, every link lands."""

import re
from pathlib import Path

import yaml

from chaosaws_serverless import activity_reference, load_exported_activities

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_the_reference_page_is_what_discovery_generates() -> None:
    assert (DOCS / "reference.md").read_text(encoding="utf-8") == activity_reference(), (
        "docs/reference.md is stale: run `make docs` "
        "(chaosaws-serverless activities --reference > docs/reference.md)"
    )
    text = activity_reference()
    for activity in load_exported_activities():
        assert f"### `{activity['name']}`" in text


def test_every_page_is_in_the_navigation_and_every_nav_entry_is_a_page() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = {next(iter(entry.values())) for entry in config["nav"]}
    assert listed == {p.name for p in DOCS.glob("*.md")}


def test_the_readmes_relative_links_land_on_files() -> None:
    for readme in (ROOT / "README.md", *DOCS.glob("*.md")):
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", readme.read_text(encoding="utf-8")):
            if "://" in target or target.startswith(("data:", "mailto:")):
                continue
            assert (readme.parent / target).exists(), f"{readme.name}: {target}"


def test_discovery_names_the_type_an_optional_argument_holds() -> None:
    types = {
        (a["name"], argument["name"]): argument.get("type")
        for a in load_exported_activities()
        for argument in a["arguments"]
    }
    assert types["inject_latency", "region"] == "string"
    assert types["get_api_error_ratio", "regions"] == "list"
    assert types["get_error_ratio", "client_region"] == "string"
