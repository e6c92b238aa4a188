//! MNIST-style labelled image sets: IDX and CSV loaders, and the data sets shipped with the crate.
//!
//! The network trains and tests on handwritten digits. Two formats are read:
//! - **IDX**, the original MNIST format (also Fashion-MNIST's), raw or gzip-compressed (detected by the gzip magic
//!   bytes `1f 8b`, not by the file name): [`load_idx`], [`parse_idx`].
//! - **CSV**, the layout of the thesis data (`label,1x1,...,28x28` header, then label and 784 pixels per row):
//!   [`load_csv`], [`parse_csv`].
//!
//! The sets in `data/` are embedded in the binary ([`embedded_train10k`], [`embedded_thesis_train`],
//! [`embedded_thesis_test`]) so that `stc` runs from any folder without downloading anything.
//!
//! Parsing never panics on bad input: every problem is a [`MnistError`] that names the file and says what was
//! expected and what was found.

use std::fmt;
use std::io::Read;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// IDX magic number of an image file: unsigned bytes (0x08), three dimensions (count, rows, cols).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// IDX magic number of a label file: unsigned bytes (0x08), one dimension (count).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// Width and height of an MNIST digit, assumed for CSV files (whose 785 columns are label + 28x28 pixels).
pub const MNIST_SIDE: usize = 28;
/// Largest decompressed size accepted from a gzip stream (1 GiB): a guard against gzip bombs, far above any
/// MNIST-sized file (the full 60,000-digit training set is 47 MB).
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// Why a data set could not be read. Every variant names the file (or the source given to a `parse_*` function)
/// and says what was expected, so that a user can fix the input without reading the code.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    /// The file could not be read from disk.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file starts with the gzip magic bytes but does not decompress.
    #[error("{file}: bad gzip data: {message}")]
    Gzip {
        /// The file.
        file: String,
        /// What the decompressor said.
        message: String,
    },
    /// The first four bytes are not the IDX magic number of the expected kind of file.
    #[error("{file}: expected IDX magic {expected} for {kind}, found {found}")]
    Magic {
        /// The file.
        file: String,
        /// `"images"` or `"labels"`.
        kind: &'static str,
        /// 2051 for images, 2049 for labels.
        expected: u32,
        /// The magic number read from the file.
        found: u32,
    },
    /// The IDX data type is a valid one other than unsigned byte, which is the only one MNIST uses.
    #[error(
        "{file}: unsupported IDX data type 0x{code:02x} ({name}) for {kind}: only unsigned byte (0x08) is supported"
    )]
    DataType {
        /// The file.
        file: String,
        /// `"images"` or `"labels"`.
        kind: &'static str,
        /// The type code (third byte of the magic number).
        code: u8,
        /// Its IDX name (`"signed byte"`, `"float"`, ...).
        name: &'static str,
    },
    /// The file is shorter than its header says.
    #[error("{file}: truncated {kind} file: expected {expected} bytes ({what}), found {found}")]
    Truncated {
        /// The file.
        file: String,
        /// `"images"` or `"labels"`.
        kind: &'static str,
        /// The size the header implies.
        expected: u64,
        /// What that size is made of.
        what: String,
        /// The actual size.
        found: u64,
    },
    /// The file is longer than its header says (a wrong count, or two files concatenated).
    #[error("{file}: {kind} file has trailing data: expected {expected} bytes ({what}), found {found}")]
    TrailingData {
        /// The file.
        file: String,
        /// `"images"` or `"labels"`.
        kind: &'static str,
        /// The size the header implies.
        expected: u64,
        /// What that size is made of.
        what: String,
        /// The actual size.
        found: u64,
    },
    /// An image file declares zero rows or zero columns.
    #[error("{file}: images of {rows}x{cols} pixels: expected at least 1 row and 1 column")]
    EmptyImages {
        /// The file.
        file: String,
        /// Declared rows.
        rows: u32,
        /// Declared columns.
        cols: u32,
    },
    /// A label outside the ten classes 0..=9.
    #[error("{file}: label {label} of item {item} (byte offset {offset}): expected a class 0..=9")]
    LabelOutOfRange {
        /// The label file.
        file: String,
        /// 1-based item number.
        item: usize,
        /// Byte offset of the label in the (decompressed) file.
        offset: usize,
        /// The label found.
        label: u8,
    },
    /// Images of another size than the 28x28 the network and its figures expect.
    #[error("{file}: images of {rows}x{cols} pixels: expected 28x28 (MNIST-like digits)")]
    WrongSize {
        /// The image file(s).
        file: String,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
    },
    /// The image file and the label file do not hold the same number of items.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels: expected the same count")]
    CountMismatch {
        /// The image file.
        images: String,
        /// Its count.
        n_images: u64,
        /// The label file.
        labels: String,
        /// Its count.
        n_labels: u64,
    },
    /// A CSV row does not have label + 28x28 pixel columns.
    #[error("{file}:{line}:{column}: expected {expected} columns (label + {pixels} pixels), found {found}")]
    CsvColumns {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// 1-based character column where the line ends short, or where the first extra cell starts.
        column: usize,
        /// 785.
        expected: usize,
        /// 784.
        pixels: usize,
        /// Columns on that line.
        found: usize,
    },
    /// A CSV cell is not an integer in 0..=255.
    #[error("{file}:{line}:{column}: {what} (cell {cell}): {message}")]
    CsvCell {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// 1-based character column where the cell starts.
        column: usize,
        /// 1-based cell number (1 is the label).
        cell: usize,
        /// `"label"` or `"pixel RxC"`.
        what: String,
        /// What is wrong with the cell.
        message: String,
    },
    /// The CSV holds no data row (empty, or a header only).
    #[error("{file}: no data rows: expected lines of a label and {pixels} pixels")]
    CsvEmpty {
        /// The file.
        file: String,
        /// 784.
        pixels: usize,
    },
}

