//! A text file written one whole line at a time, that ends with a whole line
//! even when a write fails: a full disk can take part of a line before it
//! refuses the rest, and that part is cut off again.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Appends lines to a file it created (truncating what was there).
pub struct LineFile {
    file: File,
    path: PathBuf,
    /// Bytes of whole lines written so far: where the file is cut back to.
    len: u64,
}

impl LineFile {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            file: File::create(path)?,
            path: path.to_path_buf(),
            len: 0,
        })
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `line` (which ends with `\n`) whole, handing it to the OS at
    /// once; on an error, the part written is removed and the error returned.
    pub fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        if let Err(err) = self.file.write_all(line.as_bytes()) {
            // The error is what the caller reports; a cut that fails too
            // (a device such as /dev/full cannot be truncated) changes nothing.
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(err);
        }
        self.len += line.len() as u64;
        Ok(())
    }

    /// Waits until the lines are on the disk ([`sync_to_disk`]).
    pub fn sync(&self) -> std::io::Result<()> {
        sync_to_disk(&self.file)
    }
}

/// Waits until what was written to `file` is on the disk. Some filesystems
/// (NFS, quotas applied late) report a full disk or a failed write only
/// then, and an error there would otherwise vanish when the file is closed.
/// Files that cannot be synced (pipes, terminals, character devices such as
/// `/dev/stdout`, which answer EINVAL) have nothing to wait for.
pub fn sync_to_disk(file: &File) -> std::io::Result<()> {
    match file.sync_all() {
        Err(err) if err.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_lines_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let mut file = LineFile::create(&path).unwrap();
        file.write_line("{\"frame\":0}\n").unwrap();
        file.write_line("{\"frame\":1}\n").unwrap();
        assert_eq!(file.path(), path);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"frame\":0}\n{\"frame\":1}\n"
        );
    }

    #[test]
    fn files_sync_and_devices_without_a_disk_have_nothing_to_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = LineFile::create(&dir.path().join("r.jsonl")).unwrap();
        file.write_line("{}\n").unwrap();
        file.sync().unwrap();
        // /dev/null refuses fsync with EINVAL, as pipes and terminals do.
        let null = File::create("/dev/null").unwrap();
        assert_eq!(
            null.sync_all().unwrap_err().kind(),
            std::io::ErrorKind::InvalidInput
        );
        sync_to_disk(&null).unwrap();
    }

    #[test]
    fn a_full_device_is_an_error_naming_no_space() {
        let Ok(mut file) = LineFile::create(Path::new("/dev/full")) else {
            return; // no /dev/full here
        };
        let err = file.write_line("{\"frame\":0}\n").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::StorageFull, "{err}");
    }
}
