//! The decoder names a user can pick with `decoder=`.

use std::fmt;

/// Which decoder turns a model's outputs into results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecoderKind {
    /// YOLOv8 / YOLO11 (ultralytics): one output `[4+classes, anchors]`, no
    /// objectness.
    Yolov8,
    /// YOLOv5 / YOLOv7: one output `[anchors, 5+classes]` with objectness.
    Yolov5,
    /// SSD: `boxes` and `scores`, or TensorFlow's four post-processed outputs.
    Ssd,
    /// CenterFace face detector: heatmap, scale, offset and landmarks maps.
    Centerface,
    /// Image classification: one vector of class scores.
    Classification,
    /// A feature vector (embedding): the first output, flattened.
    Features,
    /// No decoding.
    None,
}

impl DecoderKind {
    /// Every decoder, in the order they are listed to users.
    pub const ALL: [DecoderKind; 7] = [
        DecoderKind::Yolov8,
        DecoderKind::Yolov5,
        DecoderKind::Ssd,
        DecoderKind::Centerface,
        DecoderKind::Classification,
        DecoderKind::Features,
        DecoderKind::None,
    ];

    /// The name used for `decoder=` and in messages.
    pub fn name(&self) -> &'static str {
        match self {
            DecoderKind::Yolov8 => "yolov8",
            DecoderKind::Yolov5 => "yolov5",
            DecoderKind::Ssd => "ssd",
            DecoderKind::Centerface => "centerface",
            DecoderKind::Classification => "classification",
            DecoderKind::Features => "features",
            DecoderKind::None => "none",
        }
    }

    /// Parses a `decoder=` value, ignoring ASCII case. Besides the names from
    /// [`DecoderKind::name`] it accepts the model families that share a
    /// layout: `yolo11`/`yolov11` (as yolov8) and `yolov7` (as yolov5).
    /// `"auto"` is not a decoder and is left to the caller.
    pub fn from_name(name: &str) -> Option<Self> {
        const ALIASES: [(&str, DecoderKind); 3] = [
            ("yolo11", DecoderKind::Yolov8),
            ("yolov11", DecoderKind::Yolov8),
            ("yolov7", DecoderKind::Yolov5),
        ];
        let by_name = Self::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(name));
        by_name.or_else(|| {
            ALIASES
                .into_iter()
                .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                .map(|(_, kind)| kind)
        })
    }

    /// Whether this decoder produces boxes (use [`super::decode_detections`]).
    pub fn is_detector(&self) -> bool {
        matches!(
            self,
            DecoderKind::Yolov8 | DecoderKind::Yolov5 | DecoderKind::Ssd | DecoderKind::Centerface
        )
    }
}

impl fmt::Display for DecoderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in DecoderKind::ALL {
            assert_eq!(DecoderKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.to_string(), kind.name());
        }
    }

    #[test]
    fn parsing_ignores_case_and_knows_aliases() {
        assert_eq!(DecoderKind::from_name("YOLOv8"), Some(DecoderKind::Yolov8));
        assert_eq!(DecoderKind::from_name("yolo11"), Some(DecoderKind::Yolov8));
        assert_eq!(DecoderKind::from_name("yolov7"), Some(DecoderKind::Yolov5));
        assert_eq!(
            DecoderKind::from_name("CenterFace"),
            Some(DecoderKind::Centerface)
        );
    }

    #[test]
    fn unknown_names_and_auto_are_not_decoders() {
        assert_eq!(DecoderKind::from_name("auto"), None);
        assert_eq!(DecoderKind::from_name(""), None);
        assert_eq!(DecoderKind::from_name("yolov9x"), None);
    }

    #[test]
    fn detectors_are_the_box_decoders() {
        let detectors: Vec<_> = DecoderKind::ALL
            .into_iter()
            .filter(DecoderKind::is_detector)
            .collect();
        assert_eq!(
            detectors,
            [
                DecoderKind::Yolov8,
                DecoderKind::Yolov5,
                DecoderKind::Ssd,
                DecoderKind::Centerface
            ]
        );
    }
}
