//! The command line's .npy reader (header and data), fuzzed.
//!
//! - `numpy_verdicts`: the corpus of `npy_fuzz/corpus.rs`, numpy 2.4.6's
//!   reading of every case of issue 9 and of the corners of its rules,
//!   recorded as expected values (no Python needed).
//! - `fuzz_against_the_reference`: arbitrary bytes, headers built from the
//!   pieces numpy's grammar allows, and mutations of both and of the corpus,
//!   read by the tool and by [`reference`], a small independent reader
//!   written here from numpy's rules. Every input must be read without a
//!   panic, within a time bound, and the same way by both: accepted or
//!   refused, and if accepted with the same dtype, shape and data offset.
//!   `NPY_FUZZ_CASES` sets the number of inputs (default 5000; see
//!   docs/npy-fuzz.md for the long run).
//! - `files_are_read_through_the_file_system`: a sample of the same inputs
//!   through `NpyFile::open` and `read_all`, as the tool reads files.

// The tool's own modules, compiled into this test.
#[allow(dead_code)]
#[path = "../src/bin/wgpu-activations/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../src/bin/wgpu-activations/header.rs"]
mod header;
#[allow(dead_code)]
#[path = "../src/bin/wgpu-activations/npy.rs"]
mod npy;
#[allow(dead_code)]
#[path = "../src/bin/wgpu-activations/text.rs"]
mod text;

#[path = "npy_fuzz/corpus.rs"]
mod corpus;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use corpus::{Case, Numpy, CASES};
use header::{Dtype, Layout};

/// The bytes of a corpus case's file.
fn file_of(case: &Case) -> Vec<u8> {
    build(case.version, case.header, case.padded, case.data)
}

/// An .npy file: magic, `version`.0, the header length, `text` (padded as
/// numpy pads it where `padded`), then `data` zero bytes.
fn build(version: u8, text: &str, padded: bool, data: usize) -> Vec<u8> {
    let mut header: Vec<u8> = if version == 3 {
        text.as_bytes().to_vec()
    } else {
        text.chars().map(|c| c as u32 as u8).collect()
    };
    let prefix = if version == 1 { 10 } else { 12 };
    if padded {
        let unpadded = prefix + header.len() + 1;
        header.resize(header.len() + (64 - unpadded % 64) % 64, b' ');
        header.push(b'\n');
    }
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((header.len() as u16).to_le_bytes());
    } else {
        out.extend((header.len() as u32).to_le_bytes());
    }
    out.extend(header);
    out.resize(out.len() + data, 0);
    out
}

/// The tool's reading of `file`.
fn tool(file: &[u8]) -> Result<Layout, String> {
    header::read_layout(&mut std::io::Cursor::new(file), file.len() as u64)
}

/// What a reading comes to: dtype, shape, data offset; `None` refused.
fn summary(layout: &Result<Layout, String>) -> Option<(Dtype, Vec<u64>, u64)> {
    layout.as_ref().ok().map(|l| {
        let shape = l.shape.iter().map(|&d| d as u64).collect();
        (l.dtype, shape, l.data_offset)
    })
}

fn reference_summary(file: &[u8]) -> Option<(Dtype, Vec<u64>, u64)> {
    reference::read(file).map(|a| (a.dtype, a.shape, a.offset))
}

#[test]
fn numpy_verdicts() {
    for case in CASES {
        let file = file_of(case);
        let read = tool(&file);
        match (case.numpy, case.refusal) {
            (Numpy::Reads(dtype, shape), None) => {
                let layout = read
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{}: {e}", case.note));
                assert_eq!(layout.dtype, dtype, "{}", case.note);
                assert_eq!(layout.shape, shape, "{}", case.note);
                assert_eq!(
                    layout.data_offset,
                    file.len() as u64 - case.data as u64,
                    "{}",
                    case.note
                );
            }
            (_, None) => panic!("{}: numpy does not read it as float32/16", case.note),
            (_, Some(message)) => {
                assert_eq!(
                    read.as_ref().err().map(String::as_str),
                    Some(message),
                    "{}",
                    case.note
                )
            }
        }
        assert_eq!(
            reference_summary(&file),
            summary(&read),
            "the reference on {}",
            case.note
        );
    }
    // Where the tool refuses what numpy reads: by design, and only these.
    let diverging: Vec<&str> = CASES
        .iter()
        .filter(|c| matches!(c.numpy, Numpy::Reads(..)) && c.refusal.is_some())
        .map(|c| c.note)
        .collect();
    assert_eq!(
        diverging,
        [
            "duplicate key: numpy takes the last",
            "duplicate key spelled differently",
            "subarray of one",
            "descr tuple",
        ]
    );
}

