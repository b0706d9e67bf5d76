//! The tool's error: a message for one line of stderr and an exit code.

use wgpu_activations::ActivationError;

use crate::text::escape_unprintable;

/// What went wrong, and how the process exits because of it.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    /// 2 for a wrong command line, 1 for everything else.
    pub code: u8,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// A wrong command line (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 2,
        }
    }

    /// A failure while running (bad file, GPU error; exit code 1).
    pub fn run(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 1,
        }
    }

    /// The message on one line (wgpu's errors span several), safe to print.
    pub fn one_line(&self) -> String {
        one_line(&self.message)
    }
}

/// `text` with every run of whitespace (newlines included) made one space,
/// and every other character a terminal would act on, or would not show,
/// escaped: file names and file contents in messages cannot send control
/// sequences to the terminal.
pub fn one_line(text: &str) -> String {
    escape_unprintable(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A library error, with what it was about.
pub fn gpu(context: &str, error: ActivationError) -> CliError {
    CliError::run(format!("{context}: {error}"))
}
