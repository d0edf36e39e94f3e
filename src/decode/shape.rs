//! Per-frame output shapes, the common ground of the start-up checks
//! (declared shapes, some dims dynamic) and per-frame decoding (actual
//! shapes), and how they read in messages.

use super::{DeclaredOutput, DecodeError, OutputView};

/// One output's name and per-frame dims (batch removed); `None` marks a dim
/// the model leaves dynamic, known only once a frame arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputShape<'a> {
    /// The output's name in the model.
    pub name: &'a str,
    /// Per-frame dims.
    pub dims: Vec<Option<usize>>,
}

impl<'a> OutputShape<'a> {
    /// The per-frame part of a declared output.
    pub fn from_declared(output: &'a DeclaredOutput) -> Self {
        // Declared shapes include the batch dimension; decoders see one frame.
        let per_frame = output.shape.get(1..).unwrap_or_default();
        OutputShape {
            name: &output.name,
            dims: per_frame.to_vec(),
        }
    }

    /// The shape of a frame's tensor, every dim known.
    pub fn from_view(view: &OutputView<'a>) -> Self {
        OutputShape {
            name: view.name,
            dims: view.shape.iter().copied().map(Some).collect(),
        }
    }

    /// Number of per-frame dims.
    pub fn rank(&self) -> usize {
        self.dims.len()
    }

    /// The last dim, if the shape has any dims and it is known.
    pub fn last_dim(&self) -> Option<usize> {
        self.dims.last().copied().flatten()
    }

    /// At most one dim that is not known to be 1: a vector however it is
    /// shaped (`[1000]`, `[1000,1,1]`).
    pub fn is_vector(&self) -> bool {
        self.dims.iter().filter(|&&dim| dim != Some(1)).count() <= 1
    }

    /// A vector that holds, or may hold, more than one value: what
    /// `decoder=auto` reads as class scores or an embedding.
    pub fn is_vector_of_values(&self) -> bool {
        self.is_vector() && self.dims.iter().any(|&dim| dim != Some(1))
    }

    /// Whether the name contains `needle` (ASCII case ignored).
    pub fn name_contains(&self, needle: &str) -> bool {
        self.name.to_ascii_lowercase().contains(needle)
    }
}

/// The per-frame shapes of declared outputs.
pub(super) fn from_declared(outputs: &[DeclaredOutput]) -> Vec<OutputShape<'_>> {
    outputs.iter().map(OutputShape::from_declared).collect()
}

/// The shapes of a frame's tensors.
pub(super) fn from_views<'a>(outputs: &[OutputView<'a>]) -> Vec<OutputShape<'a>> {
    outputs.iter().map(OutputShape::from_view).collect()
}

/// Whether two dims can be the same size: equal, or either still unknown.
pub(super) fn compatible(a: Option<usize>, b: Option<usize>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Dims as users see them in messages: `[3000,4]`, `?` for a dynamic dim.
pub(super) fn format_dims(dims: &[Option<usize>]) -> String {
    let dims: Vec<String> = dims
        .iter()
        .map(|dim| dim.map_or_else(|| "?".to_owned(), |dim| dim.to_string()))
        .collect();
    format!("[{}]", dims.join(","))
}

/// All outputs as users see them in messages, e.g.
/// `2 outputs: boxes [3000,4], scores [3000,21]`.
pub(super) fn describe(shapes: &[OutputShape]) -> String {
    let listed: Vec<String> = shapes
        .iter()
        .map(|shape| format!("{} {}", shape.name, format_dims(&shape.dims)))
        .collect();
    match shapes.len() {
        0 => "no outputs".to_owned(),
        1 => format!("1 output: {}", listed.join(", ")),
        count => format!("{count} outputs: {}", listed.join(", ")),
    }
}

/// Checks that a tensor holds exactly as many values as its shape says, so
/// that decoders can index by shape.
pub(super) fn check_data_len(view: &OutputView) -> Result<(), DecodeError> {
    let needed = view
        .shape
        .iter()
        .try_fold(1usize, |product, &dim| product.checked_mul(dim));
    if needed == Some(view.data.len()) {
        Ok(())
    } else {
        Err(DecodeError::DataLength {
            output: view.name.to_owned(),
            shape: view.shape.to_vec(),
            len: view.data.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_shapes_lose_the_batch_dim() {
        let declared = DeclaredOutput {
            name: "output0".into(),
            shape: vec![Some(1), Some(84), None],
        };
        let shape = OutputShape::from_declared(&declared);
        assert_eq!(shape.dims, vec![Some(84), None]);
        assert_eq!(shape.last_dim(), None);
        let scalar = DeclaredOutput {
            name: "count".into(),
            shape: vec![],
        };
        assert_eq!(OutputShape::from_declared(&scalar).rank(), 0);
    }

    #[test]
    fn descriptions_list_per_frame_shapes() {
        let declared = [
            DeclaredOutput {
                name: "boxes".into(),
                shape: vec![Some(1), Some(3000), Some(4)],
            },
            DeclaredOutput {
                name: "scores".into(),
                shape: vec![None, None, Some(21)],
            },
        ];
        assert_eq!(
            describe(&from_declared(&declared)),
            "2 outputs: boxes [3000,4], scores [?,21]"
        );
        assert_eq!(
            describe(&from_declared(&declared[..1])),
            "1 output: boxes [3000,4]"
        );
        assert_eq!(describe(&[]), "no outputs");
    }

    #[test]
    fn data_length_must_match_shape() {
        let data = [0.0; 6];
        assert!(
            check_data_len(&OutputView {
                name: "a",
                shape: &[2, 3],
                data: &data
            })
            .is_ok()
        );
        assert!(
            check_data_len(&OutputView {
                name: "a",
                shape: &[2, 2],
                data: &data
            })
            .is_err()
        );
        assert!(
            check_data_len(&OutputView {
                name: "a",
                shape: &[],
                data: &data[..1]
            })
            .is_ok()
        );
        assert!(
            check_data_len(&OutputView {
                name: "a",
                shape: &[0, 5],
                data: &[]
            })
            .is_ok()
        );
        assert!(
            check_data_len(&OutputView {
                name: "a",
                shape: &[usize::MAX, 3],
                data: &data
            })
            .is_err()
        );
    }
}