/// The framing around the header; numpy 2.4.6's verdicts in the comments.
#[test]
fn numpy_verdicts_on_the_framing() {
    let ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
    let good = build(1, ok, true, 20);
    // numpy: "the magic string is not correct" / EOF errors.
    for cut in [0, 5, 6, 7, 8, 9, 10, 40, good.len() - 21] {
        assert!(tool(&good[..cut]).is_err(), "{cut}");
    }
    let mut bad = good.clone();
    bad[0] = b'\x94';
    assert!(tool(&bad).unwrap_err().contains("not an .npy file"));
    // numpy: "we only support format version (1,0), (2,0), and (3,0)".
    for version in [[0, 0], [1, 1], [2, 1], [4, 0], [255, 255]] {
        let mut bad = good.clone();
        bad[6..8].copy_from_slice(&version);
        assert!(tool(&bad)
            .unwrap_err()
            .contains("unsupported .npy format version"));
    }
    // numpy: max_header_size counts characters after decoding (10000).
    let exact = |version: u8, fill: char, chars: usize| {
        let text = format!("{ok}#");
        let n = chars - text.chars().count();
        build(
            version,
            &format!("{text}{}", fill.to_string().repeat(n)),
            false,
            20,
        )
    };
    for (version, fill) in [
        (1, 'x'),
        (2, '\u{ff}'),
        (3, 'x'),
        (3, '\u{e9}'),
        (3, '\u{1F600}'),
    ] {
        assert!(tool(&exact(version, fill, 10_000)).is_ok());
        assert!(tool(&exact(version, fill, 10_001)).is_err());
        assert!(reference::read(&exact(version, fill, 10_000)).is_some());
        assert!(reference::read(&exact(version, fill, 10_001)).is_none());
    }
    // numpy: UnicodeDecodeError for version 3.0.
    let mut bad = build(3, &format!("{ok}#\u{e9}"), true, 20);
    let at = bad.iter().position(|&b| b == 0xc3).unwrap();
    bad[at + 1] = b'(';
    assert!(tool(&bad).unwrap_err().contains("UTF-8"));
    // A header length past the end of the file, and a huge one.
    let mut bad = good.clone();
    bad[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(tool(&bad).unwrap_err().contains("truncated"));
    let mut bad = build(2, ok, true, 20);
    bad[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(tool(&bad).unwrap_err().contains("truncated"));
}

// ------------------------------------------------------------- the fuzz

/// Inputs of the fuzz: `NPY_FUZZ_CASES`, else 5000 (a second in CI).
fn fuzz_cases() -> u32 {
    std::env::var("NPY_FUZZ_CASES")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(5000)
}

/// The most one input may take (a hang is a failure, not a stall).
const PER_INPUT: Duration = Duration::from_secs(2);

#[test]
fn fuzz_against_the_reference() {
    let cases = fuzz_cases();
    // A watchdog: the fuzz runs on its own thread; an input that never
    // returns fails the test with the input.
    let current: Arc<Mutex<Vec<u8>>> = Arc::default();
    let done = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let slowest = Arc::new(Mutex::new(Duration::ZERO));
    let worker = {
        let (current, done, accepted, slowest) = (
            Arc::clone(&current),
            Arc::clone(&done),
            Arc::clone(&accepted),
            Arc::clone(&slowest),
        );
        std::thread::spawn(move || {
            let mut runner = TestRunner::new(Config {
                cases,
                failure_persistence: None,
                max_shrink_iters: 20_000,
                ..Config::default()
            });
            runner.run(&inputs(), |Input(file)| {
                *current.lock().unwrap() = file.clone();
                let started = Instant::now();
                let read = tool(&file);
                let elapsed = started.elapsed();
                let expected = reference_summary(&file);
                done.fetch_add(1, Ordering::Relaxed);
                {
                    let mut slowest = slowest.lock().unwrap();
                    *slowest = (*slowest).max(elapsed);
                }
                if elapsed > PER_INPUT {
                    return Err(TestCaseError::fail(format!("took {elapsed:?}")));
                }
                if let Ok(layout) = &read {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    if layout.data_offset + layout.data_bytes() > file.len() as u64 {
                        return Err(TestCaseError::fail("accepted without its data"));
                    }
                }
                prop_assert_eq!(summary(&read), expected, "tool: {:?}", read);
                Ok(())
            })
        })
    };
    let started = Instant::now();
    let mut last = (0, Instant::now());
    while !worker.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
        let now = done.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > PER_INPUT * 10 {
            let input = current.lock().map(|c| c.clone()).unwrap_or_default();
            panic!("the reader hangs on {:?}", Input(input));
        }
    }
    let result = worker.join().expect("the fuzz thread");
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "npy fuzz: {} inputs ({} accepted) in {seconds:.1} s, slowest input {:?}",
        done.load(Ordering::Relaxed),
        accepted.load(Ordering::Relaxed),
        slowest.lock().unwrap()
    );
    if let Err(failure) = result {
        panic!("{failure}");
    }
    assert!(done.load(Ordering::Relaxed) >= u64::from(cases));
}

/// A sample of the fuzz's inputs, written to files and read as the tool
/// reads its inputs: `NpyFile::open` then `read_all`.
#[test]
fn files_are_read_through_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    let path = path.to_str().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: (fuzz_cases() / 20).max(200),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&inputs(), |Input(file)| {
            std::fs::write(path, &file).unwrap();
            let opened = npy::NpyFile::open(path);
            let expected = reference::read(&file);
            prop_assert_eq!(opened.is_ok(), expected.is_some());
            match (opened, expected) {
                (Ok(mut npy), Some(array)) => {
                    let shape: Vec<u64> = npy.shape.iter().map(|&d| d as u64).collect();
                    prop_assert_eq!((npy.dtype, shape), (array.dtype, array.shape.clone()));
                    let data = npy.read_all().unwrap();
                    let start = array.offset as usize;
                    prop_assert_eq!(&data[..], &file[start..start + data.len()]);
                }
                (Err(error), None) => {
                    let line = error.one_line();
                    prop_assert!(line.starts_with(path), "{}", line);
                    prop_assert!(!line.chars().any(char::is_control), "{:?}", line);
                }
                _ => unreachable!("compared above"),
            }
            Ok(())
        })
        .unwrap();
}

// --------------------------------------------------------- the inputs

/// A file of the fuzz, shown as a byte string when a case fails.
#[derive(Clone)]
struct Input(Vec<u8>);

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let escaped: String = self.0.escape_ascii().to_string();
        write!(f, "b\"{escaped}\"")
    }
}

/// Characters that matter to the grammar, for random text and mutations.
const ALPHABET: &[char] = &[
    '{', '}', '(', ')', '[', ']', ',', ':', '\'', '"', '\\', '#', '\n', '\r', '\t', '\x0c', '\x0b',
    ' ', ' ', ' ', '+', '-', '_', '.', '*', '0', '1', '2', '4', '5', '9', 'L', 'l', 'x', 'o', 'b',
    'j', 'e', 'E', 'f', 'u', 'U', 'r', 'R', 'N', '<', '>', '=', '|', 'T', 'F', 'a', 's', '\0',
    '\u{a0}', '\u{ff}', '\u{3000}', '\u{1b}',
];