/// A labelled image set, pixels 0..=255 row-major, `rows*cols` bytes per image.
///
/// All images have the same size; `images.len() == labels.len() * rows * cols` holds for every `Dataset` built by
/// this module. `source` records where the data came from and what was done to it (filtering, shuffling...), so
/// that reports can say which digits a network saw.
#[derive(Clone, PartialEq, Eq)]
pub struct Dataset {
    /// All pixels, image after image, each image row-major.
    pub images: Vec<u8>,
    /// One label per image (0..=9 for MNIST digits, any byte allowed).
    pub labels: Vec<u8>,
    /// Image height in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub cols: usize,
    /// Provenance: the file(s) read and the operations applied since.
    pub source: String,
}

impl fmt::Debug for Dataset {
    /// A summary, not the megabytes of pixels (so that a failing `assert_eq!` stays readable).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let checksum = self.images.iter().fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        f.debug_struct("Dataset")
            .field("len", &self.len())
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("source", &self.source)
            .field("labels_head", &&self.labels[..self.labels.len().min(16)])
            .field("pixel_checksum", &checksum)
            .finish()
    }
}

impl Dataset {
    /// Number of images (and labels).
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image (`rows * cols`, 784 for MNIST).
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// The `k`-th image, `rows*cols` bytes row-major.
    ///
    /// # Panics
    /// If `k >= self.len()`, like slice indexing.
    pub fn image(&self, k: usize) -> &[u8] {
        let p = self.pixels();
        &self.images[k * p..(k + 1) * p]
    }

    /// The `k`-th label. Panics if `k >= self.len()`.
    pub fn label(&self, k: usize) -> u8 {
        self.labels[k]
    }

    /// A new set with the given items, in the given order, and `note` appended to the source.
    fn select(&self, indices: impl Iterator<Item = usize>, note: String) -> Dataset {
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for k in indices {
            images.extend_from_slice(self.image(k));
            labels.push(self.labels[k]);
        }
        Dataset { images, labels, rows: self.rows, cols: self.cols, source: format!("{} {note}", self.source) }
    }

    /// Keep only the items whose label is in `classes`, in their original order (e.g. `&[0, 1]` for the thesis's
    /// zero/one task).
    pub fn filter_classes(&self, classes: &[u8]) -> Dataset {
        let list: Vec<String> = classes.iter().map(|c| c.to_string()).collect();
        self.select(
            (0..self.len()).filter(|&k| classes.contains(&self.labels[k])),
            format!("[classes {}]", list.join(",")),
        )
    }

    /// The first `n` items (all of them if `n >= len`), e.g. the thesis's first 170 training digits.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        self.select(0..n, format!("[first {n}]"))
    }

    /// The first `n_first` items and the rest (`n_first` is clamped to `len`): a train/validation split.
    pub fn split(&self, n_first: usize) -> (Dataset, Dataset) {
        let n = n_first.min(self.len());
        (
            self.select(0..n, format!("[items 0..{n}]")),
            self.select(n..self.len(), format!("[items {n}..{}]", self.len())),
        )
    }

    /// The same items in a random order that depends only on `seed` (ChaCha8 generator, Fisher-Yates shuffle), so
    /// that runs are reproducible on every machine.
    pub fn shuffled(&self, seed: u64) -> Dataset {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        self.select(order.into_iter(), format!("[shuffled, seed {seed}]"))
    }

    /// Refuse images that are not 28x28 (checked after loading, before any training: the network's input layer,
    /// its weight maps and the figures are 28x28).
    pub fn check_mnist_size(&self) -> Result<(), MnistError> {
        if (self.rows, self.cols) != (MNIST_SIDE, MNIST_SIDE) {
            return Err(MnistError::WrongSize { file: self.source.clone(), rows: self.rows, cols: self.cols });
        }
        Ok(())
    }

    /// How many items carry each label: `class_counts()[3]` is the number of threes.
    pub fn class_counts(&self) -> [usize; 256] {
        let mut counts = [0usize; 256];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The labels present in the set, ascending (e.g. `[0, 1]` for the thesis sets).
    pub fn classes(&self) -> Vec<u8> {
        let counts = self.class_counts();
        (0..=255u8).filter(|&c| counts[c as usize] > 0).collect()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, MnistError> {
    std::fs::read(path).map_err(|source| MnistError::Io { file: path.display().to_string(), source })
}

/// Decompress `bytes` if they start with the gzip magic `1f 8b`, else return them as they are.
fn maybe_gunzip<'a>(bytes: &'a [u8], file: &str) -> Result<std::borrow::Cow<'a, [u8]>, MnistError> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    decoder
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| MnistError::Gzip { file: file.to_string(), message: e.to_string() })?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(MnistError::Gzip {
            file: file.to_string(),
            message: format!("decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes"),
        });
    }
    Ok(std::borrow::Cow::Owned(out))
}

