//! The .npy format: reading and checking a header, writing one.
//!
//! Only what the tool needs: little-endian float32 (`<f4`) or float16
//! (`<f2`) arrays in C order, any shape. The header is parsed here rather
//! than with a general reader so that every malformed file (a huge shape, a
//! header length past the end of the file, ...) becomes an error message,
//! and so that the data can then be streamed straight from the file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use wgpu_activations::tensor::element_count;

use crate::error::{CliError, Result};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy itself refuses headers past 10000 bytes by default; be generous.
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// Element type of an array the tool processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
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

/// A checked .npy file, positioned at its data.
#[derive(Debug)]
pub struct NpyFile {
    /// The file name, for messages.
    pub path: String,
    pub file: File,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Number of elements (1 for a 0-d array).
    pub len: usize,
}

impl NpyFile {
    /// Opens `path` and checks that it is a little-endian float32 or float16
    /// array in C order whose data is all there.
    pub fn open(path: &str) -> Result<NpyFile> {
        let fail = |message: String| CliError::run(format!("{path}: {message}"));
        let mut file = File::open(path).map_err(|e| fail(io_message(&e)))?;
        let metadata = file.metadata().map_err(|e| fail(io_message(&e)))?;
        if metadata.is_dir() {
            return Err(fail("is a directory, not an .npy file".into()));
        }
        let file_len = metadata.len();
        let header = read_header(&mut file, file_len).map_err(fail)?;
        let offset = file.stream_position().map_err(|e| fail(io_message(&e)))?;
        let dtype = header.dtype;
        let len = element_count(&header.shape)
            .ok()
            .filter(|&n| (n as u64).checked_mul(dtype.size()).is_some())
            .ok_or_else(|| fail(format!("shape {:?} has too many elements", header.shape)))?;
        let needed = len as u64 * dtype.size();
        let available = file_len.saturating_sub(offset);
        if available < needed {
            return Err(fail(format!(
                "truncated: the header promises {len} {} elements ({needed} bytes of data) \
                 but only {available} bytes follow it",
                dtype.name()
            )));
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| fail(io_message(&e)))?;
        Ok(NpyFile {
            path: path.to_string(),
            file,
            dtype,
            shape: header.shape,
            len,
        })
    }

    /// Reads the whole array's bytes (for small arrays: PReLU's weight).
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        let mut bytes = vec![0u8; self.len * self.dtype.size() as usize];
        self.file
            .read_exact(&mut bytes)
            .map_err(|e| CliError::run(format!("{}: {}", self.path, io_message(&e))))?;
        Ok(bytes)
    }
}