fn inputs() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..80),
        1 => (any::<u8>(), any::<u16>(), prop::collection::vec(prop::sample::select(ALPHABET), 0..120))
            .prop_map(|(version, len, text)| {
                let version = [1, 2, 3, version][usize::from(version % 4)];
                let mut file = b"\x93NUMPY".to_vec();
                file.extend([version, 0]);
                let text: String = text.into_iter().collect();
                let body = text.as_bytes();
                let len = if len % 2 == 0 { body.len() } else { usize::from(len) };
                if version == 1 {
                    file.extend((len as u16).to_le_bytes());
                } else {
                    file.extend((len as u32).to_le_bytes());
                }
                file.extend(body);
                file
            }),
        8 => (header(), any::<u8>(), any::<bool>(), 0usize..48)
            .prop_map(|(text, version, padded, data)| {
                build([1, 1, 2, 3][usize::from(version % 4)], &text, padded, data)
            }),
        2 => prop::sample::select(CASES).prop_map(|case| file_of(&case)),
    ]
    .prop_flat_map(|file| (Just(file), mutations()))
    .prop_map(|(mut file, edits)| {
        for edit in edits {
            edit.apply(&mut file);
        }
        Input(file)
    })
}

/// A byte-level edit.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
    Duplicate(usize, usize, usize),
}

impl Edit {
    fn apply(&self, file: &mut Vec<u8>) {
        if file.len() < 11 {
            return;
        }
        let at = |i: usize| 10 + i % (file.len() - 10);
        let encode = |c: char| -> Vec<u8> {
            match u8::try_from(c as u32) {
                Ok(b) => vec![b],
                Err(_) => c.to_string().into_bytes(),
            }
        };
        match *self {
            Edit::Replace(i, c) => {
                let i = at(i);
                file.splice(i..i + 1, encode(c));
            }
            Edit::Insert(i, c) => {
                let i = at(i);
                file.splice(i..i, encode(c));
            }
            Edit::Delete(i) => {
                let i = at(i);
                file.remove(i);
            }
            Edit::Duplicate(from, to, len) => {
                let (from, to) = (at(from), at(to));
                let piece: Vec<u8> = file[from..(from + len % 8).min(file.len())].to_vec();
                file.splice(to..to, piece);
            }
        }
    }
}

fn mutations() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), prop::sample::select(ALPHABET)).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), prop::sample::select(ALPHABET)).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(a, b, n)| Edit::Duplicate(a, b, n)),
    ];
    prop_oneof![
        3 => Just(Vec::new()),
        2 => prop::collection::vec(edit, 1..4),
    ]
}

/// Type strings: numpy's spellings of float32 and float16, and near misses.
const DESCRS: &[&str] = &[
    "<f4",
    "<f2",
    "f4",
    "<f",
    "=f4",
    "|f4",
    "float32",
    "single",
    "<e",
    "e",
    "f",
    "f2",
    "=e",
    "|e",
    "half",
    "float16",
    ">f4",
    ">f2",
    ">f",
    ">e",
    "<f8",
    "<i4",
    "f8",
    "float64",
    "|b1",
    "S4",
    "\x0b",
    "<\x0b",
    "\x17",
    ">\x17",
    "f 4",
    "f+4",
    "f04",
    "f\t2",
    "f\n4",
    "f\x0b4",
    "f-4",
    "f-0",
    "f0",
    "f4 ",
    " f4",
    "f4\0",
    "()f4",
    "()f",
    "<()f",
    "() f4",
    "()f4 ",
    "()f4\u{a0}",
    "()f4\u{3000}",
    "()<f4",
    "|()<f4",
    "<()|f4",
    "=()<f4",
    "()>f4",
    "()float32",
    "()f004",
    "()f4[1]",
    "1f4",
    "(1,)f4",
    "2f4",
    "f4,",
    "1,f4",
    "(1)f4",
    "()1f4",
    "<()",
    "()",
    "float",
    "Float32",
    "<float32",
    "f16",
    "",
    "<",
    "ff4",
    "f4x",
    "f99999999999999999999",
    "\\<f4",
];

const KEYS: &[&str] = &["descr", "fortran_order", "shape"];

/// A Python string literal for `text`, in one of Python's many spellings.
fn string_literal() -> impl Strategy<Value = (String, u8, u8, u8)> {
    (
        prop::sample::select(&["", "", "", "u", "U", "r", "R", "b", "f"][..]),
        prop::sample::select(&["'", "\"", "'''", "\"\"\""][..]),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(prefix, quote, a, b, c)| (format!("{prefix}{quote}"), a, b, c))
}

/// `text` spelled as a string literal with `style` (prefix and quote) and
/// escapes chosen by `seed`.
fn spell(text: &str, style: &(String, u8, u8, u8)) -> String {
    let (opening, escapes, split, _) = style;
    let quote = opening.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let raw = opening.contains(['r', 'R']);
    let mut body = String::new();
    for (i, c) in text.chars().enumerate() {
        let special = c == '\\' || c == '\n' || c == '\r' || c == '\0' || quote.starts_with(c);
        let escape = special || (escapes % 5 == 0 && (i + usize::from(*escapes)) % 3 == 0);
        if !escape {
            body.push(c);
        } else if raw {
            return spell(text, &(quote.to_string(), 1, *split, 0));
        } else {
            match (escapes / 5) % 5 {
                0 if (c as u32) < 256 => body.push_str(&format!("\\x{:02x}", c as u32)),
                1 if (c as u32) < 512 => body.push_str(&format!("\\{:o}", c as u32)),
                2 if c.is_ascii_lowercase() => {
                    body.push_str(&format!("\\N{{latin small letter {c}}}"))
                }
                3 => body.push_str(&format!("\\U{:08x}", c as u32)),
                _ => body.push_str(&format!("\\u{:04x}", c as u32)),
            }
        }
    }
    let literal = format!("{opening}{body}{quote}");
    let cut = usize::from(*split);
    if cut % 4 == 0 && cut / 4 < text.chars().count() && cut > 0 && !raw {
        let (a, b): (String, String) = (
            text.chars().take(cut / 4).collect(),
            text.chars().skip(cut / 4).collect(),
        );
        return format!(
            "{} {}",
            spell(&a, &(quote.to_string(), 1, 1, 0)),
            spell(&b, &(quote.to_string(), 1, 1, 0))
        );
    }
    literal
}

