//! The glue between GStreamer video frames and the library's plain frame
//! views: which formats map to which [`PixelFormat`], and borrowing a mapped
//! frame's planes and strides. Every element reads frames through these.

use gst_video::VideoFormat;
use gst_video::VideoFrameExt;

use crate::frame::{FrameMut, FrameView, PixelFormat, Size};

/// Every raw format the library reads and draws on, GStreamer's name first.
pub const FORMATS: [(VideoFormat, PixelFormat); 13] = [
    (VideoFormat::Rgb, PixelFormat::Rgb),
    (VideoFormat::Bgr, PixelFormat::Bgr),
    (VideoFormat::Rgba, PixelFormat::Rgba),
    (VideoFormat::Bgra, PixelFormat::Bgra),
    (VideoFormat::Rgbx, PixelFormat::Rgbx),
    (VideoFormat::Bgrx, PixelFormat::Bgrx),
    (VideoFormat::Xrgb, PixelFormat::Xrgb),
    (VideoFormat::Xbgr, PixelFormat::Xbgr),
    (VideoFormat::Argb, PixelFormat::Argb),
    (VideoFormat::Abgr, PixelFormat::Abgr),
    (VideoFormat::I420, PixelFormat::I420),
    (VideoFormat::Nv12, PixelFormat::Nv12),
    (VideoFormat::Gray8, PixelFormat::Gray8),
];

/// The library's name for a GStreamer format, if it reads it.
pub fn pixel_format(format: VideoFormat) -> Option<PixelFormat> {
    FORMATS.iter().find(|(f, _)| *f == format).map(|(_, p)| *p)
}

/// GStreamer's name for a library format.
pub fn video_format(format: PixelFormat) -> VideoFormat {
    FORMATS
        .iter()
        .find(|(_, p)| *p == format)
        .map_or(VideoFormat::Unknown, |(f, _)| *f)
}

/// GStreamer's names for library formats, in their order.
pub fn video_formats_of(formats: &[PixelFormat]) -> Vec<VideoFormat> {
    formats.iter().map(|&p| video_format(p)).collect()
}

/// The GStreamer formats whose library format passes `keep`, in table order.
pub fn video_formats(keep: impl Fn(PixelFormat) -> bool) -> Vec<VideoFormat> {
    FORMATS
        .iter()
        .filter(|(_, p)| keep(*p))
        .map(|(f, _)| *f)
        .collect()
}

fn frame_size(frame: &impl VideoFrameExt) -> Size {
    Size::new(frame.width() as usize, frame.height() as usize)
}

fn strides(frame: &impl VideoFrameExt) -> [usize; 3] {
    let mut strides = [0usize; 3];
    for (stride, &given) in strides.iter_mut().zip(frame.plane_stride()) {
        *stride = usize::try_from(given).unwrap_or(0);
    }
    strides
}

/// A readable mapped frame as the library reads it.
pub fn frame_view<'a>(
    frame: &'a gst_video::VideoFrameRef<&gst::BufferRef>,
    format: PixelFormat,
) -> FrameView<'a> {
    let mut planes: [&[u8]; 3] = [&[], &[], &[]];
    for (plane, slot) in planes
        .iter_mut()
        .enumerate()
        .take(frame.n_planes() as usize)
    {
        *slot = frame.plane_data(plane as u32).unwrap_or(&[]);
    }
    FrameView {
        format,
        size: frame_size(frame),
        planes,
        strides: strides(frame),
    }
}

/// A writable mapped frame as the library writes it.
pub fn frame_mut<'a>(
    frame: &'a mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    format: PixelFormat,
) -> FrameMut<'a> {
    let size = frame_size(frame);
    let strides = strides(frame);
    let [p0, p1, p2, _] = frame.planes_data_mut();
    FrameMut {
        format,
        size,
        planes: [p0, p1, p2],
        strides,
    }
}

/// The running time (ns) at which a buffer starts, in `segment`.
pub fn running_time_ns(segment: &gst::Segment, buffer: &gst::BufferRef) -> Option<u64> {
    let segment = segment.downcast_ref::<gst::ClockTime>()?;
    segment.to_running_time(buffer.pts()?).map(|t| t.nseconds())
}

/// A QoS event's timestamp (running time, ns) and jitter (ns), if it is one.
pub fn qos_values(event: &gst::EventRef) -> Option<(u64, i64)> {
    match event.view() {
        gst::EventView::Qos(qos) => {
            let (_, _, diff, timestamp) = qos.get();
            timestamp.map(|t| (t.nseconds(), diff))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_format_has_one_gstreamer_name() {
        for format in PixelFormat::ALL {
            assert_eq!(
                FORMATS.iter().filter(|(_, p)| *p == format).count(),
                1,
                "{format:?}"
            );
        }
        assert_eq!(pixel_format(VideoFormat::Nv12), Some(PixelFormat::Nv12));
        assert_eq!(pixel_format(VideoFormat::Yuy2), None);
        assert_eq!(
            video_formats(PixelFormat::is_yuv),
            vec![VideoFormat::I420, VideoFormat::Nv12]
        );
        // The table lists the formats in the library's order, so both orders
        // of preference agree.
        let library_order: Vec<PixelFormat> = FORMATS.iter().map(|(_, p)| *p).collect();
        assert_eq!(library_order, PixelFormat::ALL);
        assert_eq!(
            video_formats_of(&[PixelFormat::Gray8, PixelFormat::Rgb]),
            vec![VideoFormat::Gray8, VideoFormat::Rgb]
        );
        assert_eq!(video_format(PixelFormat::Xbgr), VideoFormat::Xbgr);
    }

    #[test]
    fn views_borrow_planes_and_strides() {
        gst::init().unwrap();
        let info = gst_video::VideoInfo::builder(VideoFormat::I420, 6, 4)
            .build()
            .unwrap();
        let buffer = gst::Buffer::with_size(info.size()).unwrap();
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).unwrap();
        let view = frame_view(&frame, PixelFormat::I420);
        assert_eq!(view.size, Size::new(6, 4));
        assert_eq!(view.strides, [8, 4, 4]);
        assert!(!view.planes[2].is_empty());
    }
}
