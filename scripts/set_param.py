"""Write a copy of a parameter file with some values changed, keeping its comments and layout.

    python3 scripts/set_param.py IN.yaml OUT.yaml section.key=*1.03 section.key=1e-14 ...

`=*F` multiplies the value by F, `=V` sets it to V. Every key must exist in IN (a misspelt key is an error, not a
no-op). Used by scripts/fit-sky130 and scripts/sky130-sensitivity, and by scripts/hold_node.py (`set_value`).
"""
import re
import sys


def set_value(text, key, value, where, add=False):
    """`text` (a parameter file) with `section.name` set by `value` (`*F` multiplies, else a number); a key the
    section lacks is an error naming `where`, or with `add` appended at the end of its section."""
    section, name = key.split(".")
    if isinstance(value, list):
        return set_list(text, section, name, value, where)
    head = re.compile(r"^%s:\n" % re.escape(section), re.M).search(text)
    if head is None:
        sys.exit(f"{where}: no section {section}")
    # The section runs to the next top-level line.
    nxt = re.compile(r"\n\S").search(text, head.end())
    end = nxt.start() if nxt else len(text)
    m = re.compile(r"\n  %s:[ \t]+([-+0-9.eE]+)" % re.escape(name)).search(text, head.end() - 1, end)
    if m is None:
        if re.compile(r"\n  %s:" % re.escape(name)).search(text, head.end() - 1, end):
            sys.exit(f"{where}: {key} is not a number")
        if not add or value.startswith("*"):
            sys.exit(f"{where}: no {key}")
        # At the end of the section (before a file's final newline).
        at = end - 1 if end == len(text) and text.endswith("\n") else end
        return text[:at] + f"\n  {name}: {float(value)!r}" + text[at:]
    old = float(m.group(1))
    new = old * float(value[1:]) if value.startswith("*") else float(value)
    return text[: m.start(1)] + repr(new) + text[m.end(1):]


def set_list(text, section, name, value, where):
    """`text` with `section.name` set to the list `value` (pairs of numbers, written in flow style on one line),
    replacing an existing key (its line, and its item lines if it is written in block style) or appended at the end
    of the section."""
    head = re.compile(r"^%s:\n" % re.escape(section), re.M).search(text)
    if head is None:
        sys.exit(f"{where}: no section {section}")
    nxt = re.compile(r"\n\S").search(text, head.end())
    end = nxt.start() if nxt else len(text)
    line = "  %s: [%s]" % (name, ", ".join("[%s]" % ", ".join(repr(float(x)) for x in row) for row in value))
    # The key's line and, for a list written in block style (as `stc fit` writes one), its item lines.
    m = re.compile(r"\n  %s:[^\n]*(\n(  -|   )[^\n]*)*" % re.escape(name)).search(text, head.end() - 1, end)
    if m:
        return text[: m.start()] + "\n" + line + text[m.end():]
    at = end - 1 if end == len(text) and text.endswith("\n") else end
    return text[:at] + "\n" + line + text[at:]


def main():
    src, dst, *changes = sys.argv[1:]
    text = open(src).read()
    for change in changes:
        key, value = change.split("=", 1)
        text = set_value(text, key, value, src)
    open(dst, "w").write(text)


if __name__ == "__main__":
    main()