/// Whitespace, comments and line continuations between tokens.
fn gap() -> impl Strategy<Value = String> {
    prop::sample::select(
        &[
            "", "", "", "", " ", " ", "  ", "\t", "\x0c", " \\\n", "\\\n ", "\n", "\r\n", "\r",
            "# c\n", " #x\n  ", "\n\n\t",
        ][..],
    )
    .prop_map(str::to_string)
}

/// An integer literal for `value`, in one of Python's spellings (and some
/// of Python 2's and some that are not integers).
fn integer(value: i128, style: u8, gap: &str) -> String {
    let magnitude = value.unsigned_abs();
    let digits = match style % 12 {
        0 => format!("{magnitude:#x}"),
        1 => format!("0X{magnitude:X}"),
        2 => format!("{magnitude:#o}"),
        3 => format!("{magnitude:#b}"),
        4 => format!("0{magnitude}"),
        5 => format!("{magnitude}.0"),
        6 => format!("{magnitude}L"),
        7 => format!("{magnitude} L"),
        8 => format!("+{gap}{magnitude}"),
        9 => format!("({gap}{magnitude}{gap})"),
        _ => magnitude.to_string(),
    };
    if value < 0 {
        format!("-{gap}{digits}")
    } else {
        digits
    }
}

/// Dimensions about numpy's limits.
const HUGE_DIMENSIONS: &[i128] = &[
    1 << 31,
    1 << 32,
    1 << 60,
    (1 << 61) - 1,
    1 << 61,
    (1 << 62) - 1,
    1 << 62,
    (1 << 63) - 1,
    1 << 63,
    1 << 64,
    10i128.pow(25),
];

fn dimension() -> impl Strategy<Value = i128> {
    prop_oneof![
        8 => 0i128..7,
        1 => -3i128..0,
        1 => prop::sample::select(HUGE_DIMENSIONS),
    ]
}

fn shape() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((dimension(), any::<u8>(), gap()), 0..6),
        any::<u8>(),
        gap(),
    )
        .prop_map(|(dims, style, gap)| {
            let items: Vec<String> = dims
                .iter()
                .map(|(value, style, gap)| integer(*value, *style, gap))
                .collect();
            let mut inner = items.join(&format!(",{gap}"));
            if items.len() == 1 || (items.len() > 1 && style % 3 == 0) {
                inner.push(',');
            }
            match style % 29 {
                0 => format!("[{inner}]"),
                1 => format!("(({gap}{inner}))"),
                2 => format!("({})", "1, ".repeat(65)),
                _ => format!("({gap}{inner}{gap})"),
            }
        })
}

/// Characters of type strings and numbers, for their near misses.
const TYPE_ALPHABET: &[char] = &[
    'f', 'e', 'i', 'F', 'l', 'o', 'a', 't', 'L', 'x', 'b', 'j', '0', '1', '2', '3', '4', '5', '6',
    '8', '9', '<', '>', '=', '|', '(', ')', ',', ' ', '\t', '\n', '\x0b', '+', '-', '_', '.', '[',
    ']', '\x17', '\u{a0}', '\u{3000}', '\u{1c}',
];

/// `text` with up to three characters replaced, inserted or removed.
fn near_miss(text: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(
        (any::<usize>(), prop::sample::select(TYPE_ALPHABET), 0u8..3),
        0..3,
    )
    .prop_map(move |edits| {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, c, op) in edits {
            let at = at % (chars.len() + 1);
            match op {
                0 if at < chars.len() => chars[at] = c,
                1 => chars.insert(at, c),
                _ if at < chars.len() => {
                    chars.remove(at);
                }
                _ => chars.push(c),
            }
        }
        chars.into_iter().collect()
    })
}

/// A type string: numpy's spellings, near misses of them, random text.
fn descr() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(DESCRS).prop_map(str::to_string),
        3 => prop::sample::select(DESCRS).prop_flat_map(near_miss),
        1 => prop::collection::vec(prop::sample::select(TYPE_ALPHABET), 0..6)
            .prop_map(|c| c.into_iter().collect()),
    ]
}

/// Spellings of float32 and float16 that numpy reads.
const GOOD_DESCRS: &[&str] = &[
    "<f4", "<f2", "f4", "<f", "=f4", "|f4", "float32", "single", "<e", "e", "f", "f2", "|e",
    "half", "float16", "\x0b", "\x17", "f 4", "f+04", "()f4", "<()f", "()f4 ",
];

