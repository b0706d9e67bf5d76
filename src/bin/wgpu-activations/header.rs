//! The .npy header, read as numpy reads it.
//!
//! numpy's reader (`numpy.lib.format.read_array`; rules below checked
//! against numpy 2.4.6 on CPython 3.11.7, x86-64 Linux) takes:
//!
//! - the magic `\x93NUMPY`, a version (1.0, 2.0 or 3.0), the header length
//!   (2 bytes little-endian in 1.0, 4 in 2.0 and 3.0), then the header: text
//!   decoded as Latin-1 (1.0, 2.0) or UTF-8 (3.0), of at most 10000
//!   characters (`max_header_size`);
//! - the header evaluated with Python's `ast.literal_eval` (after stripping
//!   leading spaces and tabs): a dict with exactly the keys `descr`,
//!   `fortran_order` and `shape`; `shape` a tuple of `int`s (not `bool`s),
//!   at most 64 of them; `fortran_order` a `bool`; `descr` what
//!   `numpy.dtype` understands. Where a 1.0 or 2.0 header does not parse,
//!   numpy parses it again as rewritten by Python's `tokenize` module, less
//!   the `L` that Python 2 wrote after long integers (`(5L,)`); the rewrite
//!   also drops the first line's indentation and a last line of whitespace;
//! - an array whose non-zero dimensions hold at most 2^63 - 1 bytes (numpy
//!   cannot create a larger one, even with a zero dimension elsewhere), and
//!   whose data follows the header in full (bytes after it are ignored).
//!
//! This module accepts exactly the files numpy reads as a little-endian
//! float32 or float16 array (on a little-endian machine), with the same
//! dtype, shape and data offset, with these exceptions, all refusals:
//! duplicate keys in the header (numpy silently takes the last one);
//! Fortran order; `descr` values that numpy reads as float32 through
//! `numpy.dtype`'s constructor language rather than as a type string:
//! tuples (`('<f4', ())`), subarrays (`'1f4'`, `'(1,)f4'`, and any subarray
//! where the shape has a zero); and 1.0 and 2.0 headers that need the Python
//! 2 rewrite and hold a lone carriage return (which `tokenize` and the
//! parser see differently). C's `strtol`, which reads the size in `'f 4'`,
//! is taken in the C or a UTF-8 locale.
//!
//! The header is parsed by a small tokenizer and parser for the part of
//! Python's literal syntax that can describe such an array: dict, tuple and
//! list displays, string literals (every prefix, quote and escape, implicit
//! concatenation), integer literals (every base, underscores, a sign, the
//! Python 2 `L`), `True` and `False`, parentheses, comments, blank lines and
//! line continuations, with CPython's rules for indentation and for where a
//! line may end. Everything else is refused with a message that says where.

use std::io::Read;

use crate::text::{escape_unprintable, quote};

/// The first bytes of every .npy file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy's `max_header_size`: the most characters of header it parses.
pub const MAX_HEADER_CHARS: usize = 10_000;
/// numpy's `NPY_MAXDIMS`.
pub const MAX_DIMS: usize = 64;
/// The most bytes an array may span, counting only its non-zero dimensions
/// (numpy's `npy_intp`).
pub const MAX_ARRAY_BYTES: u128 = i64::MAX as u128;
/// CPython's tokenizer allows 200 nested brackets (`MAXLEVEL`).
const MAX_NESTING: usize = 200;

/// Element type of an array the tool processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// Little-endian IEEE binary32 (`<f4`).
    F32,
    /// Little-endian IEEE binary16 (`<f2`).
    F16,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
        }
    }

    /// The numpy type string (`<f4`, `<f2`).
    pub fn descr(self) -> &'static str {
        match self {
            Dtype::F32 => "<f4",
            Dtype::F16 => "<f2",
        }
    }

    /// The numpy name (`float32`, `float16`).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "float32",
            Dtype::F16 => "float16",
        }
    }
}

/// Where an array's data lies in an .npy file, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The format version, (1, 0), (2, 0) or (3, 0).
    pub version: (u8, u8),
    /// The element type.
    pub dtype: Dtype,
    /// The dimensions, in C order (empty for a 0-d array).
    pub shape: Vec<usize>,
    /// Number of elements (1 for a 0-d array).
    pub len: usize,
    /// Where the data starts: just past the header.
    pub data_offset: u64,
}

impl Layout {
    /// Bytes of data the header promises.
    pub fn data_bytes(&self) -> u64 {
        self.len as u64 * self.dtype.size()
    }
}

/// Reads the header of an .npy file of `file_len` bytes from `reader`
/// (positioned at the file's start), checks it as numpy would and checks
/// that the data it promises is all there. Leaves `reader` at the data.
pub fn read_layout(reader: &mut impl Read, file_len: u64) -> Result<Layout, String> {
    let not_npy = || "not an .npy file (it does not start with \\x93NUMPY)".to_string();
    let truncated_header = || "truncated: the file ends inside the .npy header".to_string();
    let mut prefix = [0u8; 8];
    let got = read_up_to(reader, &mut prefix).map_err(|e| e.to_string())?;
    if got < MAGIC.len() || prefix[..MAGIC.len()] != MAGIC[..] {
        return Err(not_npy());
    }
    if got < prefix.len() {
        return Err(truncated_header());
    }
    let version = (prefix[6], prefix[7]);
    let (length_bytes, utf8) = match version {
        (1, 0) => (2, false),
        (2, 0) | (3, 0) => (4, version == (3, 0)),
        (major, minor) => {
            return Err(format!(
                "unsupported .npy format version {major}.{minor} (numpy reads 1.0, 2.0 and 3.0)"
            ))
        }
    };
    let mut length = [0u8; 4];
    if read_up_to(reader, &mut length[..length_bytes]).map_err(|e| e.to_string())? < length_bytes {
        return Err(truncated_header());
    }
    let header_len = u64::from(u32::from_le_bytes(length));
    let data_offset = 8 + length_bytes as u64 + header_len;
    if data_offset > file_len {
        return Err(truncated_header());
    }
    // numpy counts characters once decoded: one byte each in Latin-1, at
    // most four in UTF-8.
    let most_bytes = MAX_HEADER_CHARS as u64 * if utf8 { 4 } else { 1 };
    let too_long = |chars: String| {
        format!(
            "the .npy header is {chars} long; numpy refuses headers over {MAX_HEADER_CHARS} \
             characters (max_header_size)"
        )
    };
    if header_len > most_bytes {
        return Err(too_long(format!("{header_len} bytes")));
    }
    let mut bytes = vec![0u8; header_len as usize];
    if read_up_to(reader, &mut bytes).map_err(|e| e.to_string())? < bytes.len() {
        return Err(truncated_header());
    }
    let text = if utf8 {
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "the header of a version 3.0 .npy file must be UTF-8; byte {} is not",
                e.utf8_error().valid_up_to()
            )
        })?
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    };
    let chars = text.chars().count();
    if chars > MAX_HEADER_CHARS {
        return Err(too_long(format!("{chars} characters")));
    }
    let (dtype, shape) = parse_header(&text, !utf8)?;
    let len = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("the shape {shape:?} is too large for this machine"))?;
    let layout = Layout {
        version,
        dtype,
        shape,
        len,
        data_offset,
    };
    let needed = layout.data_bytes();
    let available = file_len - data_offset;
    if available < needed {
        return Err(format!(
            "truncated: the header promises {len} {} elements ({needed} bytes of data) but \
             only {available} bytes follow it",
            dtype.name()
        ));
    }
    Ok(layout)
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Checks the header text of an .npy file (the dict, as decoded) and
/// returns the array's dtype and shape. `python2`: a version 1.0 or 2.0
/// file, which numpy parses again rewritten where it does not parse
/// (Python 2's `5L`).
pub fn parse_header(text: &str, python2: bool) -> Result<(Dtype, Vec<usize>), String> {
    let node = parse_literal(text, python2)?;
    check_dict(node)
}

// ------------------------------------------------------------ the checks

