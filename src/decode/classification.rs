//! Classification: the best classes of one vector of class scores.
//!
//! The decoder reads the output named by `output-name`, else the first; its
//! values are one flat vector of scores however it is shaped (`[1000]`,
//! `[1000,1,1]`).

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::{OutputShape, format_dims};
use super::{Classification, DecodeSettings, Decoded, OutputView, features, select_output};

/// The classification decoder.
pub(super) struct Classifier;

impl Decoder for Classifier {
    fn name(&self) -> &'static str {
        "classification"
    }

    fn summary(&self) -> &'static str {
        "Classification: class scores"
    }

    fn expects(&self) -> &'static str {
        "a first output shaped [classes]"
    }

    fn produces(&self) -> Produces {
        Produces::Classes
    }

    /// The first output must be a vector: at most one dim other than 1.
    /// Further outputs are allowed (and not read).
    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        let first = shapes.first().ok_or_else(Mismatch::default)?;
        if first.is_vector() {
            Ok(())
        } else {
            Err(Mismatch::because(format!(
                "'{}' has more than one dimension above 1; decoder=features passes it on flattened",
                first.name
            )))
        }
    }

    /// One vector that is not named like an embedding (those are
    /// [`features::FeatureVector`]'s).
    fn auto(&self, shapes: &[OutputShape]) -> AutoVerdict {
        match shapes {
            [only] if only.is_vector_of_values() && !features::named_like_features(only) => {
                AutoVerdict::Pick(format!(
                    "one output '{}' {}, a vector of class scores; set decoder=features if it is an embedding",
                    only.name,
                    format_dims(&only.dims)
                ))
            }
            _ => AutoVerdict::Pass,
        }
    }

    fn num_classes(&self, shapes: &[OutputShape]) -> Option<usize> {
        self.check(shapes).ok()?;
        shapes
            .first()?
            .dims
            .iter()
            .try_fold(1usize, |product, dim| product.checked_mul((*dim)?))
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        let output = select_output(outputs, settings.output_name, &[])?;
        Ok(Decoded::Classes(classify(
            output,
            settings.softmax,
            settings.top_k.max(1),
        )))
    }
}

/// Whether to turn class scores into probabilities with a softmax.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SoftmaxMode {
    /// Apply a softmax unless the scores already look like probabilities:
    /// all in [0, 1] and summing to 1 within 1e-3.
    #[default]
    Auto,
    /// Always apply a softmax (the model outputs logits).
    Always,
    /// Report the scores as the model gives them.
    Never,
}

/// How far from 1 the scores may sum and still count as probabilities.
const PROBABILITY_SUM_TOLERANCE: f64 = 1e-3;

/// The `top_k` best classes, highest confidence first, ties going to the
/// lower class id.
///
/// The output's values are read as one flat vector of class scores, whatever
/// its shape (`[1000]` and `[1000, 1, 1]` alike). Non-finite scores (NaN,
/// infinities) are ignored: they are neither reported nor part of the
/// softmax, so a single bad value does not wipe out the rest.
pub fn classify(output: &OutputView, softmax: SoftmaxMode, top_k: usize) -> Vec<Classification> {
    if top_k == 0 {
        return Vec::new();
    }
    let scores = output.data;
    let apply_softmax = match softmax {
        SoftmaxMode::Auto => !looks_like_probabilities(scores),
        SoftmaxMode::Always => true,
        SoftmaxMode::Never => false,
    };
    let mut ranked: Vec<Classification> = if apply_softmax {
        softmax_of_finite(scores)
    } else {
        finite(scores)
            .map(|(class_id, confidence)| Classification {
                class_id,
                confidence,
            })
            .collect()
    };

    let order = |a: &Classification, b: &Classification| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.class_id.cmp(&b.class_id))
    };
    if top_k < ranked.len() {
        // Partition first so that only the kept classes get sorted.
        ranked.select_nth_unstable_by(top_k, order);
        ranked.truncate(top_k);
    }
    ranked.sort_unstable_by(order);
    ranked
}

/// The finite scores with their class ids.
fn finite(scores: &[f32]) -> impl Iterator<Item = (usize, f32)> + '_ {
    scores
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, score)| score.is_finite())
}

/// All finite scores in [0, 1], summing to 1 within the tolerance.
fn looks_like_probabilities(scores: &[f32]) -> bool {
    let mut sum = 0.0f64;
    for (_, score) in finite(scores) {
        if !(0.0..=1.0).contains(&score) {
            return false;
        }
        sum += f64::from(score);
    }
    (sum - 1.0).abs() <= PROBABILITY_SUM_TOLERANCE
}

