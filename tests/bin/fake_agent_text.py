"""Text layout for tests/bin/fake_agent.py (test-only, never shipped): display widths, wrapping
at the terminal width the way the real TUIs wrap, reply blocks and boxes."""

import unicodedata


def char_width(ch):
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text):
    return sum(char_width(ch) for ch in text)


def wrap(text, width, first, rest):
    """`text` as rows of at most `width` columns: `first` prefixes the first row, `rest` the
    others; breaks at spaces when it can, inside words when it must. Leading spaces stay."""
    body = text.lstrip(" ")
    first += " " * (len(text) - len(body))
    rows, row, used = [], first, text_width(first)
    for word in body.split(" "):
        sep = "" if row in (first, rest) else " "
        need = text_width(sep + word)
        if used + need > width and row not in (first, rest):
            rows.append(row)
            row, used, sep, need = rest, text_width(rest), "", text_width(word)
        for ch in sep + word:
            if used + char_width(ch) > width:
                rows.append(row)
                row, used = rest, text_width(rest)
            row += ch
            used += char_width(ch)
    rows.append(row)
    return rows


def pad(text, width):
    """`text` padded with spaces to `width` columns."""
    return text + " " * max(0, width - text_width(text))


def boxed(rows, width):
    """`rows` in a rounded box `width` columns wide (rows are cut to fit, not wrapped)."""
    inner = width - 4
    out = ["╭" + "─" * (width - 2) + "╮"]
    for row in rows:
        while text_width(row) > inner:
            row = row[:-1]
        out.append("│ " + pad(row, inner) + " │")
    return out + ["╰" + "─" * (width - 2) + "╯"]


def block(text, width, glyph, indent="  "):
    """A reply or echo: `glyph` before its first line, `indent` before the others, blank lines
    kept blank."""
    out = []
    for i, line in enumerate(text.split("\n")):
        prefix = glyph if i == 0 else indent
        out += wrap(line, width, prefix, indent) if line or i == 0 else [""]
    return out