/// The checks numpy makes of the evaluated header, and the tool's own.
fn check_dict(node: Node) -> Result<(Dtype, Vec<usize>), String> {
    let Value::Dict(entries) = node.value else {
        return Err(format!(
            "the .npy header is {}, not a dictionary",
            node.source
        ));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in entries {
        let Value::Str(name) = &key.value else {
            return Err(format!(
                "the .npy header has the key {}, which is not a string; numpy accepts only \
                 'descr', 'fortran_order' and 'shape'",
                key.source
            ));
        };
        let slot = match name.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            _ => {
                return Err(format!(
                    "the .npy header has the key {}; numpy accepts only 'descr', \
                     'fortran_order' and 'shape'",
                    quote(name, 40)
                ))
            }
        };
        if slot.is_some() {
            return Err(format!(
                "the .npy header has the key {} twice (numpy would silently use the last one)",
                quote(name, 40)
            ));
        }
        *slot = Some(value);
    }
    let missing = |key: &str| format!("the .npy header has no '{key}'");
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran = fortran.ok_or_else(|| missing("fortran_order"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;

    let Value::Tuple(dims) = &shape.value else {
        return Err(format!(
            "the shape {} is not a tuple; numpy requires a tuple of integers",
            shape.source
        ));
    };
    let mut magnitudes = Vec::with_capacity(dims.len());
    for dim in dims {
        match dim {
            Value::Int(int) if int.negative && int.magnitude != Some(0) => {
                return Err(format!(
                    "the shape {} has a negative dimension",
                    shape.source
                ))
            }
            Value::Int(int) => magnitudes.push(int.magnitude),
            _ => {
                return Err(format!(
                    "the shape {} is not a tuple of integers",
                    shape.source
                ))
            }
        }
    }
    if magnitudes.len() > MAX_DIMS {
        return Err(format!(
            "the shape has {} dimensions; numpy allows at most {MAX_DIMS}",
            magnitudes.len()
        ));
    }
    let Value::Bool(fortran) = fortran.value else {
        return Err(format!(
            "fortran_order is {}; numpy requires True or False",
            fortran.source
        ));
    };
    let expected = "expected float32 (<f4) or float16 (<f2)";
    let dtype = match &descr.value {
        Value::Str(text) => descr_dtype(text)?,
        Value::List(_) => {
            return Err(format!(
                "unsupported dtype {}: a structured array; {expected}",
                descr.source
            ))
        }
        Value::Tuple(_) => {
            return Err(format!(
                "unsupported dtype {}: a dtype tuple (a subarray); {expected}",
                descr.source
            ))
        }
        _ => {
            return Err(format!(
                "unsupported dtype {}: not a type string; {expected}",
                descr.source
            ))
        }
    };
    if fortran {
        return Err(
            "Fortran-order arrays are not supported: save the array in C order \
                    (numpy: np.save(path, np.ascontiguousarray(a)))"
                .into(),
        );
    }
    // numpy multiplies the non-zero dimensions and the element size in
    // `npy_intp`: (0, 2**62) float32 is refused even though it is empty.
    let too_many = || {
        format!(
            "the shape {} has too many elements: numpy refuses arrays whose non-zero \
             dimensions span more than 2^63 - 1 bytes",
            shape.source
        )
    };
    let mut bytes = u128::from(dtype.size());
    let mut dims = Vec::with_capacity(magnitudes.len());
    for magnitude in magnitudes {
        let dim = magnitude.ok_or_else(too_many)?;
        if dim != 0 {
            bytes = bytes.saturating_mul(dim);
            if bytes > MAX_ARRAY_BYTES {
                return Err(too_many());
            }
        }
        dims.push(usize::try_from(dim).map_err(|_| too_many())?);
    }
    Ok((dtype, dims))
}

// ------------------------------------------------------------- descr

/// What `numpy.dtype(descr)` makes of a type string, as far as the tool
/// cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// float32 or float16, big-endian or not.
    Float(Dtype, bool),
    /// A comma-separated list: a structured dtype (or numpy's error).
    Structured,
    /// A repeat count before the type: a subarray dtype (or numpy's error).
    Subarray,
    /// Any other dtype, or none.
    Other,
}

/// The dtype of a `descr` string, or why the tool refuses it.
pub fn descr_dtype(descr: &str) -> Result<Dtype, String> {
    // Simple type strings as they are (`<f8`), anything else quoted.
    let shown = if !descr.is_empty()
        && descr.chars().all(|c| c.is_ascii_graphic())
        && !descr.contains(['\'', '"', '\\'])
    {
        descr.to_string()
    } else {
        quote(descr, 40)
    };
    let expected = "expected float32 (<f4) or float16 (<f2)";
    match descr_kind(descr, 0) {
        Kind::Float(dtype, false) => Ok(dtype),
        Kind::Float(dtype, true) => Err(format!(
            "unsupported dtype {shown}: big-endian; expected little-endian float32 (<f4) or \
             float16 (<f2) (numpy: a.astype('{}'))",
            dtype.descr()
        )),
        Kind::Structured => Err(format!(
            "unsupported dtype {shown}: a structured array; {expected}"
        )),
        Kind::Subarray => Err(format!(
            "unsupported dtype {shown}: a subarray dtype; {expected}"
        )),
        Kind::Other => Err(format!("unsupported dtype {shown}: {expected}")),
    }
}

/// numpy's `_convert_from_str` (descriptor.c), for a little-endian machine.
fn descr_kind(descr: &str, depth: u8) -> Kind {
    let bytes = descr.as_bytes();
    if bytes.is_empty() || depth > 8 {
        Kind::Other
    } else if is_commastring(bytes) {
        commastring_kind(descr, depth)
    } else {
        plain_kind(descr)
    }
}

fn is_byte_order(c: u8) -> bool {
    matches!(c, b'<' | b'>' | b'|' | b'=')
}

/// numpy's `_check_for_commastring`: strings handed to Python's
/// `_commastring` (a repeat count or tuple first, or a comma outside `[]`).
fn is_commastring(b: &[u8]) -> bool {
    if b[0].is_ascii_digit() || (b.len() > 1 && is_byte_order(b[0]) && b[1].is_ascii_digit()) {
        return true;
    }
    if (b.len() > 1 && b[0] == b'(' && b[1] == b')')
        || (b.len() > 3 && is_byte_order(b[0]) && b[1] == b'(' && b[2] == b')')
    {
        return true;
    }
    let mut depth = 0i64;
    for &c in b {
        match c {
            b',' if depth == 0 => return true,
            b'[' => depth += 1,
            b']' => depth -= 1,
            _ => {}
        }
    }
    false
}

/// Python's `str.isspace` (and `\s` in `re`).
fn is_python_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// numpy's `_commastring` (`numpy/_core/_internal.py`) for one item: the
/// regular expression `([<>|=]?)( *[(]?[ ,0-9]*[)]? *)([<>|=]?)
/// ([A-Za-z0-9.?]*(?:\[[a-zA-Z0-9,.]+\])?)`, then only whitespace.
fn commastring_kind(descr: &str, depth: u8) -> Kind {
    let chars: Vec<char> = descr.chars().collect();
    let n = chars.len();
    let mut i = 0;
    let order = |i: &mut usize| match chars.get(*i) {
        Some(&c @ ('<' | '>' | '|' | '=')) => {
            *i += 1;
            Some(c)
        }
        _ => None,
    };
    let order1 = order(&mut i);
    let repeats_start = i;
    while i < n && chars[i] == ' ' {
        i += 1;
    }
    if i < n && chars[i] == '(' {
        i += 1;
    }
    while i < n && matches!(chars[i], ' ' | ',' | '0'..='9') {
        i += 1;
    }
    if i < n && chars[i] == ')' {
        i += 1;
    }
    while i < n && chars[i] == ' ' {
        i += 1;
    }
    let repeats: String = chars[repeats_start..i].iter().collect();
    let order2 = order(&mut i);
    let type_start = i;
    while i < n && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '?') {
        i += 1;
    }
    if i < n && chars[i] == '[' {
        let mut j = i + 1;
        while j < n && (chars[j].is_ascii_alphanumeric() || chars[j] == ',' || chars[j] == '.') {
            j += 1;
        }
        if j > i + 1 && j < n && chars[j] == ']' {
            i = j + 1;
        }
    }
    let type_part: String = chars[type_start..i].iter().collect();
    if !chars[i..].iter().all(|&c| is_python_space(c)) {
        // `\s*,\s*` next: a list of fields; otherwise numpy's error.
        return if chars[i..].iter().find(|&&c| !is_python_space(c)) == Some(&',') {
            Kind::Structured
        } else {
            Kind::Other
        };
    }
    let order = match (order1, order2) {
        (Some(a), Some(b)) => {
            let native = |c: char| if c == '=' { '<' } else { c };
            if native(a) != native(b) {
                return Kind::Other;
            }
            native(a)
        }
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => '<',
    };
    let item = if order == '>' {
        format!(">{type_part}")
    } else {
        type_part
    };
    if repeats.is_empty() {
        return descr_kind(&item, depth + 1);
    }
    // `(type, ())` is the type itself; any other count makes a subarray.
    let inner = repeats.trim_matches(' ');
    let empty_tuple = inner.len() >= 2
        && inner.starts_with('(')
        && inner.ends_with(')')
        && inner[1..inner.len() - 1].chars().all(|c| c == ' ');
    if empty_tuple {
        descr_kind(&item, depth + 1)
    } else {
        Kind::Subarray
    }
}

/// The rest of `_convert_from_str`: a byte-order character, then a
/// one-character type code (or type number), a kind and a size read with C's
/// `strtol`, or a name of numpy's `sctypeDict`.
fn plain_kind(descr: &str) -> Kind {
    let bytes = descr.as_bytes();
    let (big, rest) = match bytes[0] {
        b'>' => (true, &bytes[1..]),
        b'<' | b'=' | b'|' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let dtype = match rest {
        [] => None,
        // 'f' and 'e', and the type numbers of float32 (11) and float16 (23).
        [b'f' | 11] => Some(Dtype::F32),
        [b'e' | 23] => Some(Dtype::F16),
        [_] => None,
        [kind, size @ ..] => match strtol(size) {
            Strtol::Whole(4) if *kind == b'f' => Some(Dtype::F32),
            Strtol::Whole(2) if *kind == b'f' => Some(Dtype::F16),
            Strtol::Whole(_) | Strtol::OutOfRange => None,
            // The whole string (byte order included) looked up by name.
            Strtol::Partial => match descr {
                "float32" | "single" => Some(Dtype::F32),
                "float16" | "half" => Some(Dtype::F16),
                _ => None,
            },
        },
    };
    match dtype {
        Some(dtype) => Kind::Float(dtype, big),
        None => Kind::Other,
    }
}

/// How C's `strtol(text, &end, 10)` reads a whole string.
#[derive(Debug, PartialEq)]
enum Strtol {
    /// All of it, a value from 0 to `INT_MAX`.
    Whole(u64),
    /// A value out of 0..=`INT_MAX` (numpy then fails).
    OutOfRange,
    /// Not all of it (numpy then looks the name up).
    Partial,
}

fn strtol(text: &[u8]) -> Strtol {
    let mut i = 0;
    while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\n' | 11 | 12 | b'\r') {
        i += 1;
    }
    let negative = match text.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = i;
    let mut value: u64 = 0;
    while i < text.len() && text[i].is_ascii_digit() {
        value = value
            .saturating_mul(10)
            .saturating_add(u64::from(text[i] - b'0'));
        i += 1;
    }
    if i == digits {
        return Strtol::Partial;
    }
    if value > i32::MAX as u64 || (negative && value != 0) {
        Strtol::OutOfRange
    } else if i < text.len() {
        Strtol::Partial
    } else {
        Strtol::Whole(value)
    }
}