/// A header as numpy's grammar allows one to be written (`wild`: with some
/// of everything it does not allow).
fn header() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            2 => prop::sample::select(GOOD_DESCRS).prop_map(str::to_string),
            1 => prop::sample::select(GOOD_DESCRS).prop_flat_map(near_miss),
        ],
        descr(),
        prop::collection::vec(string_literal(), 4),
        prop::sample::select(&["False", "False", "False", "True", "(False)", "0", "None"][..]),
        (
            prop::collection::vec((0i128..7, any::<u8>(), gap()), 0..5),
            shape(),
            prop::sample::select(&["(5,)", "(2, 3)", "()", "(0, 7)"][..]).prop_flat_map(near_miss),
        ),
        prop::collection::vec(gap(), 8),
        (any::<u16>(), any::<bool>()),
    )
        .prop_map(
            |(good_descr, descr, styles, fortran, shapes, gaps, (choice, wild))| {
                let (dims, wild_shape, near_shape) = shapes;
                let shape = if wild {
                    if choice % 7 == 0 {
                        near_shape
                    } else {
                        wild_shape
                    }
                } else {
                    // Spellings of integers numpy reads (style 4, 5: not these).
                    let items: Vec<String> = dims
                        .iter()
                        .map(|(v, style, gap)| {
                            let style = [0, 1, 2, 3, 8, 9, 10, 11][usize::from(*style % 8)];
                            integer(*v, style, gap)
                        })
                        .collect();
                    match items.len() {
                        1 => format!("({},)", items[0]),
                        _ => format!("({})", items.join(", ")),
                    }
                };
                let (descr, fortran) = if wild {
                    (descr, fortran)
                } else {
                    (
                        good_descr,
                        if choice % 3 == 0 { "(False)" } else { "False" },
                    )
                };
                // Text strings only, unless wild.
                let style = |i: usize| {
                    let mut style: (String, u8, u8, u8) = styles[i].clone();
                    if !wild && style.0.starts_with(['b', 'f']) {
                        style.0.remove(0);
                    }
                    style
                };
                let mut entries = vec![
                    (spell(KEYS[0], &style(0)), spell(&descr, &style(3))),
                    (spell(KEYS[1], &style(1)), fortran.to_string()),
                    (spell(KEYS[2], &style(2)), shape),
                ];
                match (wild, choice % 23) {
                    (true, 0) => entries.push(("'x'".into(), "1".into())),
                    (true, 1) => entries.push(("'descr'".into(), "'<f2'".into())),
                    (true, 2) => {
                        entries.pop();
                    }
                    _ => {}
                }
                entries.rotate_left(usize::from(choice / 23) % 3);
                let g = |i: usize| gaps[i % gaps.len()].as_str();
                let body: Vec<String> = entries
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v))| format!("{k}{}:{}{v}", g(i), g(i + 1)))
                    .collect();
                let mut text = format!("{{{}{}", g(3), body.join(&format!(",{}", g(4))));
                if choice % 2 == 0 {
                    text.push_str(&format!(",{}", g(5)));
                }
                text.push('}');
                let lead = [
                    "", "", "", "", " ", "\t", "\n", "# c\n", "\x0c", "\\\n", "\x0c  ",
                ];
                let trail = [
                    "", "", "", " ", "\n", "# c", "\\\n", "\n  ", "\n\x0c", ";", "\r",
                ];
                let (lead, trail) = if wild {
                    (&lead[..], &trail[..])
                } else {
                    (&lead[..6], &trail[..5])
                };
                format!(
                    "{}{text}{}",
                    lead[usize::from(choice >> 4) % lead.len()],
                    trail[usize::from(choice >> 8) % trail.len()]
                )
            },
        )
}

// ------------------------------------------------- the reference reader

/// An independent reader of .npy files, written from numpy's rules (see
/// `header.rs` for them) rather than from the tool's code: the header is
/// cut into a list of tokens first, then evaluated by a functional parser
/// over the list; the checks and the dtype rules are written anew. It
/// answers only whether the tool must read a file, and how: no messages.
/// It shares with the tool the table of `\N{...}` names (data, checked
/// against Python when it was made) and the tool's deliberate refusals
/// (duplicate keys, Fortran order, dtype tuples and subarrays).
mod reference {
    use super::header::{character_named, Dtype};