/// An I/O error as a short message ("No such file or directory").
pub fn io_message(error: &std::io::Error) -> String {
    let text = error.to_string();
    // Drop the " (os error 2)" suffix: it adds nothing for a user.
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[derive(Debug)]
struct Header {
    dtype: Dtype,
    shape: Vec<usize>,
}

fn read_header(file: &mut File, file_len: u64) -> std::result::Result<Header, String> {
    let mut prefix = [0u8; 8];
    let not_npy = || "not an .npy file (it does not start with \\x93NUMPY)".to_string();
    if file_len < 8 {
        return Err(not_npy());
    }
    file.read_exact(&mut prefix).map_err(|e| io_message(&e))?;
    if &prefix[..6] != MAGIC {
        return Err(not_npy());
    }
    let header_len = match (prefix[6], prefix[7]) {
        (1, 0) => {
            let mut n = [0u8; 2];
            file.read_exact(&mut n).map_err(|_| truncated_header())?;
            u64::from(u16::from_le_bytes(n))
        }
        (2, 0) | (3, 0) => {
            let mut n = [0u8; 4];
            file.read_exact(&mut n).map_err(|_| truncated_header())?;
            u64::from(u32::from_le_bytes(n))
        }
        (major, minor) => return Err(format!("unsupported .npy format version {major}.{minor}")),
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(format!(
            "the header claims {header_len} bytes; more than {MAX_HEADER_BYTES} is not an array header"
        ));
    }
    let position = file.stream_position().map_err(|e| io_message(&e))?;
    if position + header_len > file_len {
        return Err(truncated_header());
    }
    let mut text = vec![0u8; header_len as usize];
    file.read_exact(&mut text).map_err(|_| truncated_header())?;
    let text = std::str::from_utf8(&text).map_err(|_| "the header is not text".to_string())?;
    parse_header_text(text)
}

fn truncated_header() -> String {
    "truncated: the file ends inside the .npy header".into()
}

/// A Python literal, as far as .npy headers use them.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(Option<u64>),
    NegativeInt,
    Bool(bool),
    None,
    Seq(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

fn parse_header_text(text: &str) -> std::result::Result<Header, String> {
    let bad = |why: &str| format!("malformed .npy header ({why}): {}", text.trim_end());
    let mut parser = Parser {
        bytes: text.as_bytes(),
        at: 0,
        depth: 0,
    };
    let value = parser.value().map_err(|why| bad(&why))?;
    parser.skip_space();
    if parser.at != parser.bytes.len() {
        return Err(bad("text after the dictionary"));
    }
    let Value::Dict(entries) = value else {
        return Err(bad("not a dictionary"));
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| *k == Value::Str(key.to_string()))
            .map(|(_, v)| v)
            .ok_or_else(|| bad(&format!("no '{key}'")))
    };
    let dtype =
        match get("descr")? {
            Value::Str(descr) => parse_descr(descr)?,
            Value::Seq(_) => return Err(
                "unsupported dtype: a structured array; expected float32 (<f4) or float16 (<f2)"
                    .into(),
            ),
            _ => return Err(bad("'descr' is not a string")),
        };
    match get("fortran_order")? {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(
                "Fortran-order arrays are not supported: save the array in C order \
                 (numpy: np.save(path, np.ascontiguousarray(a)))"
                    .into(),
            )
        }
        _ => return Err(bad("'fortran_order' is not True or False")),
    }
    let Value::Seq(dims) = get("shape")? else {
        return Err(bad("'shape' is not a tuple"));
    };
    let mut shape = Vec::with_capacity(dims.len());
    for dim in dims {
        match dim {
            Value::Int(Some(d)) => {
                shape.push(usize::try_from(*d).map_err(|_| format!("dimension {d} is too large"))?)
            }
            Value::Int(None) => return Err("a dimension of the shape is too large".into()),
            Value::NegativeInt => return Err(bad("negative dimension")),
            _ => return Err(bad("a dimension is not an integer")),
        }
    }
    Ok(Header { dtype, shape })
}

fn parse_descr(descr: &str) -> std::result::Result<Dtype, String> {
    match descr {
        "<f4" => Ok(Dtype::F32),
        "<f2" => Ok(Dtype::F16),
        ">f4" | ">f2" => Err(format!(
            "unsupported dtype {descr}: big-endian; expected little-endian float32 (<f4) or \
             float16 (<f2) (numpy: a.astype('{}'))",
            descr.replace('>', "<")
        )),
        _ => Err(format!(
            "unsupported dtype {descr}: expected float32 (<f4) or float16 (<f2)"
        )),
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Nesting depth, bounded so that no header can exhaust the stack.
    depth: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        if self.depth >= 16 {
            return Err("nested too deeply".into());
        }
        self.depth += 1;
        let value = self.value_inner();
        self.depth -= 1;
        value
    }

    fn value_inner(&mut self) -> std::result::Result<Value, String> {
        match self.peek() {
            None => Err("unexpected end".into()),
            Some(b'{') => {
                self.at += 1;
                let mut entries = Vec::new();
                loop {
                    if self.peek() == Some(b'}') {
                        self.at += 1;
                        return Ok(Value::Dict(entries));
                    }
                    let key = self.value()?;
                    if self.peek() != Some(b':') {
                        return Err("expected ':'".into());
                    }
                    self.at += 1;
                    let value = self.value()?;
                    entries.push((key, value));
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {}
                        _ => return Err("expected ',' or '}'".into()),
                    }
                }
            }
            Some(open @ (b'(' | b'[')) => {
                let close = if open == b'(' { b')' } else { b']' };
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(close) {
                        self.at += 1;
                        return Ok(Value::Seq(items));
                    }
                    items.push(self.value()?);
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(c) if c == close => {}
                        _ => return Err("expected ',' or a closing bracket".into()),
                    }
                }
            }
            Some(quote @ (b'\'' | b'"')) => {
                self.at += 1;
                let mut text = Vec::new();
                loop {
                    match self.bytes.get(self.at) {
                        None => return Err("unterminated string".into()),
                        Some(b'\\') => {
                            let escaped = *self
                                .bytes
                                .get(self.at + 1)
                                .ok_or_else(|| "unterminated string".to_string())?;
                            text.push(escaped);
                            self.at += 2;
                        }
                        Some(&c) if c == quote => {
                            self.at += 1;
                            break;
                        }
                        Some(&c) => {
                            text.push(c);
                            self.at += 1;
                        }
                    }
                }
                Ok(Value::Str(String::from_utf8_lossy(&text).into_owned()))
            }
            Some(b'-') => {
                self.at += 1;
                match self.value()? {
                    Value::Int(_) => Ok(Value::NegativeInt),
                    _ => Err("'-' before a non-number".into()),
                }
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.at;
                while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_digit() {
                    self.at += 1;
                }
                let digits = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or("");
                // Python 2 wrote long integers with an L suffix.
                if matches!(self.bytes.get(self.at), Some(b'L' | b'l')) {
                    self.at += 1;
                }
                Ok(Value::Int(digits.parse().ok()))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.at;
                while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_alphanumeric() {
                    self.at += 1;
                }
                match &self.bytes[start..self.at] {
                    b"True" => Ok(Value::Bool(true)),
                    b"False" => Ok(Value::Bool(false)),
                    b"None" => Ok(Value::None),
                    _ => Err("unknown name".into()),
                }
            }
            Some(_) => Err("unexpected character".into()),
        }
    }
}

