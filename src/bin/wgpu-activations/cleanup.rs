//! Temporary output files, removed however a run ends.
//!
//! Outputs are written to hidden temporary files beside their targets and
//! renamed into place on success. A [`TempFile`] is deleted when dropped, so
//! every error path (and a panic, which unwinds) removes it. A signal would
//! kill the process without unwinding: on Unix, SIGINT (Ctrl-C), SIGTERM and
//! SIGHUP are caught by a thread that removes the temporary files that
//! exist, then lets the process die of the same signal (the shell reports
//! 130, 143 or 129, and a script that ran the tool stops, as it would for a
//! process without a handler). Nothing can be done about SIGKILL.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};

use tempfile::NamedTempFile;

/// The temporary files of this process that exist.
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Held (shared) while outputs are renamed into place; the signal handler
/// takes it alone, so a signal waits until a set of outputs is in place.
static RENAMING: RwLock<()> = RwLock::new(());

/// The list of temporary files, whatever a panicking thread left it as.
fn temporary() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPORARY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A temporary file that a signal removes too.
pub struct TempFile {
    /// `None` once persisted or deleted.
    file: Option<NamedTempFile>,
}

impl TempFile {
    /// Creates a temporary file in `dir` with `builder`'s name and
    /// permissions (installing the signal handler first).
    pub fn new_in(builder: &tempfile::Builder, dir: &Path) -> io::Result<TempFile> {
        install_handler()?;
        // Listed before a signal can see the file without it.
        let mut list = temporary();
        let file = builder.tempfile_in(dir)?;
        list.push(file.path().to_path_buf());
        Ok(TempFile { file: Some(file) })
    }

    fn file(&mut self) -> io::Result<&mut NamedTempFile> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the temporary file is gone"))
    }

    /// Gives the file `permissions` (those of the file it will replace).
    pub fn set_permissions(&mut self, permissions: std::fs::Permissions) -> io::Result<()> {
        self.file()?.as_file().set_permissions(permissions)
    }

    /// Renames the file to `path`.
    pub fn persist(mut self, path: &Path) -> io::Result<()> {
        let mut list = temporary();
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("no file"))?;
        let temporary_path = file.path().to_path_buf();
        match file.persist(path) {
            Ok(_) => {
                list.retain(|p| *p != temporary_path);
                Ok(())
            }
            Err(error) => {
                // Dropped (deleted) below, with the list held.
                self.file = Some(error.file);
                drop(list);
                Err(error.error)
            }
        }
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let mut list = temporary();
            let path = file.path().to_path_buf();
            drop(file); // deletes it
            list.retain(|p| *p != path);
        }
    }
}

/// Holds off the signal handler while outputs are renamed into place, so
/// that a signal never leaves one output of a run replaced and another not.
pub fn renaming() -> RwLockReadGuard<'static, ()> {
    RENAMING
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes every temporary file that exists; the list stays locked (the
/// process is about to end).
#[cfg(unix)]
fn remove_all() -> MutexGuard<'static, Vec<PathBuf>> {
    let list = temporary();
    for path in list.iter() {
        let _ = std::fs::remove_file(path);
    }
    list
}

/// Starts (once) the thread that handles SIGINT, SIGTERM and SIGHUP.
#[cfg(unix)]
fn install_handler() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use std::sync::OnceLock;

    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        // A signal the tool was started with ignored (`nohup`: SIGHUP; a
        // background job of a script: SIGINT) stays ignored: handled, it
        // would end the run.
        let handled: Vec<i32> = [SIGINT, SIGTERM, SIGHUP]
            .into_iter()
            .filter(|&signal| !ignored(signal))
            .collect();
        let mut signals =
            signal_hook::iterator::Signals::new(handled).map_err(|e| e.to_string())?;
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    let _renamed = RENAMING.write().unwrap_or_else(|p| p.into_inner());
                    let _list = remove_all();
                    // Die of the signal, as the default action would have.
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                    std::process::exit(128 + signal);
                }
            })
            .map(drop)
            .map_err(|e| e.to_string())
    });
    installed
        .clone()
        .map_err(|e| io::Error::other(format!("cannot handle signals: {e}")))
}

/// Whether `signal`'s disposition is to be ignored (`SIG_IGN`).
#[cfg(unix)]
fn ignored(signal: i32) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one
    // into `current`, a zeroed sigaction (a valid value of that C struct).
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

#[cfg(not(unix))]
fn install_handler() -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_are_listed_until_persisted_or_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = tempfile::Builder::new();
        builder.prefix(".test-").suffix(".tmp");
        let listed = |p: &Path| temporary().iter().any(|q| q == p);

        let mut kept = TempFile::new_in(&builder, dir.path()).unwrap();
        kept.write_all(b"data").unwrap();
        let kept_path = kept.file.as_ref().unwrap().path().to_path_buf();
        assert!(listed(&kept_path));
        let target = dir.path().join("out.npy");
        let _guard = renaming();
        kept.persist(&target).unwrap();
        assert!(!listed(&kept_path));
        assert_eq!(std::fs::read(&target).unwrap(), b"data");

        let dropped = TempFile::new_in(&builder, dir.path()).unwrap();
        let dropped_path = dropped.file.as_ref().unwrap().path().to_path_buf();
        assert!(listed(&dropped_path) && dropped_path.exists());
        drop(dropped);
        assert!(!listed(&dropped_path) && !dropped_path.exists());

        // A failed rename deletes the file too.
        let failing = TempFile::new_in(&builder, dir.path()).unwrap();
        let failing_path = failing.file.as_ref().unwrap().path().to_path_buf();
        assert!(failing.persist(&dir.path().join("no/such/dir/x")).is_err());
        assert!(!listed(&failing_path) && !failing_path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