    /// An array the tool must read.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Array {
        pub dtype: Dtype,
        pub shape: Vec<u64>,
        pub offset: u64,
    }

    pub fn read(file: &[u8]) -> Option<Array> {
        if file.len() < 8 || !file.starts_with(b"\x93NUMPY") {
            return None;
        }
        let (width, utf8) = match (file[6], file[7]) {
            (1, 0) => (2, false),
            (2, 0) => (4, false),
            (3, 0) => (4, true),
            _ => return None,
        };
        let length = file.get(8..8 + width)?;
        let length = length
            .iter()
            .rev()
            .fold(0u64, |n, &b| (n << 8) | u64::from(b));
        let offset = (8 + width) as u64 + length;
        let raw = file.get(8 + width..usize::try_from(offset).ok()?)?;
        let text: String = if utf8 {
            std::str::from_utf8(raw).ok()?.to_string()
        } else {
            raw.iter().map(|&b| char::from(b)).collect()
        };
        if text.chars().count() > 10_000 {
            return None;
        }
        let (dtype, shape) = check(evaluate(&text, !utf8)?)?;
        let bytes = shape.iter().product::<u64>() * if dtype == Dtype::F32 { 4 } else { 2 };
        (file.len() as u64 - offset >= bytes).then_some(Array {
            dtype,
            shape,
            offset,
        })
    }

    /// A Python value.
    #[derive(Debug, Clone, PartialEq)]
    enum Lit {
        Str(String),
        /// Sign, magnitude (`None`: huge), written with a sign.
        Int(bool, Option<u128>, bool),
        Bool(bool),
        Tuple(Vec<Lit>),
        List,
        Dict(Vec<(Lit, Lit)>),
        Other,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Open(char),
        Close(char),
        Comma,
        Colon,
        Sign(bool),
        /// Text (`Some`), bytes or an f-string (`None`, with which).
        Str(Option<String>, bool),
        Int(Option<u128>),
        Name(String),
        Newline,
        Op,
    }

    fn evaluate(text: &str, python2: bool) -> Option<Lit> {
        let source = text
            .trim_start_matches([' ', '\t'])
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        if source.contains('\0') {
            return None;
        }
        let source: Vec<char> = source.chars().collect();
        let strict = tokens(&source, false).and_then(|t| parse_all(&t));
        if strict.is_some() || !python2 || text.replace("\r\n", "").contains('\r') {
            return strict;
        }
        tokens(&source, true).and_then(|t| parse_all(&t))
    }

    fn is_word(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()
    }

    /// CPython's tokenizer over the whole text; `rescue`: numpy's rewrite
    /// of 1.0 and 2.0 headers (Python 2's `L`, dropped indentation).
    fn tokens(c: &[char], rescue: bool) -> Option<Vec<Tok>> {
        let mut out = Vec::new();
        let mut open: Vec<char> = Vec::new();
        let (mut i, mut line_start, mut blank) = (0usize, true, false);
        let continuation_at = |i: usize| c.get(i + 1) == Some(&'\n') && i + 2 < c.len();
        loop {
            if line_start {
                line_start = false;
                let begin = i;
                let (mut col, mut cont, mut continued, mut row) = (0usize, 0usize, false, i);
                loop {
                    match c.get(i) {
                        Some(' ') => col += 1,
                        Some('\t') => col = col / 8 * 8 + 8,
                        Some('\x0c') => col = 0,
                        Some('\\') => {
                            if !continuation_at(i) {
                                return None;
                            }
                            if cont == 0 {
                                cont = col;
                            }
                            i += 2;
                            continued = true;
                            row = i;
                            continue;
                        }
                        _ => break,
                    }
                    i += 1;
                }
                blank = matches!(c.get(i), Some('#' | '\n'));
                let col = if cont > 0 { cont } else { col };
                if !blank && open.is_empty() && col > 0 {
                    let first = begin == 0 && (!continued || i == row);
                    let last = i == c.len() && !continued;
                    if !(rescue && (first || last)) {
                        return None;
                    }
                }
            }
            while matches!(c.get(i), Some(' ' | '\t' | '\x0c')) {
                i += 1;
            }
            let Some(&ch) = c.get(i) else {
                return open.is_empty().then_some(out);
            };
            i += 1;
            match ch {
                '#' => {
                    while c.get(i).is_some_and(|&c| c != '\n') {
                        i += 1;
                    }
                }
                '\n' => {
                    line_start = true;
                    if !blank && open.is_empty() {
                        out.push(Tok::Newline);
                    }
                }
                '\\' => {
                    if !continuation_at(i - 1) {
                        return None;
                    }
                    i += 1;
                }
                '(' | '[' | '{' => {
                    if open.len() == 200 {
                        return None;
                    }
                    open.push(ch);
                    out.push(Tok::Open(ch));
                }
                ')' | ']' | '}' => {
                    let pair = ['(', ')', '[', ']', '{', '}'];
                    let at = pair.iter().position(|&p| p == ch)?;
                    if open.pop() != Some(pair[at - 1]) {
                        return None;
                    }
                    out.push(Tok::Close(ch));
                }
                ',' => out.push(Tok::Comma),
                ':' => out.push(Tok::Colon),
                '+' | '-' => out.push(Tok::Sign(ch == '-')),
                '0'..='9' | '.' if ch != '.' || c.get(i).is_some_and(char::is_ascii_digit) => {
                    let start = i - 1;
                    while c.get(i).is_some_and(|&c| is_word(c) || c == '.') {
                        i += 1;
                    }
                    let word: String = c[start..i].iter().collect();
                    // Floats, and numbers run into names, are never in a header
                    // the tool reads.
                    let value = match int_value(&word) {
                        Some(value) => value,
                        None if rescue && word.ends_with('L') => {
                            int_value(&word[..word.len() - 1])?
                        }
                        None => return None,
                    };
                    if rescue && !word.ends_with('L') {
                        // Python 2's L after spaces or line continuations.
                        let mut j = i;
                        loop {
                            match c.get(j) {
                                Some(' ' | '\t' | '\x0c') => j += 1,
                                Some('\\') if c.get(j + 1) == Some(&'\n') => j += 2,
                                _ => break,
                            }
                        }
                        let word_after = c
                            .get(j + 1)
                            .is_some_and(|&c| c.is_alphanumeric() || c == '_');
                        if c.get(j) == Some(&'L') && !word_after {
                            i = j + 1;
                        }
                    }
                    out.push(Tok::Int(value));
                }
                '\'' | '"' => {
                    let (token, end) = string(c, i - 1, false, false, false)?;
                    out.push(token);
                    i = end;
                }
                ch if ch.is_ascii_alphabetic() || ch == '_' || !ch.is_ascii() => {
                    let start = i - 1;
                    while c.get(i).copied().is_some_and(is_word) {
                        i += 1;
                    }
                    let word: String = c[start..i].iter().collect();
                    let lower = word.to_ascii_lowercase();
                    let prefixes = ["b", "r", "u", "f", "br", "rb", "fr", "rf"];
                    if matches!(c.get(i), Some('\'' | '"')) && prefixes.contains(&lower.as_str()) {
                        let (token, end) = string(
                            c,
                            i,
                            lower.contains('r'),
                            lower.contains('b'),
                            lower.contains('f'),
                        )?;
                        out.push(token);
                        i = end;
                    } else {
                        out.push(Tok::Name(word));
                    }
                }
                ch if ch.is_ascii_punctuation() => out.push(Tok::Op),
                _ => return None,
            }
        }
    }

    /// The value of a Python integer literal, all of `word`; `None` where
    /// it is not one.
    fn int_value(word: &str) -> Option<Option<u128>> {
        let lower = word.to_ascii_lowercase();
        let (radix, digits) = match lower.get(..2) {
            Some("0x") => (16, &word[2..]),
            Some("0o") => (8, &word[2..]),
            Some("0b") => (2, &word[2..]),
            _ => (10, word),
        };
        let digits = if radix == 10 {
            digits
        } else {
            digits.strip_prefix('_').unwrap_or(digits)
        };
        if digits.is_empty()
            || digits.starts_with('_')
            || digits.ends_with('_')
            || digits.contains("__")
            || !digits.chars().all(|c| c == '_' || c.is_digit(radix))
        {
            return None;
        }
        let clean: String = digits.chars().filter(|&c| c != '_').collect();
        if radix == 10 && clean.starts_with('0') && clean.chars().any(|c| c != '0') {
            return None;
        }
        Some(u128::from_str_radix(&clean, radix).ok())
    }

    /// A string literal whose opening quote is at `at`: the token and
    /// where it ends.
    fn string(c: &[char], at: usize, raw: bool, bytes: bool, format: bool) -> Option<(Tok, usize)> {
        let q = c[at];
        let triple = c.get(at + 1) == Some(&q) && c.get(at + 2) == Some(&q);
        let start = at + if triple { 3 } else { 1 };
        let mut j = start;
        let end = loop {
            let ch = *c.get(j)?;
            if triple && c.get(j..j + 3) == Some(&[q, q, q][..]) {
                break j;
            }
            if !triple && ch == q {
                break j;
            }
            if !triple && ch == '\n' {
                return None;
            }
            j += if ch == '\\' { 2 } else { 1 };
        };
        let body = &c[start..end];
        let after = end + if triple { 3 } else { 1 };
        if bytes || format {
            return Some((Tok::Str(None, format), after));
        }
        let text = if raw {
            body.iter().collect()
        } else {
            unescape(body)?
        };
        Some((Tok::Str(Some(text), false), after))
    }

    fn unescape(body: &[char]) -> Option<String> {
        let mut out = String::new();
        let mut k = 0;
        let hex = |from: usize, n: usize| -> Option<u32> {
            let digits: String = body.get(from..from + n)?.iter().collect();
            if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            u32::from_str_radix(&digits, 16).ok()
        };
        let code = |v: u32| char::from_u32(v).unwrap_or('\u{fffd}');
        while k < body.len() {
            if body[k] != '\\' {
                out.push(body[k]);
                k += 1;
                continue;
            }
            let e = *body.get(k + 1)?;
            k += 2;
            let simple = "\n\\'\"abfnrtv";
            if let Some(p) = simple.find(e) {
                let values = [
                    "", "\\", "'", "\"", "\x07", "\x08", "\x0c", "\n", "\r", "\t", "\x0b",
                ];
                out.push_str(values[simple[..p].chars().count()]);
            } else if e.is_digit(8) {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    match body.get(k).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            k += 1;
                        }
                        None => break,
                    }
                }
                out.push(code(v));
            } else if let Some(n) = [('x', 2), ('u', 4), ('U', 8)]
                .iter()
                .find(|(x, _)| *x == e)
                .map(|(_, n)| *n)
            {
                let v = hex(k, n)?;
                if v > 0x10_ffff {
                    return None;
                }
                out.push(code(v));
                k += n;
            } else if e == 'N' {
                if body.get(k) != Some(&'{') {
                    return None;
                }
                let close = k + body[k..].iter().position(|&c| c == '}')?;
                let name: String = body[k + 1..close].iter().collect();
                out.push(character_named(&name)?);
                k = close + 1;
            } else {
                out.push('\\');
                out.push(e);
            }
        }
        Some(out)
    }

    fn parse_all(t: &[Tok]) -> Option<Lit> {
        let (value, mut i) = value(t, 0)?;
        while t.get(i) == Some(&Tok::Newline) {
            i += 1;
        }
        (i == t.len()).then_some(value)
    }

    /// An expression at `t[i..]`: its value and the index after it.
    fn value(t: &[Tok], i: usize) -> Option<(Lit, usize)> {
        let (lit, next) = match t.get(i)? {
            Tok::Sign(negative) => {
                let (operand, next) = atom(t, i + 1)?;
                let lit = match operand {
                    Lit::Int(false, magnitude, false) => Lit::Int(*negative, magnitude, true),
                    _ => return None,
                };
                (lit, next)
            }
            _ => atom(t, i)?,
        };
        match t.get(next) {
            Some(Tok::Open('(' | '[') | Tok::Op) => None,
            _ => Some((lit, next)),
        }
    }

    /// Items separated by commas up to `close`: the items, whether there
    /// was a comma, and the index after `close`.
    fn sequence(t: &[Tok], mut i: usize, close: char) -> Option<(Vec<Lit>, bool, usize)> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if t.get(i) == Some(&Tok::Close(close)) {
                return Some((items, comma, i + 1));
            }
            let (item, next) = value(t, i)?;
            items.push(item);
            match t.get(next)? {
                Tok::Comma => {
                    comma = true;
                    i = next + 1;
                }
                Tok::Close(c) if *c == close => return Some((items, comma, next + 1)),
                _ => return None,
            }
        }
    }

    fn atom(t: &[Tok], i: usize) -> Option<(Lit, usize)> {
        match t.get(i)? {
            Tok::Open('(') => {
                let (mut items, comma, next) = sequence(t, i + 1, ')')?;
                if items.len() == 1 && !comma {
                    Some((items.pop()?, next))
                } else {
                    Some((Lit::Tuple(items), next))
                }
            }
            Tok::Open('[') => sequence(t, i + 1, ']').map(|(_, _, next)| (Lit::List, next)),
            Tok::Open(_) => {
                let mut entries = Vec::new();
                let mut j = i + 1;
                let mut set = false;
                loop {
                    if t.get(j) == Some(&Tok::Close('}')) {
                        let lit = if set { Lit::Other } else { Lit::Dict(entries) };
                        return Some((lit, j + 1));
                    }
                    let (key, next) = value(t, j)?;
                    j = next;
                    if t.get(j) == Some(&Tok::Colon) && !set {
                        let (val, next) = value(t, j + 1)?;
                        entries.push((key, val));
                        j = next;
                    } else if entries.is_empty() {
                        set = true;
                    } else {
                        return None;
                    }
                    match t.get(j)? {
                        Tok::Comma => j += 1,
                        Tok::Close('}') => {}
                        _ => return None,
                    }
                }
            }
            Tok::Str(..) => {
                let mut j = i;
                let mut text = Some(String::new());
                let (mut bytes, mut other) = (false, false);
                while let Some(Tok::Str(piece, format)) = t.get(j) {
                    match piece {
                        Some(p) => {
                            if let Some(text) = &mut text {
                                text.push_str(p);
                            }
                            other = true;
                        }
                        None if *format => {
                            text = None;
                            other = true;
                        }
                        None => {
                            bytes = true;
                            text = None;
                        }
                    }
                    j += 1;
                }
                if bytes && other {
                    return None;
                }
                let is_fstring = !bytes && text.is_none();
                if is_fstring {
                    return None;
                }
                Some((text.map_or(Lit::Other, Lit::Str), j))
            }
            Tok::Int(magnitude) => Some((Lit::Int(false, *magnitude, false), i + 1)),
            Tok::Name(name) => {
                let lit = match name.as_str() {
                    "True" => Lit::Bool(true),
                    "False" => Lit::Bool(false),
                    "None" => Lit::Other,
                    _ => return None,
                };
                Some((lit, i + 1))
            }
            _ => None,
        }
    }

    /// numpy's checks of the evaluated header, and the tool's refusals.
    fn check(header: Lit) -> Option<(Dtype, Vec<u64>)> {
        let Lit::Dict(entries) = header else {
            return None;
        };
        let mut found: [Option<Lit>; 3] = [None, None, None];
        for (key, value) in entries {
            let Lit::Str(key) = key else { return None };
            let slot = ["descr", "fortran_order", "shape"]
                .iter()
                .position(|&k| k == key)?;
            if found[slot].replace(value).is_some() {
                return None;
            }
        }
        let [Some(Lit::Str(descr)), Some(Lit::Bool(false)), Some(Lit::Tuple(dims))] = found else {
            return None;
        };
        let dtype = float_type(&descr, 0).filter(|&(_, big)| !big)?.0;
        if dims.len() > 64 {
            return None;
        }
        let mut shape = Vec::new();
        let mut span: u128 = if dtype == Dtype::F32 { 4 } else { 2 };
        for dim in dims {
            let Lit::Int(negative, Some(magnitude), _) = dim else {
                return None;
            };
            if negative && magnitude != 0 {
                return None;
            }
            if magnitude != 0 {
                span = span.checked_mul(magnitude)?;
            }
            if span > i64::MAX as u128 {
                return None;
            }
            shape.push(magnitude as u64);
        }
        Some((dtype, shape))
    }

    /// What `numpy.dtype(descr)` is, if float32 or float16: the type and
    /// whether big-endian.
    fn float_type(descr: &str, depth: u32) -> Option<(Dtype, bool)> {
        let b = descr.as_bytes();
        let order = |c: u8| b"<>|=".contains(&c);
        let first = *b.first()?;
        if depth > 8 {
            return None;
        }
        let mut level = 0i32;
        let comma_outside = b.iter().any(|&c| {
            level += i32::from(c == b'[') - i32::from(c == b']');
            c == b',' && level == 0
        });
        let commastring = first.is_ascii_digit()
            || (b.len() > 1 && order(first) && b[1].is_ascii_digit())
            || b.starts_with(b"()")
            || (b.len() > 3 && order(first) && &b[1..3] == b"()")
            || comma_outside;
        if !commastring {
            return plain_type(descr);
        }
        // numpy's `_commastring` for one item; `(type, ())` is the type.
        let take = |s: &mut &str, pred: &dyn Fn(char) -> bool| -> String {
            let n = s.find(|c: char| !pred(c)).unwrap_or(s.len());
            let (head, tail) = s.split_at(n);
            *s = tail;
            head.to_string()
        };
        let mut rest = descr;
        let one_order = |s: &mut &str| -> Option<char> {
            let c = s.chars().next().filter(|&c| "<>|=".contains(c))?;
            *s = &s[1..];
            Some(c)
        };
        let order1 = one_order(&mut rest);
        let mut repeats = take(&mut rest, &|c| c == ' ');
        if rest.starts_with('(') {
            repeats.push('(');
            rest = &rest[1..];
        }
        repeats += &take(&mut rest, &|c| c == ' ' || c == ',' || c.is_ascii_digit());
        if rest.starts_with(')') {
            repeats.push(')');
            rest = &rest[1..];
        }
        repeats += &take(&mut rest, &|c| c == ' ');
        let order2 = one_order(&mut rest);
        let mut name = take(&mut rest, &|c| {
            c.is_ascii_alphanumeric() || c == '.' || c == '?'
        });
        if let Some(inner) = rest.strip_prefix('[') {
            let n = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == ',' || c == '.'))
                .unwrap_or(inner.len());
            if n > 0 && inner[n..].starts_with(']') {
                name.push_str(&rest[..n + 2]);
                rest = &rest[n + 2..];
            }
        }
        if !rest
            .chars()
            .all(|c| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
        {
            return None;
        }
        let native = |c: Option<char>| c.map(|c| if c == '=' { '<' } else { c });
        let order = match (native(order1), native(order2)) {
            (Some(a), Some(b)) if a != b => return None,
            (a, b) => a.or(b),
        };
        let item = if order == Some('>') {
            format!(">{name}")
        } else {
            name
        };
        let empty_tuple = {
            let inner = repeats.trim_matches(' ');
            inner.starts_with('(')
                && inner.ends_with(')')
                && inner.len() >= 2
                && inner[1..inner.len() - 1].trim_matches(' ').is_empty()
        };
        if repeats.is_empty() || empty_tuple {
            float_type(&item, depth + 1)
        } else {
            None
        }
    }

    /// A type string without repeats or fields: byte order, then a
    /// one-character code, a kind and size read as C's `strtol` reads it,
    /// or a name.
    fn plain_type(descr: &str) -> Option<(Dtype, bool)> {
        let (big, body) = match descr.as_bytes()[0] {
            b'>' => (true, &descr[1..]),
            b'<' | b'=' | b'|' => (false, &descr[1..]),
            _ => (false, descr),
        };
        let by_name = match descr {
            "float32" | "single" => Some((Dtype::F32, false)),
            "float16" | "half" => Some((Dtype::F16, false)),
            _ => None,
        };
        match body.as_bytes() {
            [] => None,
            [c] => match *c {
                b'f' | 11 => Some((Dtype::F32, big)),
                b'e' | 23 => Some((Dtype::F16, big)),
                _ => None,
            },
            [kind, size @ ..] => {
                let mut rest = size;
                while let [b' ' | b'\t' | b'\n' | 11 | 12 | b'\r', tail @ ..] = rest {
                    rest = tail;
                }
                let (negative, unsigned) = match rest {
                    [b'-', tail @ ..] => (true, tail),
                    [b'+', tail @ ..] => (false, tail),
                    _ => (false, rest),
                };
                let digits = unsigned.iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    return by_name;
                }
                let value: i128 = std::str::from_utf8(&unsigned[..digits])
                    .ok()?
                    .parse()
                    .unwrap_or(i128::MAX);
                let value = if negative { -value } else { value };
                if !(0..=i128::from(i32::MAX)).contains(&value) {
                    return None;
                }
                if digits < unsigned.len() {
                    return by_name;
                }
                match (*kind, value) {
                    (b'f', 4) => Some((Dtype::F32, big)),
                    (b'f', 2) => Some((Dtype::F16, big)),
                    _ => None,
                }
            }
        }
    }
}
