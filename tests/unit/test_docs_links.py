"""Every relative link in README.md and docs/ points at a file that exists and, with a #fragment, at a
heading of it (GitHub's anchors). Links to http(s) and mailto are not checked."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+).*?\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")
LINK_TEXT = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
EXTERNAL = ("http://", "https://", "mailto:")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase; letters of any script, digits, `_`, `-` and spaces kept,
    other punctuation and symbols dropped; spaces become `-`."""
    text = LINK_TEXT.sub(r"\1", heading).strip().lower()
    kept = "".join(char for char in text if char in " -_" or unicodedata.category(char)[0] in "LMN")
    return kept.replace(" ", "-")


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchors(page: Path) -> set[str]:
    """The anchors of a Markdown file's headings; a repeated heading gets `-1`, `-2`, … as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match is None:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def link_targets(page: Path) -> Iterator[tuple[int, str]]:
    """(line number, target) of every inline link, image and reference definition outside code."""
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        definition = REFERENCE_DEFINITION.match(line)
        if definition is not None:
            yield number, definition.group(1)
            continue
        for match in INLINE_LINK.finditer(CODE_SPAN.sub("", line)):
            yield number, match.group(1)


def broken_links(page: Path) -> list[str]:
    """What is wrong with each relative link of one page, as `file:line: target: reason`."""
    problems: list[str] = []
    for number, target in link_targets(page):
        if not target or target.lower().startswith(EXTERNAL):
            continue
        path_part, _, fragment = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        where = f"{page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}:{number}: {target}"
        if not resolved.exists():
            problems.append(f"{where}: no such file")
        elif fragment and resolved.suffix != ".md":
            problems.append(f"{where}: a fragment into a file that is not Markdown")
        elif fragment and unquote(fragment) not in anchors(resolved):
            problems.append(f"{where}: no heading with this anchor")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_links_every_docs_page() -> None:
    readme = ROOT / "README.md"
    linked = {
        (readme.parent / target.partition("#")[0]).resolve()
        for _, target in link_targets(readme)
        if not target.lower().startswith(EXTERNAL)
    }
    assert sorted(str(p.relative_to(ROOT)) for p in PAGES if p != readme and p not in linked) == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Walk-through (curl)", "walk-through-curl"),
        (
            "Why 12 partitions, replication factor 3, `min.insync.replicas` 2",
            "why-12-partitions-replication-factor-3-mininsyncreplicas-2",
        ),
        ("Security and operations (SPEC §14, §15)", "security-and-operations-spec-14-15"),
        ("Заявка: від подання до «виконано»", "заявка-від-подання-до-виконано"),
        ("The `processed_events` table", "the-processed_events-table"),
        ("See [Tests](docs/tests.md)", "see-tests"),
    ],
)
def test_anchors_follow_githubs_rule(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_missing_file_a_missing_heading_and_a_repeated_heading_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Notes\n\n## Notes\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Це сторінка\n\n"
        "[ok](other.md#notes-1) [here](#це-сторінка) [web](https://example.org/x#y) `[code](nowhere.md)`\n"
        "[gone](missing.md) [no anchor](other.md#notes-2) ![shot](screenshots/a.png)\n\n"
        "```\n[in a fence](nowhere.md)\n```\n\n"
        "[ref]: other.md#nothing\n",
        encoding="utf-8",
    )

    problems = [problem.split(": ", 1)[1] for problem in broken_links(page)]

    assert problems == [
        "missing.md: no such file",
        "other.md#notes-2: no heading with this anchor",
        "screenshots/a.png: no such file",
        "other.md#nothing: no heading with this anchor",
    ]
