//! output_frame_size, resolve_output_size, frame_dims_from_shape, probe_output_size.

use super::super::*;
use crate::preprocess::TensorLayout;

const DYN: (Option<usize>, Option<usize>) = (None, None);

#[test]
fn fixed_output_shape() {
    let s = Some(256);
    assert_eq!(
        output_frame_size((s, s), (s, s), (256, 256), None),
        (256, 256)
    );
    // Dynamic input, fixed output: the declared output wins, hint or not.
    assert_eq!(
        resolve_output_size(DYN, (s, s), (480, 640), Some(4)),
        ((256, 256), SizeBasis::Declared)
    );
}

#[test]
fn dynamic_same_size() {
    assert_eq!(output_frame_size(DYN, DYN, (360, 640), None), (360, 640));
    assert_eq!(
        resolve_output_size(DYN, DYN, (360, 640), None).1,
        SizeBasis::Assumed
    );
    // Some(0) is dynamic too.
    assert_eq!(
        resolve_output_size((Some(0), Some(0)), (Some(0), None), (360, 640), None),
        ((360, 640), SizeBasis::Assumed)
    );
}

#[test]
fn upscale_hint() {
    assert_eq!(
        resolve_output_size(DYN, DYN, (360, 640), Some(2)),
        ((720, 1280), SizeBasis::Hint)
    );
    // A zero hint is no hint.
    assert_eq!(output_frame_size(DYN, DYN, (360, 640), Some(0)), (360, 640));
}

#[test]
fn declared_ratio() {
    let (i, o) = (Some(64), Some(128));
    assert_eq!(
        resolve_output_size((i, i), (o, o), (64, 64), None),
        ((128, 128), SizeBasis::Declared)
    );
    // Height declared 64 -> 128, width dynamic: k = 2 carries over.
    assert_eq!(
        resolve_output_size((i, None), (o, None), (64, 100), None),
        ((128, 200), SizeBasis::DeclaredRatio)
    );
    // The hint overrides an inferred ratio.
    assert_eq!(
        resolve_output_size((i, None), (o, None), (64, 100), Some(4)),
        ((128, 400), SizeBasis::Hint)
    );
    // A non-integer ratio says nothing: assume same size.
    assert_eq!(
        resolve_output_size((Some(64), None), (Some(96), None), (64, 100), None),
        ((96, 100), SizeBasis::Assumed)
    );
    // Fixed input, dynamic output: nothing to infer.
    assert_eq!(
        resolve_output_size((i, i), DYN, (64, 64), None),
        ((64, 64), SizeBasis::Assumed)
    );
}

#[test]
fn shapes_to_frame_dims() {
    let nchw = TensorLayout::Nchw;
    let nhwc = TensorLayout::Nhwc;
    assert_eq!(
        frame_dims_from_shape(&[1, 3, 256, 320], nchw),
        Ok((3, 256, 320))
    );
    assert_eq!(
        frame_dims_from_shape(&[2, 256, 320, 3], nhwc),
        Ok((3, 256, 320))
    );
    assert_eq!(
        frame_dims_from_shape(&[1, 1, 320, 320], nchw),
        Ok((1, 320, 320))
    );
    assert_eq!(
        frame_dims_from_shape(&[1, 384, 384], nchw),
        Ok((1, 384, 384))
    );
    assert_eq!(frame_dims_from_shape(&[384, 384], nhwc), Ok((1, 384, 384)));
    for bad in [
        &[-1, 3, 2, 2][..],
        &[1],
        &[1, 2, 3, 4, 5],
        &[1, 0, 2, 2],
        &[],
    ] {
        let e = frame_dims_from_shape(bad, nchw).unwrap_err();
        assert_eq!(
            e,
            OutputError::BadShape {
                shape: bad.to_vec()
            }
        );
        assert!(e.to_string().contains("shape"));
    }
}

#[test]
fn probe_runs_once_on_a_blank_input() {
    let mut calls = 0;
    let r: Result<_, OutputError> = probe_output_size((90, 160), 3, TensorLayout::Nchw, |t, s| {
        calls += 1;
        assert_eq!(s, [1, 3, 90, 160]);
        assert_eq!(t.len(), 3 * 90 * 160);
        assert!(t.iter().all(|&v| v == 0.0));
        Ok(vec![1, 3, s[2] * 4, s[3] * 4])
    });
    assert_eq!(r, Ok((3, 360, 640)));
    assert_eq!(calls, 1);
    let r: Result<_, OutputError> = probe_output_size((90, 160), 3, TensorLayout::Nhwc, |_, s| {
        assert_eq!(s, [1, 90, 160, 3]);
        Ok(vec![1, 320, 320])
    });
    assert_eq!(r, Ok((1, 320, 320)));
    // The model's own error comes back; a bad output shape becomes E.
    let r: Result<_, Box<dyn std::error::Error>> =
        probe_output_size((8, 8), 3, TensorLayout::Nchw, |_, _| {
            Err("session failed".into())
        });
    assert_eq!(r.unwrap_err().to_string(), "session failed");
    let r: Result<_, Box<dyn std::error::Error>> =
        probe_output_size((8, 8), 3, TensorLayout::Nchw, |_, _| Ok(vec![7]));
    assert!(r.unwrap_err().to_string().contains("[7]"));
    let r: Result<_, OutputError> =
        probe_output_size((0, 8), 3, TensorLayout::Nchw, |_, _| unreachable!());
    assert!(matches!(r, Err(OutputError::ZeroSize { .. })));
}