fn idx_type_name(code: u8) -> Option<&'static str> {
    match code {
        0x08 => Some("unsigned byte"),
        0x09 => Some("signed byte"),
        0x0B => Some("short"),
        0x0C => Some("int"),
        0x0D => Some("float"),
        0x0E => Some("double"),
        _ => None,
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Check an IDX header of `dims` dimensions and return the dimension sizes and the data that follows, whose length
/// must equal the product of the sizes.
fn parse_idx_file<'a>(
    bytes: &'a [u8],
    file: &str,
    kind: &'static str,
    dims: u8,
) -> Result<(Vec<u32>, &'a [u8]), MnistError> {
    let expected_magic = if dims == 3 { IDX_IMAGES_MAGIC } else { IDX_LABELS_MAGIC };
    let header = 4 + 4 * dims as usize;
    let dims_what = if dims == 3 { "count, rows, cols" } else { "count" };
    if bytes.len() < 4 {
        return Err(MnistError::Truncated {
            file: file.to_string(),
            kind,
            expected: header as u64,
            what: format!("at least the header: magic, {dims_what}"),
            found: bytes.len() as u64,
        });
    }
    let magic = be_u32(bytes, 0);
    if bytes[0] != 0 || bytes[1] != 0 || bytes[3] != dims {
        return Err(MnistError::Magic { file: file.to_string(), kind, expected: expected_magic, found: magic });
    }
    if bytes[2] != 0x08 {
        return match idx_type_name(bytes[2]) {
            Some(name) => Err(MnistError::DataType { file: file.to_string(), kind, code: bytes[2], name }),
            None => Err(MnistError::Magic { file: file.to_string(), kind, expected: expected_magic, found: magic }),
        };
    }
    if bytes.len() < header {
        return Err(MnistError::Truncated {
            file: file.to_string(),
            kind,
            expected: header as u64,
            what: format!("at least the header: magic, {dims_what}"),
            found: bytes.len() as u64,
        });
    }
    let sizes: Vec<u32> = (0..dims as usize).map(|d| be_u32(bytes, 4 + 4 * d)).collect();
    // u32 * u32 * u32 can overflow u64: use u128, then compare with the actual length.
    let body: u128 = sizes.iter().map(|&s| u128::from(s)).product();
    let expected = body + header as u128;
    let what = if dims == 3 {
        format!("{header}-byte header + {} images of {}x{} pixels", sizes[0], sizes[1], sizes[2])
    } else {
        format!("{header}-byte header + {} labels", sizes[0])
    };
    let found = bytes.len() as u128;
    let clamp = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
    if found < expected {
        return Err(MnistError::Truncated {
            file: file.to_string(),
            kind,
            expected: clamp(expected),
            what,
            found: clamp(found),
        });
    }
    if found > expected {
        return Err(MnistError::TrailingData {
            file: file.to_string(),
            kind,
            expected: clamp(expected),
            what,
            found: clamp(found),
        });
    }
    Ok((sizes, &bytes[header..]))
}

/// Parse an image file and a label file whose names (for messages) are given separately.
fn parse_idx_named(
    images: &[u8],
    images_name: &str,
    labels: &[u8],
    labels_name: &str,
    source: &str,
) -> Result<Dataset, MnistError> {
    let images = maybe_gunzip(images, images_name)?;
    let labels = maybe_gunzip(labels, labels_name)?;
    let (isz, ibody) = parse_idx_file(&images, images_name, "images", 3)?;
    let (lsz, lbody) = parse_idx_file(&labels, labels_name, "labels", 1)?;
    if isz[1] == 0 || isz[2] == 0 {
        return Err(MnistError::EmptyImages { file: images_name.to_string(), rows: isz[1], cols: isz[2] });
    }
    if isz[0] != lsz[0] {
        return Err(MnistError::CountMismatch {
            images: images_name.to_string(),
            n_images: u64::from(isz[0]),
            labels: labels_name.to_string(),
            n_labels: u64::from(lsz[0]),
        });
    }
    if let Some(k) = lbody.iter().position(|&l| l > 9) {
        return Err(MnistError::LabelOutOfRange {
            file: labels_name.to_string(),
            item: k + 1,
            offset: labels.len() - lbody.len() + k,
            label: lbody[k],
        });
    }
    Ok(Dataset {
        images: ibody.to_vec(),
        labels: lbody.to_vec(),
        rows: isz[1] as usize,
        cols: isz[2] as usize,
        source: source.to_string(),
    })
}

