use super::*;

#[test]
fn sizes_name_their_sides() {
    let size = Size::new(1280, 720);
    assert_eq!((size.width, size.height), (1280, 720));
    assert_eq!(size.to_string(), "1280x720");
    assert_eq!(size.area(), 921_600);
    assert_eq!(size.scaled(2), Size::new(2560, 1440));
    assert_eq!(size.min(Size::new(512, 1024)), Size::new(512, 720));
    assert!(!size.is_empty());
    assert!(Size::new(0, 5).is_empty() && Size::new(5, 0).is_empty());
    assert_eq!(Size::new(usize::MAX, 2).area(), usize::MAX);
    assert_eq!(Size::new(usize::MAX, 1).scaled(3).width, usize::MAX);
}

#[test]
fn rects_have_edges_and_fit_or_not() {
    let r = Rect::new(10, 20, 30, 40);
    assert_eq!((r.right(), r.bottom()), (40, 60));
    assert_eq!(r.size(), Size::new(30, 40));
    assert_eq!(r.to_string(), "30x40 at (10, 20)");
    assert_eq!(Rect::whole(Size::new(64, 48)), Rect::new(0, 0, 64, 48));
    assert_eq!(Rect::from_corners(10, 20, 40, 60), r);
    assert!(Rect::from_corners(10, 20, 5, 60).is_empty());
    assert!(r.fits_in(Size::new(40, 60)));
    assert!(!r.fits_in(Size::new(39, 60)) && !r.fits_in(Size::new(40, 59)));
    // No overflow at the far end of usize.
    assert!(!Rect::new(usize::MAX, 0, 2, 2).fits_in(Size::new(usize::MAX, 4)));
    assert_eq!(Rect::new(usize::MAX, 0, 2, 2).right(), usize::MAX);
    assert_eq!(r.scaled(2), Rect::new(20, 40, 60, 80));
}

#[test]
fn tensor_dims_are_channels_rows_columns() {
    let dims = TensorDims::new(3, Size::new(320, 256));
    assert_eq!((dims.channels, dims.height, dims.width), (3, 256, 320));
    assert_eq!(dims.size(), Size::new(320, 256));
    assert_eq!(dims.value_count(), Some(3 * 256 * 320));
    assert_eq!(
        TensorDims::new(3, Size::new(usize::MAX, 2)).value_count(),
        None
    );
}

#[test]
fn plane_shapes_follow_the_format() {
    let size = Size::new(7, 5);
    let shape = |row_bytes, rows| Some(PlaneShape { row_bytes, rows });
    assert_eq!(
        PixelFormat::I420.plane_shapes(size),
        [shape(7, 5), shape(4, 3), shape(4, 3)]
    );
    assert_eq!(
        PixelFormat::Nv12.plane_shapes(size),
        [shape(7, 5), shape(8, 3), None]
    );
    assert_eq!(
        PixelFormat::Gray8.plane_shapes(size),
        [shape(7, 5), None, None]
    );
    assert_eq!(
        PixelFormat::Rgb.plane_shapes(size),
        [shape(21, 5), None, None]
    );
    assert_eq!(
        PixelFormat::Xbgr.plane_shapes(size),
        [shape(28, 5), None, None]
    );
    for format in PixelFormat::ALL {
        let used = format.plane_shapes(size).iter().flatten().count();
        assert_eq!(used, format.plane_count(), "{format:?}");
        assert_eq!(
            format.packed_layout().is_some(),
            used == 1 && format != PixelFormat::Gray8
        );
    }
}

#[test]
fn plane_checks_name_the_plane_and_the_bytes() {
    let size = Size::new(4, 3);
    let data = vec![0u8; 64];
    // Exactly stride * (rows - 1) + row bytes is enough.
    let frame = FrameView::packed(PixelFormat::Rgb, size, &data[..14 * 2 + 12], 14);
    assert_eq!(frame.check_planes(), Ok(()));
    let short = FrameView::packed(PixelFormat::Rgb, size, &data[..14 * 2 + 11], 14);
    assert_eq!(
        short.check_planes(),
        Err(PlaneError::TooShort {
            plane: 0,
            len: 39,
            needed: 40,
            stride: 14,
            rows: 3
        })
    );
    let narrow = FrameView::packed(PixelFormat::Rgb, size, &data, 11);
    let err = narrow.check_planes().unwrap_err();
    assert_eq!(
        err,
        PlaneError::StrideTooSmall {
            plane: 0,
            stride: 11,
            row_bytes: 12
        }
    );
    assert!(err.to_string().contains("stride"), "{err}");
    let huge = FrameView::packed(PixelFormat::Rgb, size, &data, usize::MAX / 2);
    assert!(matches!(
        huge.check_planes(),
        Err(PlaneError::TooShort {
            needed: usize::MAX,
            ..
        })
    ));
    // I420 without its V plane.
    let i420 = FrameView {
        format: PixelFormat::I420,
        size,
        planes: [&data[..12], &data[..4], &[]],
        strides: [4, 2, 2],
    };
    assert_eq!(
        i420.check_planes(),
        Err(PlaneError::TooShort {
            plane: 2,
            len: 0,
            needed: 2 + 2,
            stride: 2,
            rows: 2
        })
    );
    // A frame without pixels needs no bytes.
    let empty = FrameView::packed(PixelFormat::Rgb, Size::new(0, 3), &[], 0);
    assert_eq!(empty.check_planes(), Ok(()));
}

#[test]
fn a_writable_frame_checks_like_a_view() {
    let mut data = vec![7u8; 2 * 8];
    let frame = FrameMut::packed(PixelFormat::Gray8, Size::new(6, 2), &mut data, 8);
    assert_eq!(frame.check_planes(), Ok(()));
    assert_eq!((frame.size, frame.strides[0]), (Size::new(6, 2), 8));
    let mut short = vec![0u8; 13];
    let frame = FrameMut::packed(PixelFormat::Gray8, Size::new(6, 2), &mut short, 8);
    assert!(matches!(
        frame.check_planes(),
        Err(PlaneError::TooShort { needed: 14, .. })
    ));
}
