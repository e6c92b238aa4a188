//! Text plumbing shared by the importers: numbered lines and cells that remember their column, so every error can
//! point at `file:line:column`.

/// One line of the input: its 1-based number and its text without the line ending (and without a leading UTF-8
/// byte-order mark on line 1).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line<'a> {
    pub number: usize,
    pub text: &'a str,
}

/// The lines of `text`, numbered from 1. `\n` and `\r\n` endings are both accepted.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().enumerate().map(|(i, t)| Line { number: i + 1, text: t })
}

/// One cell (or token) of a line: its text, trimmed and unquoted, and the 1-based character column where it starts
/// (the first non-blank character, or the cell start if the cell is empty).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cell {
    pub text: String,
    pub column: usize,
}

/// The 1-based character column just after the end of `line` (where a missing cell would have been).
pub(crate) fn end_column(line: &str) -> usize {
    line.chars().count() + 1
}

/// Split a delimited line (CSV with `,`, `;` or tab) into cells. Double-quoted cells may contain the delimiter
/// and `""` for a quote. `Err((column, message))` for an unterminated quote or text after a closing quote.
pub(crate) fn split_delimited(line: &str, delimiter: char) -> Result<Vec<Cell>, (usize, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut cells = Vec::new();
    let mut i = 0;
    loop {
        let cell_start = i;
        while i < chars.len() && chars[i] != delimiter && chars[i].is_whitespace() {
            i += 1;
        }
        let mut text = String::new();
        let content_start = i;
        if i < chars.len() && chars[i] == '"' {
            let quote_column = i + 1;
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                if chars[i] == '"' {
                    if i + 1 < chars.len() && chars[i + 1] == '"' {
                        text.push('"');
                        i += 2;
                    } else {
                        closed = true;
                        i += 1;
                        break;
                    }
                } else {
                    text.push(chars[i]);
                    i += 1;
                }
            }
            if !closed {
                return Err((quote_column, "expected a closing quote before the end of the line".into()));
            }
            while i < chars.len() && chars[i] != delimiter && chars[i].is_whitespace() {
                i += 1;
            }
            if i < chars.len() && chars[i] != delimiter {
                return Err((
                    i + 1,
                    format!("expected a delimiter {delimiter:?} after the closing quote, found {:?}", chars[i]),
                ));
            }
            cells.push(Cell { text, column: content_start + 1 });
        } else {
            while i < chars.len() && chars[i] != delimiter {
                text.push(chars[i]);
                i += 1;
            }
            let trimmed = text.trim().to_string();
            let column = if trimmed.is_empty() { cell_start + 1 } else { content_start + 1 };
            cells.push(Cell { text: trimmed, column });
        }
        if i < chars.len() && chars[i] == delimiter {
            i += 1;
            continue;
        }
        break;
    }
    Ok(cells)
}

/// Split a line into white-space separated tokens with their columns.
pub(crate) fn split_whitespace(line: &str) -> Vec<Cell> {
    let mut cells = Vec::new();
    let mut current: Option<Cell> = None;
    for (i, c) in line.chars().enumerate() {
        if c.is_whitespace() {
            if let Some(cell) = current.take() {
                cells.push(cell);
            }
        } else {
            current.get_or_insert_with(|| Cell { text: String::new(), column: i + 1 }).text.push(c);
        }
    }
    cells.extend(current);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(cells: &[Cell]) -> Vec<(&str, usize)> {
        cells.iter().map(|c| (c.text.as_str(), c.column)).collect()
    }

    #[test]
    fn delimited_cells_and_columns() {
        let cells = split_delimited("a, b ,,\"c,d\" ,\"e\"\"f\"", ',').unwrap();
        assert_eq!(texts(&cells), vec![("a", 1), ("b", 4), ("", 7), ("c,d", 8), ("e\"f", 15)]);
        assert_eq!(texts(&split_delimited("", ',').unwrap()), vec![("", 1)]);
        assert_eq!(texts(&split_delimited(",", ',').unwrap()), vec![("", 1), ("", 2)]);
        assert_eq!(texts(&split_delimited("1\t2", '\t').unwrap()), vec![("1", 1), ("2", 3)]);
        assert_eq!(split_delimited("\"abc", ',').unwrap_err().0, 1);
        assert_eq!(split_delimited("\"a\"b,c", ',').unwrap_err().0, 4);
    }

    #[test]
    fn whitespace_tokens() {
        assert_eq!(texts(&split_whitespace("  1m\t 2u  x")), vec![("1m", 3), ("2u", 7), ("x", 11)]);
        assert!(split_whitespace("   ").is_empty());
    }

    #[test]
    fn numbered_lines() {
        let l: Vec<_> = lines("\u{feff}a\r\nb\n\nc").map(|l| (l.number, l.text)).collect();
        assert_eq!(l, vec![(1, "a"), (2, "b"), (3, ""), (4, "c")]);
    }
}
