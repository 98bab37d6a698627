"""docs/operations.md reads as written once: no line said twice in a row (defect 10 of
issue 21 was a sentence repeated after a blank line)."""

from pathlib import Path

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def repeated_lines(text: str) -> list[str]:
    """Non-blank lines equal to one of the two non-blank lines before them."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [
        line
        for i, line in enumerate(lines)
        if line in lines[max(0, i - 2) : i] and not set(line) <= set("|-: ")
    ]


def test_no_line_is_repeated() -> None:
    assert repeated_lines(OPERATIONS.read_text()) == []


def test_a_repeated_sentence_is_found() -> None:
    text = (
        "Facts learned by running them.\n\nlearned by running them.\n\nlearned by running them.\n"
    )
    assert repeated_lines(text) == ["learned by running them."]
