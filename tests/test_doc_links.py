"""Every link in README.md and docs/*.md points at a file of this repository (and, with an
anchor, at a heading of it), and none leaves the repository: no web address, no path above the
repository's root (e.g. `../shared/reference/`, which is not part of the product)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""<(?:a|img)\b[^>]*\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(path: Path) -> list[str]:
    """The document's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub gives a Markdown file (duplicates get -1, -2, ...)."""
    seen: Counter[str] = Counter()
    result = set()
    for line in prose_lines(path):
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        result.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return result


def links(path: Path) -> list[str]:
    text = "\n".join(prose_lines(path))
    return [*LINK.findall(text), *HTML_LINK.findall(text)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_stays_in_the_repository_and_finds_its_target(document: Path) -> None:
    problems = []
    for target in links(document):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            problems.append(f"{target}: leaves the repository")
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: points outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    assert not problems, f"{document.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_no_document_mentions_the_shared_reference_folder() -> None:
    for document in DOCUMENTS:
        assert "shared/reference" not in document.read_text(encoding="utf-8"), document


def test_the_readme_shows_the_screenshots_make_screenshots_takes() -> None:
    images = {t for t in links(ROOT / "README.md") if t.startswith("docs/images/")}
    assert images, "the README shows the screenshots"
    assert all((ROOT / image).is_file() for image in images)


def test_the_readme_stays_a_newcomers_read() -> None:
    """What it is, the first ten minutes, the make targets and where to read on; the rest
    belongs in docs/ (200 lines is about a five-minute read)."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"
