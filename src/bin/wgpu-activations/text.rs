//! Text from files and command lines, made safe to print on a terminal.
//!
//! A crafted .npy header, or a file name, may hold terminal control
//! sequences (ESC, CSI) that clear the screen or set the window title when
//! printed raw, or bidirectional overrides that reorder what is shown.
//! Messages escape them.

/// Characters that are not shown as themselves: the C0 and C1 controls and
/// DEL (`char::is_control`), and the Unicode format characters and
/// separators (categories Cf, Zs other than the space, Zl, Zp; ranges from
/// Python 3.11's `unicodedata`, Unicode 14): bidirectional overrides,
/// zero-width characters, no-break spaces.
const INVISIBLE: &[(u32, u32)] = &[
    (0xa0, 0xa0),
    (0xad, 0xad),
    (0x600, 0x605),
    (0x61c, 0x61c),
    (0x6dd, 0x6dd),
    (0x70f, 0x70f),
    (0x890, 0x891),
    (0x8e2, 0x8e2),
    (0x1680, 0x1680),
    (0x180e, 0x180e),
    (0x2000, 0x200f),
    (0x2028, 0x202f),
    (0x205f, 0x2064),
    (0x2066, 0x206f),
    (0x3000, 0x3000),
    (0xfeff, 0xfeff),
    (0xfff9, 0xfffb),
    (0x110bd, 0x110bd),
    (0x110cd, 0x110cd),
    (0x13430, 0x13438),
    (0x1bca0, 0x1bca3),
    (0x1d173, 0x1d17a),
    (0xe0001, 0xe0001),
    (0xe0020, 0xe007f),
];

/// Whether `c` may be printed as it is: not a control, format or
/// separator character (the space excepted).
pub fn is_printable(c: char) -> bool {
    if c.is_control() {
        return false;
    }
    let code = c as u32;
    !INVISIBLE
        .iter()
        .any(|&(first, last)| (first..=last).contains(&code))
}

/// Appends the escape of `c` as Python writes it in a string literal:
/// `\t`, `\n`, `\r`, `\xNN`, `\uNNNN`, `\UNNNNNNNN`.
fn push_escape(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// `text` with every character that [`is_printable`] refuses escaped
/// (`\x1b`, `\u202e`); backslashes are kept as they are. The last defence of
/// every error line.
pub fn escape_unprintable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_printable(c) {
            out.push(c);
        } else {
            push_escape(&mut out, c);
        }
    }
    out
}

/// `text` as a quoted Python string literal (`'<f4'`, `'a\'b'`,
/// `'\x1b]0;title\x07'`), at most `max_chars` characters of it (then `...`):
/// how messages quote what a file holds. Backslashes and quotes are escaped
/// too, so the quote shows exactly which characters the file holds.
pub fn quote(text: &str, max_chars: usize) -> String {
    let mut out = String::from("'");
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            out.push_str("'...");
            return out;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if is_printable(c) => out.push(c),
            c => push_escape(&mut out, c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_are_escaped() {
        let title = "\x1b]0;owned\x07\x1b[2J\u{9b}31m\u{202e}x\u{a0}y\r\n\t\\";
        assert_eq!(
            escape_unprintable(title),
            "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202ex\\xa0y\\r\\n\\t\\"
        );
        assert_eq!(
            quote(title, 100),
            "'\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202ex\\xa0y\\r\\n\\t\\\\'"
        );
        assert_eq!(quote("it's", 100), "'it\\'s'");
        assert_eq!(quote("abcdef", 3), "'abc'...");
        assert_eq!(quote("abc", 3), "'abc'");
        assert_eq!(
            escape_unprintable("\u{e0041}\u{1F600}é"),
            "\\U000e0041\u{1F600}é"
        );
        assert!("x.npy <f4 ü 数 -_/".chars().all(is_printable));
    }
}
