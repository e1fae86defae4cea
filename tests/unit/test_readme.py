"""The README's activity table is the one discovery generates."""

from pathlib import Path

from chaosaws_serverless import activity_table

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> str:
    text = README.read_text()
    start = text.index("<!-- activities:start -->") + len("<!-- activities:start -->")
    return text[start : text.index("<!-- activities:end -->")].strip()


def test_readme_lists_every_activity() -> None:
    expected = activity_table()
    if expected.count("\n") <= 1:  # header only: the README block may stay empty
        expected = ""
    assert readme_table() == expected, (
        "README activity table is stale: replace the block between the activities markers "
        "with the output of `chaosaws-serverless activities`"
    )