/// The bytes of an .npy header (format 1.0, or 2.0 past 64 KiB) for an
/// array of `dtype` and `shape`, padded so that the data starts at a
/// multiple of 64 bytes, as numpy writes it.
pub fn header_bytes(dtype: Dtype, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        dtype.descr()
    );
    let build = |prefix_len: usize| {
        let unpadded = prefix_len + dict.len() + 1;
        let padding = unpadded.div_ceil(64) * 64 - unpadded;
        let mut text = dict.clone().into_bytes();
        text.extend(std::iter::repeat_n(b' ', padding));
        text.push(b'\n');
        text
    };
    let text = build(10);
    let mut out = Vec::with_capacity(text.len() + 12);
    out.extend_from_slice(MAGIC);
    if let Ok(len) = u16::try_from(text.len()) {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&text);
    } else {
        let text = build(12);
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(&text);
    }
    out
}

/// Writes a small array (a weight gradient) to `out`.
pub fn write_small(
    out: &mut impl Write,
    dtype: Dtype,
    shape: &[usize],
    data: &[u8],
) -> std::io::Result<()> {
    out.write_all(&header_bytes(dtype, shape))?;
    out.write_all(data)
}

/// The directory a new file at `path` goes in ("." for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse() {
        let h = parse_header_text("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n")
            .unwrap();
        assert_eq!((h.dtype, h.shape), (Dtype::F32, vec![2, 3]));
        let h = parse_header_text("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f2\"}")
            .unwrap();
        assert_eq!((h.dtype, h.shape), (Dtype::F16, vec![]));
        let h = parse_header_text("{'descr': '<f4', 'fortran_order': False, 'shape': (5L,), }")
            .unwrap();
        assert_eq!(h.shape, vec![5]);
        assert!(
            parse_header_text("{'descr': '<i4', 'fortran_order': False, 'shape': (1,)}")
                .unwrap_err()
                .contains("<i4")
        );
        assert!(parse_header_text(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}"
        )
        .is_err());
        assert!(
            parse_header_text("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}").is_err()
        );
        assert!(parse_header_text("{'descr': '<f4'").is_err());
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse_header_text(&deep).is_err());
        assert!(parse_header_text(&"-".repeat(100_000)).is_err());
    }

    #[test]
    fn written_headers_are_aligned() {
        for shape in [vec![], vec![3], vec![2, 3, 4]] {
            let h = header_bytes(Dtype::F32, &shape);
            assert_eq!(h.len() % 64, 0);
            let text = std::str::from_utf8(&h[10..]).unwrap();
            assert_eq!(parse_header_text(text).unwrap().shape, shape);
        }
    }
}