// ------------------------------------------------- the literal parser

/// A Python value of the header, as far as the checks need it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(Int),
    Bool(bool),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Node, Node)>),
    /// A float or complex number; `signed` as for [`Int`].
    Float {
        signed: bool,
    },
    /// Anything else a literal may be (`None`, `b'x'`, `{1}`).
    Other,
}

/// A value and how the header wrote it (escaped, for messages).
#[derive(Debug, Clone, PartialEq)]
struct Node {
    value: Value,
    source: String,
}

/// An integer: sign and magnitude (`None` past `u128`).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Int {
    negative: bool,
    magnitude: Option<u128>,
    /// Written with a sign (`-5`): `ast.literal_eval` allows one sign only.
    signed: bool,
}

/// A token of CPython's tokenizer, for the header's part of the language.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open(char),
    Close(char),
    Comma,
    Colon,
    /// `-` (true) or `+`.
    Sign(bool),
    Str(StrKind, String),
    Int(Option<u128>),
    /// A float or imaginary literal.
    OtherNumber,
    Name(String),
    /// The end of the (logical) line holding the dict.
    Newline,
    End,
    /// Any other operator.
    Operator(char),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum StrKind {
    Text,
    Bytes,
    Format,
}

/// An error at a character of the header.
struct SyntaxError {
    at: usize,
    why: String,
}

fn syntax(at: usize, why: impl Into<String>) -> SyntaxError {
    SyntaxError {
        at,
        why: why.into(),
    }
}

/// Evaluates `text` as `ast.literal_eval` would, for the values a header
/// of a float32/float16 array uses. `python2`: numpy's fallback for 1.0 and
/// 2.0 files applies.
fn parse_literal(text: &str, python2: bool) -> Result<Node, String> {
    // `ast.literal_eval` strips leading spaces and tabs; CPython reads "\r\n"
    // and "\r" as "\n". `origin` maps back to characters of `text`.
    let skipped = text.len() - text.trim_start_matches([' ', '\t']).len();
    let mut chars = Vec::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    let mut iter = text[skipped..].chars().enumerate().peekable();
    while let Some((i, c)) = iter.next() {
        let c = if c == '\r' {
            if matches!(iter.peek(), Some((_, '\n'))) {
                iter.next();
            }
            '\n'
        } else {
            c
        };
        chars.push(c);
        origin.push(skipped + i);
    }
    let parse = |rescue: bool| {
        if let Some(at) = chars.iter().position(|&c| c == '\0') {
            return Err(syntax(
                at,
                "a NUL character, which Python source cannot hold",
            ));
        }
        let mut parser = Parser {
            lexer: Lexer {
                chars: &chars,
                pos: 0,
                brackets: Vec::new(),
                at_line_start: true,
                blank_line: false,
                rescue,
            },
            peeked: None,
            last_end: 0,
        };
        let node = parser.node()?;
        loop {
            let (at, token) = parser.next()?;
            match token {
                Token::Newline => {}
                Token::End => return Ok(node),
                token => return Err(unexpected(at, &token, "after the dictionary")),
            }
        }
    };
    // numpy parses a 1.0 or 2.0 header again where it does not parse,
    // rewritten by its Python 2 fallback; the rewrite only changes what would
    // not parse (an `L` after a number, indentation). Python's `tokenize`
    // does not end lines at a lone "\r" as the parser does: such headers
    // are left to the first reading.
    let lone_cr = text
        .char_indices()
        .any(|(i, c)| c == '\r' && !text[i + 1..].starts_with('\n'));
    let result = match parse(false) {
        Err(_) if python2 && !lone_cr => parse(true),
        result => result,
    };
    result.map_err(|e| {
        let at = origin.get(e.at).copied().unwrap_or(text.chars().count());
        format!(
            "malformed .npy header at character {at} ({}): {}",
            e.why,
            excerpt(text, at)
        )
    })
}

/// Up to 60 characters of `text` from a little before character `at`,
/// quoted.
fn excerpt(text: &str, at: usize) -> String {
    let start = at.saturating_sub(20);
    let mut rest: String = text.chars().skip(start).take(61).collect();
    // The padding after the dict only shows where the error is in it.
    if !rest.chars().skip(at - start).all(char::is_whitespace) {
        rest.truncate(rest.trim_end().len());
    }
    let quoted = quote(&rest, 60);
    if start > 0 {
        format!("...{quoted}")
    } else {
        quoted
    }
}

fn unexpected(at: usize, token: &Token, context: &str) -> SyntaxError {
    let what = match token {
        Token::Open(c) | Token::Close(c) | Token::Operator(c) => format!("'{c}'"),
        Token::Comma => "','".into(),
        Token::Colon => "':'".into(),
        Token::Sign(true) => "'-'".into(),
        Token::Sign(false) => "'+'".into(),
        Token::Str(..) => "string".into(),
        Token::Int(_) | Token::OtherNumber => "number".into(),
        Token::Name(name) => format!("name {}", quote(name, 20)),
        Token::Newline => "end of line".into(),
        Token::End => "end of the header".into(),
    };
    syntax(at, format!("unexpected {what} {context}"))
}