/// Read an IDX image file and its IDX label file (MNIST, Fashion-MNIST, or any unsigned-byte IDX pair), each raw or
/// gzip-compressed (detected by the magic bytes `1f 8b`, whatever the file name).
///
/// Fashion-MNIST loads the same way, e.g. from Debian's `dataset-fashion-mnist` package:
/// `load_idx("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", ".../train-labels-idx1-ubyte.gz")`.
pub fn load_idx(images: &Path, labels: &Path) -> Result<Dataset, MnistError> {
    let ibytes = read_file(images)?;
    let lbytes = read_file(labels)?;
    let (iname, lname) = (images.display().to_string(), labels.display().to_string());
    parse_idx_named(&ibytes, &iname, &lbytes, &lname, &format!("{iname} + {lname}"))
}

/// Parse IDX bytes already in memory (raw or gzip-compressed): `images` must be an unsigned-byte IDX file of three
/// dimensions (magic 2051), `labels` one of one dimension (magic 2049), with the same count. `source` names the data
/// in error messages (as `"<source> images"` / `"<source> labels"`) and in [`Dataset::source`].
pub fn parse_idx(images: &[u8], labels: &[u8], source: &str) -> Result<Dataset, MnistError> {
    parse_idx_named(images, &format!("{source} images"), labels, &format!("{source} labels"), source)
}

/// Read a CSV image set: one image per line, the label then `28*28` pixels 0..=255, with or without a header line.
/// See [`parse_csv`] for the rules.
pub fn load_csv(path: &Path) -> Result<Dataset, MnistError> {
    let bytes = read_file(path)?;
    let name = path.display().to_string();
    let text = super::encoding::utf8(&bytes, path).map_err(|e| MnistError::CsvCell {
        file: name.clone(),
        line: e.line,
        column: e.column,
        cell: 0,
        what: "text".into(),
        message: format!("expected UTF-8 text, found {}", e.found),
    })?;
    parse_csv(text, &name)
}

/// Is the first cell of a line the name of a header column (`label`, `"label"`, `Label`...) rather than a number
/// or a garbled number? Letters, underscores, spaces and quotes only, at least one letter.
fn looks_like_header(first_cell: &str) -> bool {
    let c = first_cell.trim();
    c.chars().any(|ch| ch.is_alphabetic())
        && c.chars().all(|ch| ch.is_alphabetic() || ch == '_' || ch == ' ' || ch == '"' || ch == '\'')
}

fn csv_cell(cell: &str, file: &str, line: usize, at: (usize, usize)) -> Result<u8, MnistError> {
    let (index, column) = at;
    let what = if index == 1 {
        "label".to_string()
    } else {
        let p = index - 2;
        format!("pixel {}x{}", p / MNIST_SIDE + 1, p % MNIST_SIDE + 1)
    };
    let (max, expected) = if index == 1 { (9, "a class 0..=9") } else { (255, "an integer 0..=255") };
    let err = |message: String| MnistError::CsvCell {
        file: file.to_string(),
        line,
        column,
        cell: index,
        what: what.clone(),
        message,
    };
    let c = cell.trim();
    if c.is_empty() {
        return Err(err(format!("empty cell: expected {expected}")));
    }
    if !c.bytes().all(|b| b.is_ascii_digit()) {
        let shown: String = c.chars().take(20).collect();
        return Err(err(format!("'{shown}' is not an integer: expected {expected}")));
    }
    match c.parse::<u64>() {
        Ok(v) if v <= max => Ok(v as u8),
        _ => {
            let shown: String = c.chars().take(20).collect();
            Err(err(format!("value {shown} is out of range: expected {expected}")))
        }
    }
}

/// The 1-based character column of byte `offset` in `line`, skipping leading blanks of the cell there.
fn char_column(line: &str, offset: usize) -> usize {
    let lead = line[offset..].len() - line[offset..].trim_start().len();
    line[..offset + lead].chars().count() + 1
}

/// Parse CSV text: one image per line, the label then `28*28 = 784` pixels 0..=255 row-major (785 columns).
///
/// - The first non-blank line is a header, and skipped, when its first cell is a name (letters, e.g. `label`);
///   otherwise it is data. So both the thesis files (`label,1x1,...,28x28`) and header-less files load, while a
///   garbled first row (`1a,0,...`) is reported rather than silently dropped.
/// - Blank lines are skipped; `\r\n` and `\n` line ends, and spaces around cells, are accepted.
/// - Labels are the classes 0..=9; images are always 28x28 (a row of another length is an error).
///
/// Errors give the 1-based line and column of the bad cell. `source` names the text in messages and in the result.
pub fn parse_csv(text: &str, source: &str) -> Result<Dataset, MnistError> {
    let pixels = MNIST_SIDE * MNIST_SIDE;
    let columns = pixels + 1;
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let mut seen_first = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        let starts: Vec<usize> = std::iter::once(0).chain(line.match_indices(',').map(|(k, _)| k + 1)).collect();
        let columns_error = |found: usize| MnistError::CsvColumns {
            file: source.to_string(),
            line: line_no,
            column: if found > columns { char_column(line, starts[columns]) } else { line.chars().count() + 1 },
            expected: columns,
            pixels,
            found,
        };
        if !seen_first {
            seen_first = true;
            if looks_like_header(cells[0]) {
                if cells.len() != columns {
                    return Err(columns_error(cells.len()));
                }
                continue;
            }
        }
        if cells.len() != columns {
            return Err(columns_error(cells.len()));
        }
        labels.push(csv_cell(cells[0], source, line_no, (1, char_column(line, 0)))?);
        for (j, cell) in cells[1..].iter().enumerate() {
            images.push(csv_cell(cell, source, line_no, (j + 2, char_column(line, starts[j + 1])))?);
        }
    }
    if labels.is_empty() {
        return Err(MnistError::CsvEmpty { file: source.to_string(), pixels });
    }
    Ok(Dataset { images, labels, rows: MNIST_SIDE, cols: MNIST_SIDE, source: source.to_string() })
}

