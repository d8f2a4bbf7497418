//! Writing a message into a mail folder (`--mail-dir`) without trusting
//! what is already there: a planted symlink must never make flowc write
//! outside the folder.
//!
//! The message is written to a new file under an unpredictable temporary
//! name, created exclusively (`create_new`: an existing file or symlink of
//! that name is an error, never followed), then renamed into place, which
//! replaces a symlink at the final name rather than writing through it.
//! Between the two, delivery checks that its worker still holds the
//! message (`Outbox::finalize_message`), as before the final `.` of SMTP.

use std::io::Write;
use std::path::{Path, PathBuf};

/// How many unpredictable names to try before giving up (each collision
/// means something else created that very name).
const TRIES: usize = 8;

/// A message written under its temporary name, not in place yet: like a
/// message whose DATA was sent but not its final `.` (delivery makes sure
/// it still holds the claim before placing it).
#[derive(Debug)]
pub(super) struct Prepared {
    tmp: PathBuf,
    path: PathBuf,
}

/// Writes `bytes` under a temporary name in `dir`, to become `dir/<name>`.
pub(super) fn prepare(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<Prepared> {
    let (tmp, mut file) = create_temporary(dir, name)?;
    let written = file.write_all(bytes).and_then(|_| file.sync_all());
    drop(file);
    match written {
        Ok(()) => Ok(Prepared {
            tmp,
            path: dir.join(name),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

impl Prepared {
    /// Puts the message in place, replacing any file of its name.
    pub(super) fn place(self) -> std::io::Result<PathBuf> {
        match std::fs::rename(&self.tmp, &self.path) {
            Ok(()) => Ok(self.path),
            Err(e) => {
                let _ = std::fs::remove_file(&self.tmp);
                Err(e)
            }
        }
    }

    /// Removes the message (the claim on it was lost).
    pub(super) fn discard(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

fn create_temporary(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = None;
    for _ in 0..TRIES {
        let tmp = dir.join(format!(".{name}.{}.tmp", super::random_id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name was free")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_at_the_final_name_is_replaced_not_followed() {
        let dir = tempfile::tempdir().expect("tmp");
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "precious").expect("write");
        let folder = dir.path().join("mail");
        std::fs::create_dir(&folder).expect("mkdir");
        std::os::unix::fs::symlink(&outside, folder.join("m.eml")).expect("symlink");
        let path = prepare(&folder, "m.eml", b"message")
            .and_then(Prepared::place)
            .expect("written");
        assert_eq!(
            std::fs::read_to_string(&outside).ok().as_deref(),
            Some("precious")
        );
        assert_eq!(
            std::fs::read_to_string(&path).ok().as_deref(),
            Some("message")
        );
        let meta = std::fs::symlink_metadata(&path).expect("meta");
        assert!(meta.file_type().is_file());
    }
}
