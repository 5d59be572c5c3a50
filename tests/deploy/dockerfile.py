"""A small Dockerfile reader and the .dockerignore matching rules, enough for static checks."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    """One instruction, continuation lines joined."""

    keyword: str
    arguments: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON-array form of CMD/ENTRYPOINT/HEALTHCHECK arguments, if used."""
        try:
            value = json.loads(self.arguments)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) else None


@dataclass
class Stage:
    """Instructions from one FROM to the next."""

    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


@dataclass
class Dockerfile:
    """Global ARGs, stages and the comments (which document intent)."""

    global_args: dict[str, str]
    stages: list[Stage]
    comments: list[str]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def environment(self, stage: Stage) -> dict[str, str]:
        """ENV set in ``stage`` (later settings win)."""
        values: dict[str, str] = {}
        for instruction in stage.all("ENV"):
            for token in shlex.split(instruction.arguments):
                key, _, value = token.partition("=")
                values[key] = value
        return values


def _logical_lines(text: str) -> tuple[list[tuple[int, str]], list[str]]:
    lines: list[tuple[int, str]] = []
    comments: list[str] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
            continue
        if not stripped and not buffer:
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        lines.append((start, buffer))
        buffer = ""
    if buffer:
        lines.append((start, buffer))
    return lines, comments


def parse(path: Path) -> Dockerfile:
    """Read a Dockerfile into stages; FROM images have global ARG defaults substituted."""
    lines, comments = _logical_lines(path.read_text())
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in lines:
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            words = [w for w in arguments.split() if not w.startswith("--platform")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image=image, name=name))
        elif not stages and keyword == "ARG":
            key, _, default = arguments.partition("=")
            global_args[key] = default
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, arguments, number))
    return Dockerfile(global_args=global_args, stages=stages, comments=comments)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Go ``filepath.Match`` plus ``**``, as Docker's pattern matcher reads .dockerignore."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignore_patterns(path: Path) -> list[str]:
    """Non-comment, non-empty lines of a .dockerignore."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def is_ignored(relative_path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves ``relative_path`` out (last matching pattern wins;
    a pattern matching a parent directory matches everything under it)."""
    parts = relative_path.strip("/").split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = posixpath.normpath(raw[1:] if negated else raw).lstrip("/")
        regex = _pattern_regex(pattern)
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            ignored = not negated
    return ignored
