//! Feature vectors (embeddings): an output flattened, optionally scaled to
//! unit length so that dot products are cosine similarities.
//!
//! The decoder reads the output named by `output-name`, else one of
//! [`FEATURE_OUTPUT_NAMES`], else the first.

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::{OutputShape, format_dims};
use super::{DecodeSettings, Decoded, OutputView, Tensor, TensorRole, select_output};

/// Output names a feature extractor's embedding usually has, tried in order
/// when `output-name` is not set.
pub const FEATURE_OUTPUT_NAMES: [&str; 2] = ["features", "embeddings"];

/// The feature-vector decoder.
pub(super) struct FeatureVector;

impl Decoder for FeatureVector {
    fn name(&self) -> &'static str {
        "features"
    }

    fn summary(&self) -> &'static str {
        "Features: an embedding vector"
    }

    fn expects(&self) -> &'static str {
        "at least one output"
    }

    fn produces(&self) -> Produces {
        Produces::Tensors
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        if shapes.is_empty() {
            Err(Mismatch::default())
        } else {
            Ok(())
        }
    }

    /// One vector named like an embedding.
    fn auto(&self, shapes: &[OutputShape]) -> AutoVerdict {
        match shapes {
            [only] if only.is_vector_of_values() && named_like_features(only) => {
                AutoVerdict::Pick(format!(
                    "one output '{}' {} named like a feature vector; set decoder=classification if it holds class scores",
                    only.name,
                    format_dims(&only.dims)
                ))
            }
            _ => AutoVerdict::Pass,
        }
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        let output = select_output(outputs, settings.output_name, &FEATURE_OUTPUT_NAMES)?;
        let data = embedding(output, settings.normalize);
        Ok(Decoded::Tensors(vec![Tensor {
            name: output.name.to_owned(),
            role: TensorRole::Features,
            shape: vec![data.len()],
            data,
        }]))
    }
}

/// Whether an output's name says it is an embedding (`fc1_embedding`,
/// `Features`), which is how `decoder=auto` tells it from class scores.
pub(super) fn named_like_features(output: &OutputShape) -> bool {
    output.name_contains("embed") || output.name_contains("feature")
}

/// The output's values as one flat vector, divided by their L2 norm when
/// `normalize` is set and the norm is positive (an all-zero vector stays as
/// it is).
///
/// If any value is NaN or infinite, the norm is meaningless and the vector
/// is returned unnormalised, as the model gave it, so that the bad values
/// stay visible to whoever consumes it (check with `f32::is_finite`).
pub fn embedding(output: &OutputView, normalize: bool) -> Vec<f32> {
    let mut values = output.data.to_vec();
    if normalize {
        // Squares summed in f64: f32 squares overflow above about 1.8e19.
        let norm = values
            .iter()
            .map(|&value| f64::from(value).powi(2))
            .sum::<f64>()
            .sqrt();
        if norm.is_finite() && norm > 0.0 {
            for value in &mut values {
                *value = (f64::from(*value) / norm) as f32;
            }
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(shape: &'a [usize], data: &'a [f32]) -> OutputView<'a> {
        OutputView {
            name: "embedding",
            shape,
            data,
        }
    }

    #[test]
    fn flattens_as_is_without_normalisation() {
        let data = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(embedding(&view(&[2, 2], &data), false), data.to_vec());
    }

    #[test]
    fn normalises_to_unit_length() {
        assert_eq!(embedding(&view(&[2], &[3.0, 4.0]), true), vec![0.6, 0.8]);
    }

    #[test]
    fn zero_and_empty_vectors_stay_as_they_are() {
        assert_eq!(embedding(&view(&[3], &[0.0; 3]), true), vec![0.0; 3]);
        assert!(embedding(&view(&[0], &[]), true).is_empty());
    }

    #[test]
    fn huge_values_normalise_without_overflow() {
        let result = embedding(&view(&[2], &[3e30, 4e30]), true);
        assert!(
            (result[0] - 0.6).abs() < 1e-6 && (result[1] - 0.8).abs() < 1e-6,
            "{result:?}"
        );
    }

    #[test]
    fn non_finite_values_leave_the_vector_unnormalised() {
        let result = embedding(&view(&[3], &[3.0, f32::NAN, 4.0]), true);
        assert_eq!(result[0], 3.0);
        assert!(result[1].is_nan());
        let result = embedding(&view(&[2], &[f32::INFINITY, 1.0]), true);
        assert_eq!(result, vec![f32::INFINITY, 1.0]);
    }

    #[test]
    fn the_decoder_prefers_an_output_named_like_features() {
        let decoder = super::super::decoder_named("features");
        let (logits, features) = ([1.0, 2.0], [3.0, 4.0]);
        let outputs = [view(&[2], &logits), {
            let mut named = view(&[1, 2], &features);
            named.name = "features";
            named
        }];
        let settings = DecodeSettings {
            normalize: true,
            ..super::super::settings_for_tests()
        };
        assert_eq!(
            decoder.decode(&outputs, &settings),
            Ok(Decoded::Tensors(vec![Tensor {
                name: "features".into(),
                role: TensorRole::Features,
                shape: vec![2],
                data: vec![0.6, 0.8],
            }]))
        );
        assert_eq!(
            decoder.decode(&[], &settings).unwrap_err().to_string(),
            "the model produced no outputs"
        );
    }
}