/// A recursive-descent parser of Python's expressions, for literals.
struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The next token, read ahead: where it starts and ends.
    peeked: Option<(usize, usize, Token)>,
    /// Where the last token taken ends.
    last_end: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Result<(usize, Token), SyntaxError> {
        let (start, end, token) = match self.peeked.take() {
            Some(peeked) => peeked,
            None => self.read()?,
        };
        self.last_end = end;
        Ok((start, token))
    }

    fn read(&mut self) -> Result<(usize, usize, Token), SyntaxError> {
        let (start, token) = self.lexer.token()?;
        Ok((start, self.lexer.pos, token))
    }

    fn peek(&mut self) -> Result<&Token, SyntaxError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.read()?);
        }
        Ok(&self.peeked.as_ref().expect("just set").2)
    }

    /// A value with the text it was written with.
    fn node(&mut self) -> Result<Node, SyntaxError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.read()?);
        }
        let start = self.peeked.as_ref().map_or(0, |p| p.0);
        let value = self.value()?;
        let written: String = self.lexer.chars[start..self.last_end.max(start)]
            .iter()
            .collect();
        let mut source = escape_unprintable(&written);
        if source.chars().count() > 60 {
            source = source.chars().take(60).collect::<String>() + "...";
        }
        Ok(Node { value, source })
    }

    /// One expression, which must be a literal.
    fn value(&mut self) -> Result<Value, SyntaxError> {
        let (at, token) = self.next()?;
        let value = match token {
            Token::Sign(_) => {
                // `ast.literal_eval` takes one sign on a number, which may be
                // parenthesized: `-5`, `+(5)`; not `--5` or `-True`.
                let negative = token == Token::Sign(true);
                let (operand_at, operand) = self.next()?;
                if let Token::Sign(_) = operand {
                    return Err(syntax(operand_at, "more than one sign before a number"));
                }
                let operand = self.atom(operand_at, operand)?;
                self.no_trailer()?;
                match operand {
                    Value::Int(int) if !int.signed => Value::Int(Int {
                        negative,
                        magnitude: int.magnitude,
                        signed: true,
                    }),
                    Value::Int(_) => {
                        return Err(syntax(operand_at, "more than one sign before a number"))
                    }
                    Value::Float { signed: false } => Value::Float { signed: true },
                    _ => {
                        return Err(syntax(
                            operand_at,
                            "a sign before something other than a number",
                        ))
                    }
                }
            }
            token => {
                let value = self.atom(at, token)?;
                self.no_trailer()?;
                value
            }
        };
        Ok(value)
    }

    /// Refuses a call, subscript or attribute after an atom (`'a'[0]`).
    fn no_trailer(&mut self) -> Result<(), SyntaxError> {
        match self.peek()? {
            Token::Open('(') | Token::Open('[') | Token::Operator('.') => {
                let (at, token) = self.next()?;
                Err(unexpected(at, &token, "after a value (not a literal)"))
            }
            _ => Ok(()),
        }
    }

    fn atom(&mut self, at: usize, token: Token) -> Result<Value, SyntaxError> {
        match token {
            Token::Open('(') => {
                if self.peek()? == &Token::Close(')') {
                    self.next()?;
                    return Ok(Value::Tuple(Vec::new()));
                }
                let first = self.value()?;
                match self.next()? {
                    (_, Token::Close(')')) => Ok(first),
                    (_, Token::Comma) => Ok(Value::Tuple(self.items(first, ')')?)),
                    (at, token) => Err(unexpected(at, &token, "in parentheses")),
                }
            }
            Token::Open('[') => {
                if self.peek()? == &Token::Close(']') {
                    self.next()?;
                    return Ok(Value::List(Vec::new()));
                }
                let first = self.value()?;
                match self.next()? {
                    (_, Token::Close(']')) => Ok(Value::List(vec![first])),
                    (_, Token::Comma) => Ok(Value::List(self.items(first, ']')?)),
                    (at, token) => Err(unexpected(at, &token, "in a list")),
                }
            }
            Token::Open(_) => self.braces(),
            Token::Str(kind, text) => {
                // Adjacent string literals are one string.
                let (mut kind, mut text) = (kind, text);
                while let Token::Str(..) = self.peek()? {
                    let (at, Token::Str(next_kind, next_text)) = self.next()? else {
                        break;
                    };
                    if (kind == StrKind::Bytes) != (next_kind == StrKind::Bytes) {
                        return Err(syntax(at, "bytes and text strings concatenated"));
                    }
                    if next_kind == StrKind::Format {
                        kind = StrKind::Format;
                    }
                    text.push_str(&next_text);
                }
                match kind {
                    StrKind::Text => Ok(Value::Str(text)),
                    StrKind::Bytes => Ok(Value::Other),
                    StrKind::Format => Err(syntax(at, "an f-string, which is not a literal")),
                }
            }
            Token::Int(magnitude) => Ok(Value::Int(Int {
                negative: false,
                magnitude,
                signed: false,
            })),
            Token::OtherNumber => Ok(Value::Float { signed: false }),
            Token::Name(name) => match name.as_str() {
                "True" => Ok(Value::Bool(true)),
                "False" => Ok(Value::Bool(false)),
                "None" => Ok(Value::Other),
                _ => Err(syntax(
                    at,
                    format!("the name {}, which is not a literal", quote(&name, 20)),
                )),
            },
            token => Err(unexpected(at, &token, "where a value should be")),
        }
    }

    /// The items of a tuple or list after its first one and a comma, to
    /// the closing bracket (a trailing comma allowed).
    fn items(&mut self, first: Value, close: char) -> Result<Vec<Value>, SyntaxError> {
        let mut items = vec![first];
        loop {
            if self.peek()? == &Token::Close(close) {
                self.next()?;
                return Ok(items);
            }
            items.push(self.value()?);
            match self.next()? {
                (_, Token::Comma) => {}
                (_, Token::Close(c)) if c == close => return Ok(items),
                (at, token) => return Err(unexpected(at, &token, "between items")),
            }
        }
    }

    /// A dict or set display, after its `{`.
    fn braces(&mut self) -> Result<Value, SyntaxError> {
        if self.peek()? == &Token::Close('}') {
            self.next()?;
            return Ok(Value::Dict(Vec::new()));
        }
        let first = self.node()?;
        match self.next()? {
            (_, Token::Colon) => {}
            (_, Token::Comma) => {
                self.items(first.value, '}')?;
                return Ok(Value::Other);
            }
            (_, Token::Close('}')) => return Ok(Value::Other),
            (at, token) => return Err(unexpected(at, &token, "after a key")),
        }
        let mut entries = vec![(first, self.node()?)];
        loop {
            match self.next()? {
                (_, Token::Close('}')) => return Ok(Value::Dict(entries)),
                (_, Token::Comma) => {}
                (at, token) => {
                    return Err(unexpected(at, &token, "after a value in the dictionary"))
                }
            }
            if self.peek()? == &Token::Close('}') {
                self.next()?;
                return Ok(Value::Dict(entries));
            }
            let key = self.node()?;
            match self.next()? {
                (_, Token::Colon) => {}
                (at, token) => return Err(unexpected(at, &token, "after a key")),
            }
            entries.push((key, self.node()?));
        }
    }
}

/// CPython's tokenizer (Parser/tokenizer.c, 3.11), for what a header holds.
struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    /// The open brackets, and where.
    brackets: Vec<(char, usize)>,
    /// At the start of a physical line: indentation comes next.
    at_line_start: bool,
    /// The current line holds only whitespace and a comment.
    blank_line: bool,
    /// Read as numpy's fallback for 1.0 and 2.0 files does: Python 2's `5L`,
    /// and indentation that Python's `tokenize` module drops.
    rescue: bool,
}

