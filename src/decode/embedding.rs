//! Feature vectors (embeddings): an output flattened, optionally scaled to
//! unit length so that dot products are cosine similarities.

use super::OutputView;

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
}