static TRAIN10K_IMAGES: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist/train10k-images-idx3-ubyte.gz"));
static TRAIN10K_LABELS: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist/train10k-labels-idx1-ubyte.gz"));
static THESIS_TRAIN: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/thesis-mnist-0-1/mnist_train_0_1_16th.csv"));
static THESIS_TEST: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/thesis-mnist-0-1/mnist_test_0_1_100_rows.csv"));

/// 10,000 real MNIST training digits, all ten classes (863 to 1127 per class), in a fixed shuffled order, from
/// `data/mnist/train10k-*.gz` embedded in the binary (see `data/README.md` for source and license).
///
/// Decoded at each call (a few tens of milliseconds); keep the result rather than calling it in a loop. The
/// shipped bytes are checked by this module's tests, so decoding cannot fail in a built binary.
pub fn embedded_train10k() -> Dataset {
    parse_idx_named(
        TRAIN10K_IMAGES,
        "embedded data/mnist/train10k-images-idx3-ubyte.gz",
        TRAIN10K_LABELS,
        "embedded data/mnist/train10k-labels-idx1-ubyte.gz",
        "embedded data/mnist/train10k",
    )
    .expect("the embedded MNIST train10k files are valid IDX (checked by the tests)")
}

/// The thesis's zero/one training set: 698 MNIST digits 0 and 1 (the thesis trained on the first 170), from
/// `data/thesis-mnist-0-1/mnist_train_0_1_16th.csv` embedded in the binary.
pub fn embedded_thesis_train() -> Dataset {
    parse_csv(THESIS_TRAIN, "embedded data/thesis-mnist-0-1/mnist_train_0_1_16th.csv")
        .expect("the embedded thesis training CSV is valid (checked by the tests)")
}