impl Lexer<'_> {
    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek_at(0)?;
        self.pos += 1;
        Some(c)
    }

    /// After a backslash: a newline must follow, then more text.
    fn continuation(&mut self) -> Result<(), SyntaxError> {
        let at = self.pos - 1;
        if self.bump() != Some('\n') {
            return Err(syntax(at, "a backslash not at the end of a line"));
        }
        if self.peek_at(0).is_none() {
            return Err(syntax(at, "a line continuation at the end of the header"));
        }
        Ok(())
    }

    /// The indentation of a line: outside brackets, a line that holds more
    /// than whitespace and a comment must not be indented.
    fn indentation(&mut self) -> Result<(), SyntaxError> {
        let start = self.pos;
        let mut col = 0usize;
        let mut continued_col = 0usize;
        let mut continued = false;
        // Where the physical line of the next character starts.
        let mut row_start = self.pos;
        loop {
            match self.peek_at(0) {
                Some(' ') => col += 1,
                Some('\t') => col = (col / 8 + 1) * 8,
                Some('\x0c') => col = 0,
                Some('\\') => {
                    if continued_col == 0 {
                        continued_col = col;
                    }
                    self.pos += 1;
                    self.continuation()?;
                    continued = true;
                    row_start = self.pos;
                    continue;
                }
                _ => break,
            }
            self.pos += 1;
        }
        self.blank_line = matches!(self.peek_at(0), Some('#' | '\n'));
        let col = if continued_col != 0 {
            continued_col
        } else {
            col
        };
        if self.blank_line || !self.brackets.is_empty() || col == 0 {
            return Ok(());
        }
        if self.rescue {
            // numpy's fallback rewrites the header with Python's `tokenize`
            // module: the first line's indentation goes (where the first
            // token is on that line, or starts its own after a line
            // continuation), and so does a last line of whitespace alone.
            if start == 0 && (!continued || self.pos == row_start) {
                return Ok(());
            }
            if self.peek_at(0).is_none() && !continued {
                return Ok(());
            }
        }
        Err(syntax(start, "an indented line"))
    }

    fn token(&mut self) -> Result<(usize, Token), SyntaxError> {
        loop {
            if self.at_line_start {
                self.at_line_start = false;
                self.indentation()?;
            }
            while matches!(self.peek_at(0), Some(' ' | '\t' | '\x0c')) {
                self.pos += 1;
            }
            let at = self.pos;
            let Some(c) = self.bump() else {
                if let Some(&(open, open_at)) = self.brackets.last() {
                    return Err(syntax(open_at, format!("'{open}' never closed")));
                }
                return Ok((at, Token::End));
            };
            let token = match c {
                '#' => {
                    while !matches!(self.peek_at(0), None | Some('\n')) {
                        self.pos += 1;
                    }
                    continue;
                }
                '\n' => {
                    self.at_line_start = true;
                    if self.blank_line || !self.brackets.is_empty() {
                        continue;
                    }
                    Token::Newline
                }
                '\\' => {
                    self.continuation()?;
                    continue;
                }
                '(' | '[' | '{' => {
                    if self.brackets.len() >= MAX_NESTING {
                        return Err(syntax(at, "more than 200 nested brackets"));
                    }
                    self.brackets.push((c, at));
                    Token::Open(c)
                }
                ')' | ']' | '}' => {
                    let open = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    if self.brackets.pop().map(|(c, _)| c) != Some(open) {
                        return Err(syntax(at, format!("an unmatched '{c}'")));
                    }
                    Token::Close(c)
                }
                ',' => Token::Comma,
                ':' => Token::Colon,
                '-' => Token::Sign(true),
                '+' => Token::Sign(false),
                '\'' | '"' => self.string(at, c, false, StrKind::Text)?,
                '0'..='9' => self.number(at, c)?,
                '.' if self.peek_at(0).is_some_and(|c| c.is_ascii_digit()) => {
                    self.float_tail(at, '.')?
                }
                c if is_identifier_start(c) => self.name_or_string(at, c)?,
                c if c.is_ascii_punctuation() => Token::Operator(c),
                c => {
                    return Err(syntax(
                        at,
                        format!(
                            "the character {}, which Python source cannot hold here",
                            quote(&c.to_string(), 4)
                        ),
                    ))
                }
            };
            return Ok((at, token));
        }
    }

    /// A name, or the prefix of a string literal (`u'...'`, `rb"..."`).
    fn name_or_string(&mut self, at: usize, first: char) -> Result<Token, SyntaxError> {
        // CPython's rules: b, r, u, f once each; u alone; b and f not together.
        let (mut b, mut r, mut u, mut f) = (false, false, false, false);
        let mut c = first;
        loop {
            match c.to_ascii_lowercase() {
                'b' if !(b || u || f) => b = true,
                'u' if !(b || u || r || f) => u = true,
                'r' if !(r || u) => r = true,
                'f' if !(f || b || u) => f = true,
                _ => break,
            }
            match self.peek_at(0) {
                Some(quote @ ('\'' | '"')) => {
                    self.pos += 1;
                    let kind = if b {
                        StrKind::Bytes
                    } else if f {
                        StrKind::Format
                    } else {
                        StrKind::Text
                    };
                    return self.string(at, quote, r, kind);
                }
                Some(next) if is_identifier_char(next) => {
                    c = next;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let start = at;
        while self.peek_at(0).is_some_and(is_identifier_char) {
            self.pos += 1;
        }
        Ok(Token::Name(self.chars[start..self.pos].iter().collect()))
    }

    /// A string literal, after its first quote.
    fn string(
        &mut self,
        at: usize,
        quote: char,
        raw: bool,
        kind: StrKind,
    ) -> Result<Token, SyntaxError> {
        let triple = self.peek_at(0) == Some(quote) && self.peek_at(1) == Some(quote);
        if triple {
            self.pos += 2;
        }
        let size = if triple { 3 } else { 1 };
        let start = self.pos;
        let mut run = 0;
        let end = loop {
            let Some(c) = self.bump() else {
                return Err(syntax(at, "a string never closed"));
            };
            if c == quote {
                run += 1;
                if run == size {
                    break self.pos - size;
                }
                continue;
            }
            run = 0;
            if c == '\n' && !triple {
                return Err(syntax(at, "a string never closed on its line"));
            }
            // A backslash takes the next character along, whatever it is.
            if c == '\\' && self.bump().is_none() {
                return Err(syntax(at, "a string never closed"));
            }
        };
        let body = &self.chars[start..end];
        let value = if raw {
            body.iter().collect()
        } else {
            unescape(body).map_err(|(offset, why)| syntax(start + offset, why))?
        };
        Ok(Token::Str(kind, value))
    }

    /// A number literal (its first digit read): an integer in any base, or
    /// a float or imaginary number.
    fn number(&mut self, at: usize, first: char) -> Result<Token, SyntaxError> {
        let radix = match (first, self.peek_at(0)) {
            ('0', Some('x' | 'X')) => 16,
            ('0', Some('o' | 'O')) => 8,
            ('0', Some('b' | 'B')) => 2,
            _ => 10,
        };
        let magnitude = if radix != 10 {
            self.pos += 1;
            let mut value = Some(0u128);
            let mut any = false;
            loop {
                if self.peek_at(0) == Some('_') {
                    self.pos += 1;
                }
                match self.peek_at(0).and_then(|c| c.to_digit(radix)) {
                    Some(d) => {
                        value = value
                            .and_then(|v| v.checked_mul(u128::from(radix)))
                            .and_then(|v| v.checked_add(u128::from(d)));
                        any = true;
                        self.pos += 1;
                    }
                    None => break,
                }
                if self.peek_at(0) == Some('_')
                    && self.peek_at(1).is_none_or(|c| !c.is_digit(radix))
                {
                    return Err(syntax(at, "an invalid number"));
                }
            }
            if !any || self.peek_at(0).is_some_and(|c| c.is_ascii_digit()) {
                return Err(syntax(at, "an invalid number"));
            }
            value
        } else {
            self.pos -= 1;
            let start = self.pos;
            self.decimal_digits(at)?;
            let digits: String = self.chars[start..self.pos]
                .iter()
                .filter(|&&c| c != '_')
                .collect();
            if matches!(self.peek_at(0), Some('.' | 'e' | 'E' | 'j' | 'J')) {
                let c = self.bump().expect("peeked");
                return self.float_tail(at, c);
            }
            if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|d| d != b'0') {
                return Err(syntax(at, "an integer with leading zeros"));
            }
            digits.parse::<u128>().ok()
        };
        self.end_of_number(at)?;
        Ok(Token::Int(magnitude))
    }

    /// Digits with single underscores between them.
    fn decimal_digits(&mut self, at: usize) -> Result<(), SyntaxError> {
        loop {
            while self.peek_at(0).is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            if self.peek_at(0) != Some('_') {
                return Ok(());
            }
            if !self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
                return Err(syntax(at, "an invalid number"));
            }
            self.pos += 1;
        }
    }

    /// The rest of a float or imaginary literal, after `c` (`.`, `e`, `j`).
    fn float_tail(&mut self, at: usize, c: char) -> Result<Token, SyntaxError> {
        let mut c = Some(c);
        if c == Some('.') {
            if self.peek_at(0).is_some_and(|c| c.is_ascii_digit()) {
                self.decimal_digits(at)?;
            }
            c = match self.peek_at(0) {
                Some(e @ ('e' | 'E' | 'j' | 'J')) => {
                    self.pos += 1;
                    Some(e)
                }
                _ => None,
            };
        }
        if matches!(c, Some('e' | 'E')) {
            if matches!(self.peek_at(0), Some('+' | '-')) {
                self.pos += 1;
            }
            if !self.peek_at(0).is_some_and(|c| c.is_ascii_digit()) {
                return Err(syntax(at, "an invalid number"));
            }
            self.decimal_digits(at)?;
            if matches!(self.peek_at(0), Some('j' | 'J')) {
                self.pos += 1;
            }
        }
        self.end_of_number(at)?;
        Ok(Token::OtherNumber)
    }

    /// What may follow a number: not a letter, digit or underscore; in 1.0
    /// and 2.0 files also Python 2's `L`, after spaces and line continuations
    /// too (numpy's fallback drops a name `L` that follows a number token).
    fn end_of_number(&mut self, at: usize) -> Result<(), SyntaxError> {
        if self.rescue {
            let mut ahead = self.pos;
            loop {
                match self.chars.get(ahead) {
                    Some(' ' | '\t' | '\x0c') => ahead += 1,
                    Some('\\') if self.chars.get(ahead + 1) == Some(&'\n') => ahead += 2,
                    _ => break,
                }
            }
            let word = |c: &char| c.is_alphanumeric() || *c == '_';
            if self.chars.get(ahead) == Some(&'L') && !self.chars.get(ahead + 1).is_some_and(word) {
                self.pos = ahead + 1;
                return Ok(());
            }
        }
        if self.peek_at(0).is_some_and(is_identifier_char) {
            return Err(syntax(at, "a number run into a name"));
        }
        Ok(())
    }
}

fn is_identifier_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_identifier_char(c: char) -> bool {
    is_identifier_start(c) || c.is_ascii_digit()
}

