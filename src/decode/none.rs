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

#[cfg(test)]
mod tests {
    use super::super::decoder_named;
    use super::*;

    #[test]
    fn every_output_passes_as_it_is() {
        let (a, b) = ([1.0, f32::NAN, 3.0, 4.0], [7.0]);
        let outputs = [
            OutputView {
                name: "a",
                shape: &[2, 2],
                data: &a,
            },
            OutputView {
                name: "b",
                shape: &[],
                data: &b,
            },
        ];
        let settings = super::super::settings_for_tests();
        let Ok(Decoded::Tensors(tensors)) = decoder_named("none").decode(&outputs, &settings)
        else {
            panic!("none gives tensors");
        };
        let summary: Vec<(&str, TensorRole, &[usize], usize)> = tensors
            .iter()
            .map(|t| (t.name.as_str(), t.role, &t.shape[..], t.data.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", TensorRole::Raw, &[2, 2][..], 4),
                ("b", TensorRole::Raw, &[][..], 1)
            ]
        );
        assert!(tensors[0].data[1].is_nan());
    }
}
