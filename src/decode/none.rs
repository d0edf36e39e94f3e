//! `decoder=none`: every output passed on as it is, as raw tensors, for
//! consumers that decode themselves.

use super::decoder::{DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::OutputShape;
use super::{DecodeSettings, Decoded, OutputView, Tensor, TensorRole};

/// The decoder that does not decode.
pub(super) struct RawOutputs;

impl Decoder for RawOutputs {
    fn name(&self) -> &'static str {
        "none"
    }

    fn summary(&self) -> &'static str {
        "None: attach every output as a raw tensor"
    }

    fn expects(&self) -> &'static str {
        "nothing"
    }

    fn produces(&self) -> Produces {
        Produces::Tensors
    }

    fn check(&self, _shapes: &[OutputShape]) -> Result<(), Mismatch> {
        Ok(())
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        _settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        Ok(Decoded::Tensors(
            outputs
                .iter()
                .map(|output| Tensor {
                    name: output.name.to_owned(),
                    role: TensorRole::Raw,
                    shape: output.shape.to_vec(),
                    data: output.data.to_vec(),
                })
                .collect(),
        ))
    }
}