/// The value of a (non-raw) string literal's body: Python's escapes.
fn unescape(body: &[char]) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    let hex = |from: usize, count: usize| -> Option<u32> {
        let digits = body.get(from..from + count)?;
        digits
            .iter()
            .try_fold(0u32, |v, c| Some(v * 16 + c.to_digit(16)?))
    };
    while i < body.len() {
        let c = body[i];
        i += 1;
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = body.get(i) else {
            // The tokenizer never ends a body with a lone backslash.
            out.push('\\');
            break;
        };
        i += 1;
        let code = |value: u32| char::from_u32(value).unwrap_or('\u{fffd}');
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(e),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut value = e.to_digit(8).expect("octal");
                for _ in 0..2 {
                    match body.get(i).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(code(value));
            }
            'x' | 'u' | 'U' => {
                let count = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let value =
                    hex(i, count).ok_or_else(|| (i - 2, format!("a truncated \\{e} escape")))?;
                if value > 0x10ffff {
                    return Err((i - 2, "an escape past U+10FFFF".into()));
                }
                // A lone surrogate: numpy cannot use such a string; neither
                // can the tool.
                out.push(code(value));
                i += count;
            }
            'N' => {
                let close = (body.get(i) == Some(&'{'))
                    .then(|| body[i..].iter().position(|&c| c == '}'))
                    .flatten()
                    .filter(|&close| close > 1)
                    .ok_or_else(|| (i - 2, "a malformed \\N{...} escape".to_string()))?;
                let name: String = body[i + 1..i + close].iter().collect();
                // Other names (Python knows them or not) are of characters no
                // key or type string of a float32/float16 header holds.
                let c = character_named(&name).ok_or_else(|| {
                    (
                        i - 2,
                        format!(
                            "\\N{{{}}}, not the name of a character a header may hold",
                            escape_unprintable(&name)
                        ),
                    )
                })?;
                out.push(c);
                i += close + 1;
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// The character of a `\N{NAME}` escape, for the names (and aliases, any
/// case) of ASCII characters and of Python's whitespace: all a key or type
/// string of a float32/float16 header may hold.
pub fn character_named(name: &str) -> Option<char> {
    let upper = name.to_ascii_uppercase();
    NAMES
        .binary_search_by(|(n, _)| n.cmp(&upper.as_str()))
        .ok()
        .map(|i| NAMES[i].1)
}

/// Unicode names and aliases (from Python 3.11's `unicodedata`, Unicode
/// 14, and NameAliases.txt, each checked with Python), sorted.
const NAMES: &[(&str, char)] = &[
    ("ACK", '\u{6}'),
    ("ACKNOWLEDGE", '\u{6}'),
    ("ALERT", '\u{7}'),
    ("AMPERSAND", '\u{26}'),
    ("APOSTROPHE", '\u{27}'),
    ("ASTERISK", '\u{2a}'),
    ("BACKSPACE", '\u{8}'),
    ("BEL", '\u{7}'),
    ("BS", '\u{8}'),
    ("CAN", '\u{18}'),
    ("CANCEL", '\u{18}'),
    ("CARRIAGE RETURN", '\u{d}'),
    ("CHARACTER TABULATION", '\u{9}'),
    ("CIRCUMFLEX ACCENT", '\u{5e}'),
    ("COLON", '\u{3a}'),
    ("COMMA", '\u{2c}'),
    ("COMMERCIAL AT", '\u{40}'),
    ("CR", '\u{d}'),
    ("DATA LINK ESCAPE", '\u{10}'),
    ("DC1", '\u{11}'),
    ("DC2", '\u{12}'),
    ("DC3", '\u{13}'),
    ("DC4", '\u{14}'),
    ("DEL", '\u{7f}'),
    ("DELETE", '\u{7f}'),
    ("DEVICE CONTROL FOUR", '\u{14}'),
    ("DEVICE CONTROL ONE", '\u{11}'),
    ("DEVICE CONTROL THREE", '\u{13}'),
    ("DEVICE CONTROL TWO", '\u{12}'),
    ("DIGIT EIGHT", '\u{38}'),
    ("DIGIT FIVE", '\u{35}'),
    ("DIGIT FOUR", '\u{34}'),
    ("DIGIT NINE", '\u{39}'),
    ("DIGIT ONE", '\u{31}'),
    ("DIGIT SEVEN", '\u{37}'),
    ("DIGIT SIX", '\u{36}'),
    ("DIGIT THREE", '\u{33}'),
    ("DIGIT TWO", '\u{32}'),
    ("DIGIT ZERO", '\u{30}'),
    ("DLE", '\u{10}'),
    ("DOLLAR SIGN", '\u{24}'),
    ("EM QUAD", '\u{2001}'),
    ("EM SPACE", '\u{2003}'),
    ("EN QUAD", '\u{2000}'),
    ("EN SPACE", '\u{2002}'),
    ("END OF LINE", '\u{a}'),
    ("END OF MEDIUM", '\u{19}'),
    ("END OF TEXT", '\u{3}'),
    ("END OF TRANSMISSION", '\u{4}'),
    ("END OF TRANSMISSION BLOCK", '\u{17}'),
    ("ENQ", '\u{5}'),
    ("ENQUIRY", '\u{5}'),
    ("EOL", '\u{a}'),
    ("EOM", '\u{19}'),
    ("EOT", '\u{4}'),
    ("EQUALS SIGN", '\u{3d}'),
    ("ESC", '\u{1b}'),
    ("ESCAPE", '\u{1b}'),
    ("ETB", '\u{17}'),
    ("ETX", '\u{3}'),
    ("EXCLAMATION MARK", '\u{21}'),
    ("FF", '\u{c}'),
    ("FIGURE SPACE", '\u{2007}'),
    ("FILE SEPARATOR", '\u{1c}'),
    ("FORM FEED", '\u{c}'),
    ("FOUR-PER-EM SPACE", '\u{2005}'),
    ("FS", '\u{1c}'),
    ("FULL STOP", '\u{2e}'),
    ("GRAVE ACCENT", '\u{60}'),
    ("GREATER-THAN SIGN", '\u{3e}'),
    ("GROUP SEPARATOR", '\u{1d}'),
    ("GS", '\u{1d}'),
    ("HAIR SPACE", '\u{200a}'),
    ("HORIZONTAL TABULATION", '\u{9}'),
    ("HT", '\u{9}'),
    ("HYPHEN-MINUS", '\u{2d}'),
    ("IDEOGRAPHIC SPACE", '\u{3000}'),
    ("INFORMATION SEPARATOR FOUR", '\u{1c}'),
    ("INFORMATION SEPARATOR ONE", '\u{1f}'),
    ("INFORMATION SEPARATOR THREE", '\u{1d}'),
    ("INFORMATION SEPARATOR TWO", '\u{1e}'),
    ("LATIN CAPITAL LETTER A", '\u{41}'),
    ("LATIN CAPITAL LETTER B", '\u{42}'),
    ("LATIN CAPITAL LETTER C", '\u{43}'),
    ("LATIN CAPITAL LETTER D", '\u{44}'),
    ("LATIN CAPITAL LETTER E", '\u{45}'),
    ("LATIN CAPITAL LETTER F", '\u{46}'),
    ("LATIN CAPITAL LETTER G", '\u{47}'),
    ("LATIN CAPITAL LETTER H", '\u{48}'),
    ("LATIN CAPITAL LETTER I", '\u{49}'),
    ("LATIN CAPITAL LETTER J", '\u{4a}'),
    ("LATIN CAPITAL LETTER K", '\u{4b}'),
    ("LATIN CAPITAL LETTER L", '\u{4c}'),
    ("LATIN CAPITAL LETTER M", '\u{4d}'),
    ("LATIN CAPITAL LETTER N", '\u{4e}'),
    ("LATIN CAPITAL LETTER O", '\u{4f}'),
    ("LATIN CAPITAL LETTER P", '\u{50}'),
    ("LATIN CAPITAL LETTER Q", '\u{51}'),
    ("LATIN CAPITAL LETTER R", '\u{52}'),
    ("LATIN CAPITAL LETTER S", '\u{53}'),
    ("LATIN CAPITAL LETTER T", '\u{54}'),
    ("LATIN CAPITAL LETTER U", '\u{55}'),
    ("LATIN CAPITAL LETTER V", '\u{56}'),
    ("LATIN CAPITAL LETTER W", '\u{57}'),
    ("LATIN CAPITAL LETTER X", '\u{58}'),
    ("LATIN CAPITAL LETTER Y", '\u{59}'),
    ("LATIN CAPITAL LETTER Z", '\u{5a}'),
    ("LATIN SMALL LETTER A", '\u{61}'),
    ("LATIN SMALL LETTER B", '\u{62}'),
    ("LATIN SMALL LETTER C", '\u{63}'),
    ("LATIN SMALL LETTER D", '\u{64}'),
    ("LATIN SMALL LETTER E", '\u{65}'),
    ("LATIN SMALL LETTER F", '\u{66}'),
    ("LATIN SMALL LETTER G", '\u{67}'),
    ("LATIN SMALL LETTER H", '\u{68}'),
    ("LATIN SMALL LETTER I", '\u{69}'),
    ("LATIN SMALL LETTER J", '\u{6a}'),
    ("LATIN SMALL LETTER K", '\u{6b}'),
    ("LATIN SMALL LETTER L", '\u{6c}'),
    ("LATIN SMALL LETTER M", '\u{6d}'),
    ("LATIN SMALL LETTER N", '\u{6e}'),
    ("LATIN SMALL LETTER O", '\u{6f}'),
    ("LATIN SMALL LETTER P", '\u{70}'),
    ("LATIN SMALL LETTER Q", '\u{71}'),
    ("LATIN SMALL LETTER R", '\u{72}'),
    ("LATIN SMALL LETTER S", '\u{73}'),
    ("LATIN SMALL LETTER T", '\u{74}'),
    ("LATIN SMALL LETTER U", '\u{75}'),
    ("LATIN SMALL LETTER V", '\u{76}'),
    ("LATIN SMALL LETTER W", '\u{77}'),
    ("LATIN SMALL LETTER X", '\u{78}'),
    ("LATIN SMALL LETTER Y", '\u{79}'),
    ("LATIN SMALL LETTER Z", '\u{7a}'),
    ("LEFT CURLY BRACKET", '\u{7b}'),
    ("LEFT PARENTHESIS", '\u{28}'),
    ("LEFT SQUARE BRACKET", '\u{5b}'),
    ("LESS-THAN SIGN", '\u{3c}'),
    ("LF", '\u{a}'),
    ("LINE FEED", '\u{a}'),
    ("LINE SEPARATOR", '\u{2028}'),
    ("LINE TABULATION", '\u{b}'),
    ("LOCKING-SHIFT ONE", '\u{e}'),
    ("LOCKING-SHIFT ZERO", '\u{f}'),
    ("LOW LINE", '\u{5f}'),
    ("MEDIUM MATHEMATICAL SPACE", '\u{205f}'),
    ("MMSP", '\u{205f}'),
    ("NAK", '\u{15}'),
    ("NARROW NO-BREAK SPACE", '\u{202f}'),
    ("NBSP", '\u{a0}'),
    ("NEGATIVE ACKNOWLEDGE", '\u{15}'),
    ("NEL", '\u{85}'),
    ("NEW LINE", '\u{a}'),
    ("NEXT LINE", '\u{85}'),
    ("NL", '\u{a}'),
    ("NNBSP", '\u{202f}'),
    ("NO-BREAK SPACE", '\u{a0}'),
    ("NUL", '\u{0}'),
    ("NULL", '\u{0}'),
    ("NUMBER SIGN", '\u{23}'),
    ("OGHAM SPACE MARK", '\u{1680}'),
    ("PARAGRAPH SEPARATOR", '\u{2029}'),
    ("PERCENT SIGN", '\u{25}'),
    ("PLUS SIGN", '\u{2b}'),
    ("PUNCTUATION SPACE", '\u{2008}'),
    ("QUESTION MARK", '\u{3f}'),
    ("QUOTATION MARK", '\u{22}'),
    ("RECORD SEPARATOR", '\u{1e}'),
    ("REVERSE SOLIDUS", '\u{5c}'),
    ("RIGHT CURLY BRACKET", '\u{7d}'),
    ("RIGHT PARENTHESIS", '\u{29}'),
    ("RIGHT SQUARE BRACKET", '\u{5d}'),
    ("RS", '\u{1e}'),
    ("SEMICOLON", '\u{3b}'),
    ("SHIFT IN", '\u{f}'),
    ("SHIFT OUT", '\u{e}'),
    ("SI", '\u{f}'),
    ("SIX-PER-EM SPACE", '\u{2006}'),
    ("SO", '\u{e}'),
    ("SOH", '\u{1}'),
    ("SOLIDUS", '\u{2f}'),
    ("SP", '\u{20}'),
    ("SPACE", '\u{20}'),
    ("START OF HEADING", '\u{1}'),
    ("START OF TEXT", '\u{2}'),
    ("STX", '\u{2}'),
    ("SUB", '\u{1a}'),
    ("SUBSTITUTE", '\u{1a}'),
    ("SYN", '\u{16}'),
    ("SYNCHRONOUS IDLE", '\u{16}'),
    ("TAB", '\u{9}'),
    ("THIN SPACE", '\u{2009}'),
    ("THREE-PER-EM SPACE", '\u{2004}'),
    ("TILDE", '\u{7e}'),
    ("UNIT SEPARATOR", '\u{1f}'),
    ("US", '\u{1f}'),
    ("VERTICAL LINE", '\u{7c}'),
    ("VERTICAL TABULATION", '\u{b}'),
    ("VT", '\u{b}'),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// An .npy file of `version` with header text `text` (padded as numpy
    /// pads it) and `data` bytes of data.
    fn npy(version: u8, text: &str, data: usize) -> Vec<u8> {
        let encoded: Vec<u8> = if version == 3 {
            text.as_bytes().to_vec()
        } else {
            text.chars()
                .map(|c| u8::try_from(c as u32).unwrap())
                .collect()
        };
        let prefix = if version == 1 { 10 } else { 12 };
        let padding = (64 - (prefix + encoded.len() + 1) % 64) % 64;
        let mut header = encoded;
        header.extend(std::iter::repeat_n(b' ', padding));
        header.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend([version, 0]);
        if version == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header);
        out.extend(std::iter::repeat_n(0u8, data));
        out
    }

    fn layout(bytes: &[u8]) -> Result<Layout, String> {
        read_layout(&mut std::io::Cursor::new(bytes), bytes.len() as u64)
    }

    fn header(text: &str) -> Result<(Dtype, Vec<usize>), String> {
        parse_header(text, true)
    }

    fn dict(descr: &str, shape: &str) -> String {
        format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}")
    }

    #[test]
    fn every_spelling_of_float32_and_float16() {
        for (spelling, dtype) in [
            ("<f4", Dtype::F32),
            ("f4", Dtype::F32),
            ("<f", Dtype::F32),
            ("=f4", Dtype::F32),
            ("|f4", Dtype::F32),
            ("float32", Dtype::F32),
            ("single", Dtype::F32),
            ("f", Dtype::F32),
            ("\x0b", Dtype::F32),
            ("f +004", Dtype::F32),
            ("f\n4", Dtype::F32),
            ("f\x0b4", Dtype::F32),
            ("()f4", Dtype::F32),
            ("<()f", Dtype::F32),
            ("() =f4\u{3000}", Dtype::F32),
            ("()float32 \n", Dtype::F32),
            ("<f2", Dtype::F16),
            ("f2", Dtype::F16),
            ("<e", Dtype::F16),
            ("e", Dtype::F16),
            ("|e", Dtype::F16),
            ("half", Dtype::F16),
            ("float16", Dtype::F16),
            ("\x17", Dtype::F16),
            ("<\x17", Dtype::F16),
        ] {
            assert_eq!(descr_dtype(spelling), Ok(dtype), "{spelling:?}");
        }
        for spelling in [">f4", ">f", ">e", ">f2", ">\x0b", "()>f4", ">()f4"] {
            let error = descr_dtype(spelling).unwrap_err();
            assert!(error.contains("big-endian"), "{spelling:?}: {error}");
        }
        for spelling in [
            "",
            "<",
            "|",
            "<f8",
            "f8",
            "<i4",
            "float64",
            "float",
            "Float32",
            "<float32",
            "=single",
            "f0",
            "f1",
            "f3",
            "f16",
            "f-4",
            "f-0",
            "f4 ",
            " f4",
            "f 4 ",
            "f4\0",
            "f0x4",
            "f4.0",
            "ff4",
            "\\<f4",
            "f\u{664}",
            "f99999999999999999999",
            "f2147483652",
            "1f4",
            "(1,)f4",
            "2f4",
            "0f4",
            "f4,",
            "f4,f4",
            "()",
            "<()",
            "()()f4",
            "(1)f4",
            "<()|f4",
            "|()<f4",
            "()1f4",
            "()f4[1]",
            "M8[ns]",
            "<U2",
        ] {
            assert!(descr_dtype(spelling).is_err(), "{spelling:?}");
        }
        assert!(descr_dtype("1f4").unwrap_err().contains("subarray"));
        assert!(descr_dtype("f4,").unwrap_err().contains("structured"));
        assert_eq!(
            descr_dtype("<f8").unwrap_err(),
            "unsupported dtype <f8: expected float32 (<f4) or float16 (<f2)"
        );
        assert_eq!(
            descr_dtype("\x1b[2J").unwrap_err(),
            "unsupported dtype '\\x1b[2J': expected float32 (<f4) or float16 (<f2)"
        );
    }

    #[test]
    fn strtol_reads_as_c_does() {
        assert_eq!(strtol(b"4"), Strtol::Whole(4));
        assert_eq!(strtol(b" \t\n\x0b\x0c\r+0004"), Strtol::Whole(4));
        assert_eq!(strtol(b"-0"), Strtol::Whole(0));
        assert_eq!(strtol(b"-4"), Strtol::OutOfRange);
        assert_eq!(strtol(b"2147483648"), Strtol::OutOfRange);
        assert_eq!(strtol(b"99999999999999999999999x"), Strtol::OutOfRange);
        assert_eq!(strtol(b"2147483647"), Strtol::Whole(2147483647));
        assert_eq!(strtol(b"4 "), Strtol::Partial);
        assert_eq!(strtol(b"loat32"), Strtol::Partial);
        assert_eq!(strtol(b"+"), Strtol::Partial);
        assert_eq!(strtol(b""), Strtol::Partial);
    }

    #[test]
    fn python_literal_syntax() {
        let f4 = |shape: Vec<usize>| Ok((Dtype::F32, shape));
        for (text, expected) in [
            (dict("'<f4'", "(2, 3)"), f4(vec![2, 3])),
            ("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f4\"}".into(), f4(vec![])),
            (dict("u'<f4'", "(+5,)"), f4(vec![5])),
            (dict("'<' \"f\" '''4'''", "(0x5, 0o7, 0b1, 1_0, 00, -0)"), f4(vec![5, 7, 1, 10, 0, 0])),
            (dict("'\\x3c\\146\\u0034'", "(- (0), +(5))"), f4(vec![0, 5])),
            (dict("'\\N{LESS-THAN SIGN}\\N{latin small letter f}4'", "((5),)"), f4(vec![5])),
            (dict("('<f4')", "((5,))"), f4(vec![5])),
            (
                "# comment\n{'descr': '<f4', # more\n 'fortran_order': (False),\n\n 'shape':\\\n (5,)} # end\n\n"
                    .into(),
                f4(vec![5]),
            ),
            ("  \t{'descr':'<f4','fortran_order':False,'shape':(5,)}\r\n".into(), f4(vec![5])),
            ("({'descr': '<f4', 'fortran_order': False, 'shape': (5,)})".into(), f4(vec![5])),
            ("{'desc\\\nr': '<f4', 'fortran_order': False, 'shape': (5,)}".into(), f4(vec![5])),
            (dict("'<f4'", "(5L, 3 L)"), f4(vec![5, 3])),
        ] {
            assert_eq!(header(&text), expected, "{text}");
        }
        for (text, needle) in [
            (dict("'<f4'", "(05,)"), "leading zeros"),
            (dict("'<f4'", "[5]"), "not a tuple"),
            (dict("'<f4'", "(5)"), "not a tuple"),
            (dict("'<f4'", "(True,)"), "not a tuple of integers"),
            (dict("'<f4'", "(5.0,)"), "not a tuple of integers"),
            (dict("'<f4'", "(-1,)"), "negative"),
            (dict("'<f4'", "(--5,)"), "more than one sign"),
            (dict("'<f4'", "(-(-5),)"), "more than one sign"),
            (dict("'<f4'", "(+True,)"), "a sign before"),
            (dict("'<f4'", "(5l,)"), "run into a name"),
            (dict("'<f4'", "(1__0,)"), "invalid number"),
            (dict("'<f4'", "(0b2,)"), "invalid number"),
            (dict("'<f4'", "(0x,)"), "invalid number"),
            (dict("'<f4'", "(5,,)"), "unexpected ','"),
            (dict("'<f4'", "(2*2,)"), "unexpected '*'"),
            (dict("'\\<f4'", "(5,)"), "unsupported dtype '\\\\<f4'"),
            (dict("b'<f4'", "(5,)"), "not a type string"),
            (dict("f'<f4'", "(5,)"), "f-string"),
            (dict("'<' b'f4'", "(5,)"), "bytes and text"),
            (dict("'\\x3'", "(5,)"), "truncated \\x escape"),
            (dict("'\\N{NO SUCH NAME}'", "(5,)"), "\\N{NO SUCH NAME}"),
            (dict("'<f4", "(5,)"), "unexpected name 'fortran_order'"),
            ("{'descr': '<f4".into(), "string never closed"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,".into(),
                "'(' never closed",
            ),
            (dict("'<f4'", "tuple()"), "name 'tuple'"),
            (dict("'<f4'", "(5,)[0]"), "not a literal"),
            (dict("[('a', '<f4')]", "(5,)"), "structured"),
            (dict("('<f4', ())", "(5,)"), "subarray"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'descr': '<f2'}".into(),
                "twice",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 'x': 1}".into(),
                "the key 'x'",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), 1: 1}".into(),
                "not a string",
            ),
            (
                "{'descr': '<f4', 'shape': (5,)}".into(),
                "no 'fortran_order'",
            ),
            (
                "{'descr': '<f4', 'fortran_order': 0, 'shape': (5,)}".into(),
                "True or False",
            ),
            (
                "{'descr': '<f4', 'fortran_order': True, 'shape': (5,)}".into(),
                "Fortran",
            ),
            ("[1]".into(), "not a dictionary"),
            ("{'descr'}".into(), "not a dictionary"),
            ("".into(), "end of the header"),
            (
                "\n  {'descr': '<f4', 'fortran_order': False, 'shape': (5,)}".into(),
                "indented",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}\nx".into(),
                "name 'x'",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,)};".into(),
                "';'",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}\\".into(),
                "backslash",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}\\\n".into(),
                "continuation",
            ),
            (
                "{'descr': '<f4',\x0b 'fortran_order': False, 'shape': (5,)}".into(),
                "'\\x0b'",
            ),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (5,)} #\0".into(),
                "NUL",
            ),
        ] {
            let error = header(&text).expect_err(&text);
            assert!(error.contains(needle), "{text}: {error}");
        }
    }

    #[test]
    fn python2_fallback_only_in_versions_1_and_2() {
        let long = dict("'<f4'", "(5L,)");
        assert_eq!(parse_header(&long, true), Ok((Dtype::F32, vec![5])));
        assert!(parse_header(&long, false)
            .unwrap_err()
            .contains("run into a name"));
        // numpy's rewrite drops the first line's indentation and a last line
        // of spaces alone.
        for text in [
            format!("\x0c  {}", dict("'<f4'", "(5,)")),
            format!("\x0c \\\n{}", dict("'<f4'", "(5,)")),
            format!("{}\n    ", dict("'<f4'", "(5,)")),
        ] {
            assert_eq!(
                parse_header(&text, true),
                Ok((Dtype::F32, vec![5])),
                "{text:?}"
            );
            assert!(parse_header(&text, false).is_err(), "{text:?}");
        }
        // Not where Python's tokenize reads lines differently, or where the
        // rewrite keeps the indentation.
        for text in [
            format!("#\r{}", dict("'<f4'", "(5L,)")),
            format!("\x0c \\\n  {}", dict("'<f4'", "(5,)")),
            format!("#\n  {}", dict("'<f4'", "(5,)")),
            dict("'<f4'", "(5 # c\nL,)"),
        ] {
            assert!(parse_header(&text, true).is_err(), "{text:?}");
        }
    }

    #[test]
    fn shapes_numpy_can_allocate() {
        let shape = |s: &str| header(&dict("'<f4'", s));
        let half = |s: &str| header(&dict("'<f2'", s));
        assert_eq!(
            shape("(0, 2305843009213693951)").unwrap().1,
            [0, (1 << 61) - 1]
        );
        assert!(shape("(0, 2305843009213693952)")
            .unwrap_err()
            .contains("too many"));
        assert!(shape("(0, 4611686018427387904)")
            .unwrap_err()
            .contains("too many"));
        assert_eq!(
            half("(0, 4611686018427387903)").unwrap().1,
            [0, (1 << 62) - 1]
        );
        assert!(half("(0, 4611686018427387904)").is_err());
        assert!(shape("(2305843009213693951, 4, 0)").is_err());
        assert!(shape("(0, 99999999999999999999999999999999999999999)").is_err());
        let dims = |n: usize| format!("({})", "1, ".repeat(n));
        assert_eq!(shape(&dims(64)).unwrap().1.len(), 64);
        assert!(shape(&dims(65)).unwrap_err().contains("at most 64"));
        let nested = |n: usize| format!("({}5{},)", "(".repeat(n), ")".repeat(n));
        assert_eq!(shape(&nested(198)).unwrap().1, [5]);
        assert!(shape(&nested(199)).unwrap_err().contains("200 nested"));
    }

    #[test]
    fn the_file_around_the_header() {
        let ok = dict("'<f4'", "(5,)");
        for version in [1, 2, 3] {
            let l = layout(&npy(version, &ok, 20)).unwrap();
            assert_eq!(
                (l.version, l.dtype, l.shape.clone(), l.len),
                ((version, 0), Dtype::F32, vec![5], 5)
            );
            assert_eq!(l.data_offset % 64, 0);
            assert!(layout(&npy(version, &ok, 19))
                .unwrap_err()
                .contains("truncated"));
            let mut extra = npy(version, &ok, 100);
            extra.truncate(extra.len() - 80);
            assert!(layout(&extra).is_ok());
        }
        let file = npy(1, &ok, 20);
        for cut in 0..file.len() - 20 {
            let error = layout(&file[..cut]).unwrap_err();
            assert!(
                error.contains("not an .npy file") || error.contains("truncated"),
                "{cut}: {error}"
            );
        }
        let mut other = file.clone();
        other[6] = 4;
        assert!(layout(&other).unwrap_err().contains("version 4.0"));
        other[6] = 1;
        other[7] = 1;
        assert!(layout(&other).unwrap_err().contains("version 1.1"));
        // A header length past the end of the file.
        let mut long = file.clone();
        long[8] = 0xff;
        long[9] = 0xff;
        assert!(layout(&long).unwrap_err().contains("truncated"));
        // numpy's limit is 10000 characters, of Latin-1 or UTF-8.
        let exact = |version: u8, fill: &str, chars: usize| {
            // A header of exactly `chars` characters, unpadded.
            let base = format!("{ok}#");
            let text = format!("{base}{}", fill.repeat(chars - base.chars().count()));
            let encoded: Vec<u8> = if version == 3 {
                text.as_bytes().to_vec()
            } else {
                text.chars().map(|c| c as u8).collect()
            };
            let mut out = MAGIC.to_vec();
            out.extend([version, 0]);
            if version == 1 {
                out.extend((encoded.len() as u16).to_le_bytes());
            } else {
                out.extend((encoded.len() as u32).to_le_bytes());
            }
            out.extend(encoded);
            out.extend([0u8; 20]);
            out
        };
        for (version, fill) in [
            (1, "x"),
            (2, "\u{e9}"),
            (3, "x"),
            (3, "\u{e9}"),
            (3, "\u{1F600}"),
        ] {
            assert!(
                layout(&exact(version, fill, 10_000)).is_ok(),
                "{version} {fill}"
            );
            let error = layout(&exact(version, fill, 10_001)).unwrap_err();
            assert!(
                error.contains("max_header_size"),
                "{version} {fill}: {error}"
            );
        }
        // Version 3.0 is UTF-8; 1.0 and 2.0 are Latin-1, any byte.
        let mut bad_utf8 = npy(3, &format!("{ok}#\u{e9}"), 20);
        let at = bad_utf8.iter().position(|&b| b == 0xc3).unwrap();
        bad_utf8[at] = 0xff;
        assert!(layout(&bad_utf8).unwrap_err().contains("UTF-8"));
        assert!(layout(&npy(1, &format!("{ok}#\u{ff}\u{80}"), 20)).is_ok());
    }

    #[test]
    fn errors_quote_the_header_safely() {
        let error = header(&dict("'<f4'", "(5,)\x1b]0;owned\x07")).unwrap_err();
        assert!(error.contains("\\x1b]0;owned\\x07"), "{error}");
        assert!(!error.chars().any(|c| c.is_control()), "{error:?}");
        let error = header(&dict("'\x1b[2J\u{202e}'", "(5,)")).unwrap_err();
        assert!(error.contains("'\\x1b[2J\\u202e'"), "{error}");
        let error =
            header(&format!("{{'\x1b[31m': 1, {}", &dict("'<f4'", "(5,)")[1..])).unwrap_err();
        assert!(error.contains("'\\x1b[31m'"), "{error}");
        let error = header(&dict("'<f4'", "[\x1b[2J]")).unwrap_err();
        assert!(!error.chars().any(|c| c.is_control()), "{error:?}");
    }

    #[test]
    fn hostile_headers_are_refused_quickly() {
        let long = 10_000;
        for text in [
            "(".repeat(long),
            "-".repeat(long),
            "+".repeat(long),
            "'".repeat(long),
            "\\\n".repeat(long / 2),
            "{".repeat(long),
            format!("{{{}", "'a': 1, ".repeat(long / 8)),
            format!("[{}]", "1,".repeat(long / 2)),
            "9".repeat(long),
            format!("'{}'", "\\N{".repeat(long / 3)),
            "\n".repeat(long),
            "\u{ff}".repeat(long),
        ] {
            let started = std::time::Instant::now();
            assert!(header(&text).is_err());
            assert!(started.elapsed().as_secs() < 2);
        }
    }
}
