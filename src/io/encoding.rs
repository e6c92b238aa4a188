//! Text encodings of input files: everything the importers read must be UTF-8. A UTF-16 file (as saved by some
//! Windows tools, recognised by its byte-order mark) or a Latin-1 / Windows-1252 file (bytes that are not UTF-8)
//! is an error at the first offending position with a hint how to convert it, instead of mojibake and a confusing
//! "not a number" further down.

use std::path::Path;

/// Where the text stops being UTF-8, and what was found there (with a hint).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodingError {
    /// 1-based line.
    pub line: usize,
    /// 1-based character column.
    pub column: usize,
    /// What was found, with the conversion hint.
    pub found: String,
}

/// The bytes as UTF-8 text (a UTF-8 byte-order mark is allowed), or where and why not.
pub fn utf8<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, EncodingError> {
    let name = path.display();
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(EncodingError {
            line: 1,
            column: 1,
            found: format!(
                "UTF-16 text (byte-order mark {:02X} {:02X}); convert it, e.g. `iconv -f UTF-16 -t UTF-8 {name} > out.csv`",
                bytes[0], bytes[1]
            ),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(t) => Ok(t),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |k| k + 1);
            let column = std::str::from_utf8(&good[line_start..]).map_or(1, |s| s.chars().count() + 1);
            Err(EncodingError {
                line,
                column,
                found: format!(
                    "byte 0x{:02X}, which is not UTF-8 (Latin-1 or Windows-1252?); convert it, e.g. `iconv -f LATIN1 -t UTF-8 {name} > out.csv`",
                    bytes[e.valid_up_to()]
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_and_latin1_are_located_with_a_hint() {
        let p = Path::new("f.csv");
        assert_eq!(utf8(b"a,b\n1,2\n", p).unwrap(), "a,b\n1,2\n");
        let e = utf8(&[0xFF, 0xFE, b'a', 0], p).unwrap_err();
        assert!(e.found.contains("UTF-16") && e.found.contains("iconv"), "{e:?}");
        let e = utf8(b"Time,Temp\n1,25 \xB0C\n", p).unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
        assert!(e.found.contains("0xB0") && e.found.contains("LATIN1"), "{e:?}");
    }
}