/// The thesis's zero/one test set: 100 MNIST digits 0 and 1, from
/// `data/thesis-mnist-0-1/mnist_test_0_1_100_rows.csv` embedded in the binary.
pub fn embedded_thesis_test() -> Dataset {
    parse_csv(THESIS_TEST, "embedded data/thesis-mnist-0-1/mnist_test_0_1_100_rows.csv")
        .expect("the embedded thesis test CSV is valid (checked by the tests)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Write a data set as a raw IDX pair (the inverse of `parse_idx`), independently of the parser.
    fn to_idx(d: &Dataset) -> (Vec<u8>, Vec<u8>) {
        let mut im = vec![0, 0, 8, 3];
        for v in [d.len() as u32, d.rows as u32, d.cols as u32] {
            im.extend_from_slice(&v.to_be_bytes());
        }
        im.extend_from_slice(&d.images);
        let mut lb = vec![0, 0, 8, 1];
        lb.extend_from_slice(&(d.len() as u32).to_be_bytes());
        lb.extend_from_slice(&d.labels);
        (im, lb)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// A small set of 5 images of 3x4 pixels with distinct contents.
    fn small() -> Dataset {
        Dataset {
            images: (0..60u32).map(|v| (v * 37 % 256) as u8).collect(),
            labels: vec![3, 1, 4, 1, 5],
            rows: 3,
            cols: 4,
            source: "small".into(),
        }
    }

    fn err_idx(images: &[u8], labels: &[u8]) -> String {
        parse_idx(images, labels, "t").expect_err("expected an error").to_string()
    }

    fn err_csv(text: &str) -> String {
        parse_csv(text, "t.csv").expect_err("expected an error").to_string()
    }

    /// A valid CSV data row: label then 784 pixels (pixel k = k % 256).
    fn csv_row(label: u32) -> Vec<String> {
        std::iter::once(label.to_string()).chain((0..784).map(|k| (k % 256).to_string())).collect()
    }

    fn header() -> String {
        std::iter::once("label".to_string())
            .chain((1..=28).flat_map(|r| (1..=28).map(move |c| format!("{r}x{c}"))))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn embedded_train10k_has_ten_balanced_classes() {
        let d = embedded_train10k();
        assert_eq!(d.len(), 10_000);
        assert_eq!((d.rows, d.cols, d.pixels()), (28, 28, 784));
        assert_eq!(d.images.len(), 10_000 * 784);
        let counts = d.class_counts();
        assert_eq!(d.classes(), (0..10).collect::<Vec<u8>>());
        for (c, &n) in counts.iter().enumerate().take(10) {
            assert!((863..=1127).contains(&n), "class {c}: {n} items");
        }
        // Per-class counts computed with python3 (collections.Counter over the gzip-decoded label bytes [8:]
        // of /work/shared/data/mnist/train10k-labels-idx1-ubyte.gz).
        assert_eq!(&counts[..10], &[1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    }

    #[test]
    fn embedded_train10k_known_pixels() {
        // Expected numbers computed independently with python3 from the shared files:
        //   im = gzip.open('train10k-images-idx3-ubyte.gz').read()
        //   lb = gzip.open('train10k-labels-idx1-ubyte.gz').read()
        //   lb[8] -> 4, sum(im[16:16+784]) -> 25956, lb[8+9999] -> 0, sum(im[16+784*9999:]) -> 30493,
        //   list(im[16+14*28:16+15*28]) -> row 14 of item 0, sum(im[16:]) -> 262146600.
        let d = embedded_train10k();
        assert_eq!(d.labels[0], 4);
        assert_eq!(d.image(0).iter().map(|&p| p as u32).sum::<u32>(), 25956);
        assert_eq!(d.labels[9999], 0);
        assert_eq!(d.image(9999).iter().map(|&p| p as u32).sum::<u32>(), 30493);
        assert_eq!(
            &d.image(0)[14 * 28..15 * 28],
            &[
                0, 0, 0, 0, 0, 0, 40, 253, 254, 232, 63, 47, 47, 47, 55, 222, 254, 253, 234, 230, 237, 224, 25, 0, 0,
                0, 0, 0
            ]
        );
        assert_eq!(d.images.iter().map(|&p| p as u64).sum::<u64>(), 262_146_600);
    }

    #[test]
    fn embedded_thesis_sets() {
        // Expected numbers computed with python3 (csv.reader over the shared CSV files, header skipped):
        //   train: 698 rows, 322 zeros / 376 ones, row 0 label 0 pixel sum 31095, last row label 0 sum 39620;
        //   test: 100 rows, 38 zeros / 62 ones, row 0 label 1 pixel sum 9871, last row label 0 sum 13981.
        let sum = |d: &Dataset, k: usize| d.image(k).iter().map(|&p| p as u32).sum::<u32>();
        let train = embedded_thesis_train();
        assert_eq!(train.len(), 698);
        assert_eq!((train.rows, train.cols), (28, 28));
        assert_eq!(train.classes(), vec![0, 1]);
        assert_eq!((train.class_counts()[0], train.class_counts()[1]), (322, 376));
        assert_eq!((train.labels[0], sum(&train, 0)), (0, 31095));
        assert_eq!((train.labels[697], sum(&train, 697)), (0, 39620));
        let test = embedded_thesis_test();
        assert_eq!(test.len(), 100);
        assert_eq!(test.classes(), vec![0, 1]);
        assert_eq!((test.class_counts()[0], test.class_counts()[1]), (38, 62));
        assert_eq!((test.labels[0], sum(&test, 0)), (1, 9871));
        assert_eq!((test.labels[99], sum(&test, 99)), (0, 13981));
    }

    #[test]
    fn idx_round_trip_raw_and_gzip() {
        let d = small();
        let (im, lb) = to_idx(&d);
        assert_eq!(parse_idx(&im, &lb, "small").unwrap(), d);
        assert_eq!(parse_idx(&gzip(&im), &gzip(&lb), "small").unwrap(), d);
        assert_eq!(parse_idx(&gzip(&im), &lb, "small").unwrap(), d);
        // The embedded set survives a round trip too.
        let e = embedded_thesis_test();
        let (im, lb) = to_idx(&e);
        let back = parse_idx(&gzip(&im), &gzip(&lb), &e.source).unwrap();
        assert_eq!(back, e);
        // Empty sets are valid.
        let empty = small().take(0);
        let (im, lb) = to_idx(&empty);
        assert!(parse_idx(&im, &lb, "x").unwrap().is_empty());
    }

    #[test]
    fn load_idx_and_load_csv_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = small();
        let (im, lb) = to_idx(&d);
        let (ip, lp) = (dir.path().join("a-images.gz"), dir.path().join("a-labels"));
        std::fs::write(&ip, gzip(&im)).unwrap();
        std::fs::write(&lp, &lb).unwrap();
        let back = load_idx(&ip, &lp).unwrap();
        assert_eq!((back.images, back.labels, back.rows, back.cols), (d.images, d.labels, d.rows, d.cols));
        // A missing file is named.
        let missing = dir.path().join("nope.idx");
        let msg = load_idx(&missing, &lp).unwrap_err().to_string();
        assert!(msg.contains("nope.idx") && msg.contains("cannot read"), "{msg}");
        // Errors from files name the file.
        std::fs::write(&ip, &lb).unwrap();
        let msg = load_idx(&ip, &lp).unwrap_err().to_string();
        assert!(msg.starts_with(&ip.display().to_string()), "{msg}");
        // CSV, without header, LF line ends.
        let csv = dir.path().join("x.csv");
        std::fs::write(&csv, format!("{}\n{}\n", csv_row(7).join(","), csv_row(2).join(","))).unwrap();
        let c = load_csv(&csv).unwrap();
        assert_eq!(c.labels, vec![7, 2]);
        assert_eq!(c.image(1)[300], (300 % 256) as u8);
        std::fs::write(&csv, "label,1x1\n").unwrap();
        let msg = load_csv(&csv).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}:1:10:", csv.display())), "{msg}");
    }

    #[test]
    fn idx_errors_name_the_file_and_the_expectation() {
        let (im, lb) = to_idx(&small());
        // Files swapped: wrong magic.
        assert_eq!(err_idx(&lb, &lb), "t images: expected IDX magic 2051 for images, found 2049");
        assert_eq!(err_idx(&im, &im), "t labels: expected IDX magic 2049 for labels, found 2051");
        let mut garbage = im.clone();
        garbage[0] = 0x50;
        assert!(err_idx(&garbage, &lb).starts_with("t images: expected IDX magic 2051 for images, found 1342179331"));
        // Unsupported data type (float images).
        let mut float = im.clone();
        float[2] = 0x0D;
        assert_eq!(
            err_idx(&float, &lb),
            "t images: unsupported IDX data type 0x0d (float) for images: only unsigned byte (0x08) is supported"
        );
        // Truncated body, truncated header, too short for a magic.
        assert_eq!(
            err_idx(&im[..im.len() - 1], &lb),
            "t images: truncated images file: expected 76 bytes (16-byte header + 5 images of 3x4 pixels), found 75"
        );
        assert_eq!(
            err_idx(&im, &lb[..6]),
            "t labels: truncated labels file: expected 8 bytes (at least the header: magic, count), found 6"
        );
        assert!(err_idx(&im[..2], &lb).contains("truncated images file: expected 16 bytes"));
        assert!(err_idx(&[], &lb).contains("found 0"));
        // Trailing data.
        let mut long = lb.clone();
        long.push(9);
        assert_eq!(
            err_idx(&im, &long),
            "t labels: labels file has trailing data: expected 13 bytes (8-byte header + 5 labels), found 14"
        );
        // Count mismatch between images and labels.
        let fewer = small().take(4);
        let (_, lb4) = to_idx(&fewer);
        assert_eq!(err_idx(&im, &lb4), "t images holds 5 images but t labels holds 4 labels: expected the same count");
        // A huge declared count is a truncation, not an allocation.
        let mut huge = im.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        huge[8..16].copy_from_slice(&[0xff; 8]);
        assert!(err_idx(&huge, &lb).contains("truncated images file"));
        // Zero-sized images.
        let mut flat = vec![0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 28];
        flat.truncate(16);
        assert_eq!(
            err_idx(&flat, &[0, 0, 8, 1, 0, 0, 0, 0]),
            "t images: images of 0x28 pixels: expected at least 1 row and 1 column"
        );
        // Bad gzip.
        let mut gz = gzip(&im);
        gz.truncate(gz.len() / 2);
        assert!(err_idx(&gz, &lb).starts_with("t images: bad gzip data:"), "{}", err_idx(&gz, &lb));
        assert!(err_idx(&[0x1f, 0x8b, 1, 2, 3], &lb).starts_with("t images: bad gzip data:"));
    }

    #[test]
    fn csv_header_detection_and_line_ends() {
        let rows = [csv_row(0).join(","), csv_row(1).join(",")];
        let with_header = format!("{}\r\n{}\r\n{}\r\n", header(), rows[0], rows[1]);
        let without = format!("{}\n\n{}", rows[0], rows[1]);
        let a = parse_csv(&with_header, "a").unwrap();
        let b = parse_csv(&without, "a").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.labels, vec![0, 1]);
        assert_eq!(a.image(0)[783], (783 % 256) as u8);
        // Labels above 9 are allowed.
        assert!(parse_csv(&csv_row(11).join(","), "a").unwrap_err().to_string().contains("expected a class 0..=9"));
        // Spaces around cells are accepted.
        assert_eq!(parse_csv(&csv_row(5).join(" , "), "a").unwrap().labels, vec![5]);
    }

    #[test]
    fn csv_errors_give_line_and_column() {
        let good = csv_row(1).join(",");
        // Wrong number of columns, on line 7 (header, 5 good rows, bad row).
        let short: Vec<String> = csv_row(1).into_iter().take(700).collect();
        let text = format!("{}\n{}\n{}\n", header(), vec![good.clone(); 5].join("\n"), short.join(","));
        assert_eq!(
            err_csv(&text),
            format!("t.csv:7:{}: expected 785 columns (label + 784 pixels), found 700", short.join(",").len() + 1)
        );
        // Pixel out of range, line 2 (after header), column 3 = pixel 1x2.
        let mut row = csv_row(1);
        row[2] = "300".into();
        assert_eq!(
            err_csv(&format!("{}\n{}\n", header(), row.join(","))),
            "t.csv:2:5: pixel 1x2 (cell 3): value 300 is out of range: expected an integer 0..=255"
        );
        // Non-numeric pixel: last column is pixel 28x28.
        let mut row = csv_row(1);
        row[784] = "x".into();
        assert_eq!(
            err_csv(&row.join(",")),
            format!(
                "t.csv:1:{}: pixel 28x28 (cell 785): 'x' is not an integer: expected an integer 0..=255",
                row.join(",").len()
            )
        );
        // Negative and fractional pixels.
        let mut row = csv_row(1);
        row[30] = "-1".into();
        assert!(err_csv(&row.join(",")).contains("pixel 2x2 (cell 31): '-1' is not an integer"));
        row[30] = "2.5".into();
        assert!(err_csv(&row.join(",")).contains("'2.5' is not an integer"));
        // Label out of range, and a garbled first-row label is an error, not a header.
        let mut row = csv_row(1);
        row[0] = "256".into();
        assert_eq!(
            err_csv(&row.join(",")),
            "t.csv:1:1: label (cell 1): value 256 is out of range: expected a class 0..=9"
        );
        row[0] = "1a".into();
        assert_eq!(
            err_csv(&row.join(",")),
            "t.csv:1:1: label (cell 1): '1a' is not an integer: expected a class 0..=9"
        );
        // Empty cell.
        let mut row = csv_row(1);
        row[10] = "".into();
        assert_eq!(
            err_csv(&format!("{good}\n{}", row.join(","))),
            format!(
                "t.csv:2:{}: pixel 1x10 (cell 11): empty cell: expected an integer 0..=255",
                row[..10].join(",").len() + 2
            )
        );
        // Header of the wrong width; header only; empty text.
        assert_eq!(err_csv("label,1x1,1x2\n"), "t.csv:1:14: expected 785 columns (label + 784 pixels), found 3");
        assert_eq!(err_csv(&header()), "t.csv: no data rows: expected lines of a label and 784 pixels");
        assert_eq!(err_csv(""), "t.csv: no data rows: expected lines of a label and 784 pixels");
        // A header-like line after the first is data, and an error.
        assert!(err_csv(&format!("{good}\n{}", header()))
            .starts_with("t.csv:2:1: label (cell 1): 'label' is not an integer"));
    }

    #[test]
    fn subsets_and_shuffles() {
        let d = small();
        assert_eq!((d.len(), d.pixels(), d.is_empty()), (5, 12, false));
        assert_eq!(d.image(2), &d.images[24..36]);
        let f = d.filter_classes(&[1, 5]);
        assert_eq!(f.labels, vec![1, 1, 5]);
        assert_eq!(f.image(0), d.image(1));
        assert_eq!(f.image(1), d.image(3));
        assert_eq!(f.image(2), d.image(4));
        assert!(d.filter_classes(&[9]).is_empty());
        let t = d.take(2);
        assert_eq!((t.labels.clone(), t.images.as_slice()), (vec![3, 1], &d.images[..24]));
        assert_eq!(d.take(99).len(), 5);
        let (a, b) = d.split(3);
        assert_eq!((&a.labels, &b.labels), (&vec![3, 1, 4], &vec![1, 5]));
        assert_eq!(b.image(0), d.image(3));
        let (a, b) = d.split(10);
        assert_eq!((a.len(), b.len()), (5, 0));
        // Shuffle: deterministic per seed, a permutation that keeps each image with its label.
        let big = embedded_thesis_test();
        let s1 = big.shuffled(42);
        assert_eq!(s1, big.shuffled(42));
        assert_ne!(s1.labels, big.labels);
        assert_ne!(s1.images, big.shuffled(43).images);
        assert_eq!(s1.class_counts(), big.class_counts());
        for k in 0..s1.len() {
            let j = (0..big.len()).find(|&j| big.image(j) == s1.image(k)).expect("image kept");
            assert_eq!(big.labels[j], s1.labels[k]);
        }
        assert!(s1.source.contains("seed 42"));
        let counts = d.class_counts();
        assert_eq!((counts[1], counts[3], counts[4], counts[5], counts[0]), (2, 1, 1, 1, 0));
        assert_eq!(d.classes(), vec![1, 3, 4, 5]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn parse_idx_never_panics(im in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
                                  lb in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
                                  prefix in 0usize..4) {
            // Bias some cases towards valid headers so that the deeper checks run too.
            let mut im = im;
            let mut lb = lb;
            if prefix >= 1 && im.len() >= 4 { im[..4].copy_from_slice(&[0, 0, 8, 3]); }
            if prefix >= 2 && lb.len() >= 4 { lb[..4].copy_from_slice(&[0, 0, 8, 1]); }
            if prefix == 3 && im.len() >= 2 { im[..2].copy_from_slice(&[0x1f, 0x8b]); }
            let _ = parse_idx(&im, &lb, "p");
        }

        #[test]
        fn parse_csv_never_panics(text in "[0-9a-z,\r\n \"-]{0,400}", lines in 0usize..3) {
            // Some cases get full-width rows so that the cell checks run.
            let mut t = text.clone();
            for _ in 0..lines {
                t.push('\n');
                t.push_str(&text.replace(['\n', '\r', ','], "").chars().take(3).collect::<String>());
                t.push_str(&",7".repeat(784));
            }
            let _ = parse_csv(&t, "p");
        }

        #[test]
        fn parse_csv_never_panics_any_text(text in proptest::prelude::any::<String>()) {
            let _ = parse_csv(&text, "p");
        }
    }
}
