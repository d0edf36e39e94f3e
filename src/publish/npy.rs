//! A `.npy` float32 matrix that grows a row at a time and is valid after
//! every row: the header has a fixed size and is rewritten with the new row
//! count, so a reader (or a crash) never sees a file numpy cannot load. A row
//! that cannot be written whole (a full disk) is cut off again, so the file
//! holds exactly the rows its header counts.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// Total header size: magic, version, length and the padded dictionary. 128
/// bytes leave room for any row count while keeping the data 64-byte aligned
/// as the format asks.
const HEADER_LEN: usize = 128;

/// Appends float32 rows of a fixed dimension to a `.npy` file.
pub struct NpyWriter {
    file: File,
    dim: Option<usize>,
    rows: u64,
    row_bytes: Vec<u8>,
}

impl NpyWriter {
    /// Creates (truncates) the file and writes an empty matrix.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = File::create(path)?;
        let mut writer = Self {
            file,
            dim: None,
            rows: 0,
            row_bytes: Vec::new(),
        };
        writer.write_header(0)?;
        Ok(writer)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends a row; every row must have the first row's length.
    pub fn append_row(&mut self, row: &[f32]) -> std::io::Result<u64> {
        let dim = *self.dim.get_or_insert(row.len());
        if row.len() != dim {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "embedding of length {} cannot join a matrix of rows of length {dim}",
                    row.len()
                ),
            ));
        }
        self.row_bytes.clear();
        self.row_bytes
            .extend(row.iter().flat_map(|v| v.to_le_bytes()));
        let end = HEADER_LEN as u64 + self.rows * self.row_bytes.len() as u64;
        if let Err(err) = self.write_row_at(end) {
            // Back to the rows the header counted before. The error is what
            // the caller reports; a cut that fails too changes nothing.
            let _ = self.file.set_len(end);
            let _ = self.write_header(self.rows);
            return Err(err);
        }
        self.rows += 1;
        Ok(self.rows - 1)
    }

    /// Waits until the rows are on the disk ([`super::sync_to_disk`]).
    pub fn sync(&self) -> std::io::Result<()> {
        super::sync_to_disk(&self.file)
    }

    /// Writes the row at `end` (the end of the whole rows), then counts it in the header.
    fn write_row_at(&mut self, end: u64) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(end))?;
        self.file.write_all(&self.row_bytes)?;
        self.write_header(self.rows + 1)
    }

    fn write_header(&mut self, rows: u64) -> std::io::Result<()> {
        let header = header(rows, self.dim.unwrap_or(0));
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&header)?;
        self.file.flush()
    }
}

/// The NPY 1.0 header for a little-endian float32 C-order matrix.
fn header(rows: u64, dim: usize) -> Vec<u8> {
    let mut dict =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    let prefix = 10; // magic (6) + version (2) + header length (2)
    while prefix + dict.len() + 1 < HEADER_LEN {
        dict.push(' ');
    }
    dict.push('\n');
    let mut bytes = Vec::with_capacity(HEADER_LEN);
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads what we wrote back, as numpy's format describes it.
    fn read(path: &Path) -> (String, Vec<f32>) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + len) % 64, 0, "data is 64-byte aligned");
        let dict = String::from_utf8(bytes[10..10 + len].to_vec()).unwrap();
        let data = bytes[10 + len..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (dict, data)
    }

    #[test]
    fn is_valid_after_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.npy");
        let mut writer = NpyWriter::create(&path).unwrap();
        assert!(read(&path).0.contains("'shape': (0, 0)"));
        assert_eq!(writer.append_row(&[1.0, 2.0, 3.0]).unwrap(), 0);
        assert!(read(&path).0.contains("'shape': (1, 3)"));
        assert_eq!(writer.append_row(&[4.0, 5.0, 6.5]).unwrap(), 1);
        let (dict, data) = read(&path);
        assert!(
            dict.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
            "{dict}"
        );
        assert!(dict.ends_with('\n'));
        assert_eq!(data, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
    }

    #[test]
    fn rows_of_another_length_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = NpyWriter::create(&dir.path().join("e.npy")).unwrap();
        writer.append_row(&[1.0, 2.0]).unwrap();
        let err = writer.append_row(&[1.0]).unwrap_err();
        assert!(
            err.to_string().contains("length 1") && err.to_string().contains("length 2"),
            "{err}"
        );
        assert_eq!(writer.rows(), 1);
    }

    #[test]
    fn an_unwritable_path_is_an_error() {
        assert!(NpyWriter::create(Path::new("/nonexistent-dir/e.npy")).is_err());
    }
}