/// Softmax over the finite scores, shifted by the maximum so that `exp`
/// cannot overflow.
fn softmax_of_finite(scores: &[f32]) -> Vec<Classification> {
    let max = finite(scores)
        .map(|(_, score)| score)
        .fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<(usize, f32)> = finite(scores)
        .map(|(class_id, score)| (class_id, (score - max).exp()))
        .collect();
    // The maximum contributes exp(0) = 1, so the sum is at least 1.
    let sum: f64 = exps.iter().map(|&(_, exp)| f64::from(exp)).sum();
    exps.into_iter()
        .map(|(class_id, exp)| Classification {
            class_id,
            confidence: (f64::from(exp) / sum) as f32,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(data: &[f32]) -> OutputView<'_> {
        OutputView {
            name: "probs",
            shape: &[],
            data,
        }
    }

    fn summary(result: &[Classification]) -> Vec<(usize, f32)> {
        result
            .iter()
            .map(|c| (c.class_id, (c.confidence * 1e4).round() / 1e4))
            .collect()
    }

    #[test]
    fn probabilities_are_reported_as_given() {
        let result = classify(&view(&[0.1, 0.7, 0.2]), SoftmaxMode::Auto, 2);
        assert_eq!(summary(&result), vec![(1, 0.7), (2, 0.2)]);
    }

    #[test]
    fn logits_get_a_softmax() {
        let logits = [1.0, 3.0, 2.0];
        let result = classify(&view(&logits), SoftmaxMode::Auto, 3);
        assert_eq!(summary(&result), vec![(1, 0.6652), (2, 0.2447), (0, 0.09)]);
        let total: f32 = result.iter().map(|c| c.confidence).sum();
        assert!((total - 1.0).abs() < 1e-6);
    }

    #[test]
    fn scores_in_range_not_summing_to_one_get_a_softmax() {
        let result = classify(&view(&[0.9, 0.8]), SoftmaxMode::Auto, 1);
        assert!(result[0].confidence < 0.6);
    }

    #[test]
    fn forced_modes() {
        let probabilities = [0.25, 0.75];
        let result = classify(&view(&probabilities), SoftmaxMode::Always, 1);
        assert_eq!(summary(&result), vec![(1, 0.6225)]);
        let logits = [-3.0, 5.0];
        let result = classify(&view(&logits), SoftmaxMode::Never, 2);
        assert_eq!(summary(&result), vec![(1, 5.0), (0, -3.0)]);
    }

    #[test]
    fn ties_go_to_the_lower_class() {
        let result = classify(&view(&[0.2, 0.4, 0.4, 0.0]), SoftmaxMode::Never, 2);
        assert_eq!(summary(&result), vec![(1, 0.4), (2, 0.4)]);
        let uniform = classify(&view(&[7.0; 5]), SoftmaxMode::Auto, 3);
        assert_eq!(summary(&uniform), vec![(0, 0.2), (1, 0.2), (2, 0.2)]);
    }

    #[test]
    fn top_k_beyond_the_classes_returns_them_all_and_zero_returns_none() {
        assert_eq!(classify(&view(&[0.5, 0.5]), SoftmaxMode::Auto, 10).len(), 2);
        assert!(classify(&view(&[0.5, 0.5]), SoftmaxMode::Auto, 0).is_empty());
        assert!(classify(&view(&[]), SoftmaxMode::Auto, 5).is_empty());
    }

    #[test]
    fn non_finite_scores_are_ignored() {
        let result = classify(
            &view(&[f32::NAN, 0.3, f32::INFINITY, 0.7, f32::NEG_INFINITY]),
            SoftmaxMode::Auto,
            5,
        );
        assert_eq!(summary(&result), vec![(3, 0.7), (1, 0.3)]);
        let result = classify(&view(&[f32::NAN, 2.0, 2.0]), SoftmaxMode::Always, 5);
        assert_eq!(summary(&result), vec![(1, 0.5), (2, 0.5)]);
        assert!(classify(&view(&[f32::NAN, f32::NAN]), SoftmaxMode::Auto, 5).is_empty());
    }

    #[test]
    fn extreme_logits_do_not_overflow() {
        let result = classify(&view(&[1e30, -1e30, 3e38]), SoftmaxMode::Auto, 3);
        assert_eq!(summary(&result), vec![(2, 1.0), (0, 0.0), (1, 0.0)]);
    }

    #[test]
    fn large_class_counts_pick_the_right_top_k() {
        let scores: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1000) as f32).collect();
        let result = classify(&view(&scores), SoftmaxMode::Never, 3);
        let best: Vec<f32> = result.iter().map(|c| c.confidence).collect();
        assert_eq!(best, vec![999.0, 998.0, 997.0]);
        assert!(result.iter().all(|c| scores[c.class_id] == c.confidence));
    }

    fn settings(output_name: Option<&str>) -> DecodeSettings<'_> {
        DecodeSettings {
            output_name,
            softmax: SoftmaxMode::Never,
            top_k: 0,
            ..super::super::settings_for_tests()
        }
    }

    #[test]
    fn the_decoder_reads_the_named_output_and_keeps_at_least_one_class() {
        let decoder = super::super::decoder_named("classification");
        let (aux, probs) = ([5.0, 6.0], [0.1, 0.7, 0.2]);
        let outputs = [
            OutputView {
                name: "aux",
                shape: &[2],
                data: &aux,
            },
            OutputView {
                name: "probs",
                shape: &[3],
                data: &probs,
            },
        ];
        assert_eq!(
            decoder.decode(&outputs, &settings(Some("probs"))),
            Ok(Decoded::Classes(vec![Classification {
                class_id: 1,
                confidence: 0.7
            }]))
        );
        // Unnamed: the first output.
        assert_eq!(
            decoder.decode(&outputs, &settings(None)),
            Ok(Decoded::Classes(vec![Classification {
                class_id: 1,
                confidence: 6.0
            }]))
        );
        let error = decoder
            .decode(&outputs, &settings(Some("logits")))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the model has no output named 'logits'; its outputs are: aux, probs"
        );
    }
}
