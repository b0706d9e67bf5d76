//! The .npy format: opening and checking a file, writing one.
//!
//! Only what the tool needs: little-endian float32 (`<f4`) or float16
//! (`<f2`) arrays in C order, any shape. The header is checked by
//! [`crate::header`], as numpy reads it, rather than by a general reader, so
//! that every file numpy would not read as such an array (a huge shape, a
//! header length past the end of the file, a key given twice, ...) becomes
//! an error message, and so that the data can then be streamed straight
//! from the file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

pub use crate::header::Dtype;
use crate::header::{read_layout, MAGIC};

use crate::error::{CliError, Result};

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
    /// Opens `path` and checks that numpy would read it as a little-endian
    /// float32 or float16 array in C order, and that its data is all there.
    pub fn open(path: &str) -> Result<NpyFile> {
        let fail = |message: String| CliError::run(format!("{path}: {message}"));
        let regular = |metadata: &std::fs::Metadata| {
            if metadata.is_dir() {
                return Err(fail("is a directory, not an .npy file".into()));
            }
            if !metadata.is_file() {
                return Err(fail(
                    "not a regular file (the tool reads .npy files it can seek in)".into(),
                ));
            }
            Ok(())
        };
        // Checked before opening too: opening a FIFO to read waits for a
        // writer, possibly for ever.
        regular(&std::fs::metadata(path).map_err(|e| fail(io_message(&e)))?)?;
        let mut file = File::open(path).map_err(|e| fail(io_message(&e)))?;
        let metadata = file.metadata().map_err(|e| fail(io_message(&e)))?;
        regular(&metadata)?;
        let layout = read_layout(&mut file, metadata.len()).map_err(fail)?;
        file.seek(SeekFrom::Start(layout.data_offset))
            .map_err(|e| fail(io_message(&e)))?;
        Ok(NpyFile {
            path: path.to_string(),
            file,
            dtype: layout.dtype,
            shape: layout.shape,
            len: layout.len,
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
    use crate::header::parse_header;

    #[test]
    fn written_headers_are_aligned_and_read_back() {
        for dtype in [Dtype::F32, Dtype::F16] {
            for shape in [vec![], vec![3], vec![2, 3, 4], vec![0, 1 << 40]] {
                let h = header_bytes(dtype, &shape);
                assert_eq!(h.len() % 64, 0);
                let text = std::str::from_utf8(&h[10..]).unwrap();
                assert_eq!(parse_header(text, false).unwrap(), (dtype, shape));
            }
        }
    }
}
