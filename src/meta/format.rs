//! Which metadata the elements write: the 1.22 ROI metas, GStreamer 1.24's
//! `GstAnalyticsRelationMeta`, or both. Only a build with the `analytics`
//! feature (GStreamer >= 1.24 found at build time) can write analytics metas.

/// The value of the `meta-format` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaFormat {
    /// `GstVideoRegionOfInterestMeta`s only (what GStreamer 1.22 has).
    Roi,
    /// `GstAnalyticsRelationMeta` only.
    Analytics,
    /// Both, one object described by each (the default where available).
    Both,
}

impl Default for MetaFormat {
    fn default() -> Self {
        if cfg!(feature = "analytics") {
            MetaFormat::Both
        } else {
            MetaFormat::Roi
        }
    }
}

impl MetaFormat {
    /// The property's value names.
    pub const NAMES: [&'static str; 3] = ["roi", "analytics", "both"];

    /// Parses a `meta-format` value; a format this build cannot write is an
    /// error that says why and what to do.
    pub fn parse(value: &str) -> Result<Self, String> {
        let format = match value {
            "roi" => MetaFormat::Roi,
            "analytics" => MetaFormat::Analytics,
            "both" => MetaFormat::Both,
            other => {
                return Err(format!(
                    "unknown meta-format '{other}': use one of {}",
                    Self::NAMES.join(", ")
                ));
            }
        };
        if format.writes_analytics() && !cfg!(feature = "analytics") {
            return Err(format!(
                "meta-format={value} needs GstAnalyticsRelationMeta (GStreamer >= 1.24), but this \
                 gst-dl was built without the `analytics` feature; use meta-format=roi, or rebuild \
                 against GStreamer >= 1.24 (scripts/setup.sh and meson turn the feature on when \
                 pkg-config finds gstreamer-analytics-1.0 >= 1.24)"
            ));
        }
        Ok(format)
    }

    /// The property's value name.
    pub fn name(self) -> &'static str {
        match self {
            MetaFormat::Roi => "roi",
            MetaFormat::Analytics => "analytics",
            MetaFormat::Both => "both",
        }
    }

    /// Whether ROI metas are written.
    pub fn writes_roi(self) -> bool {
        matches!(self, MetaFormat::Roi | MetaFormat::Both)
    }

    /// Whether an analytics relation meta is written.
    pub fn writes_analytics(self) -> bool {
        matches!(self, MetaFormat::Analytics | MetaFormat::Both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        assert_eq!(MetaFormat::parse("roi"), Ok(MetaFormat::Roi));
        assert_eq!(MetaFormat::Roi.name(), "roi");
        let err = MetaFormat::parse("json").unwrap_err();
        assert!(err.contains("unknown meta-format 'json'") && err.contains("roi, analytics, both"));
    }

    #[cfg(not(feature = "analytics"))]
    #[test]
    fn without_the_feature_only_roi_is_written_and_analytics_is_refused() {
        assert_eq!(MetaFormat::default(), MetaFormat::Roi);
        for name in ["analytics", "both"] {
            let err = MetaFormat::parse(name).unwrap_err();
            assert!(err.contains("without the `analytics` feature"), "{err}");
            assert!(err.contains("meta-format=roi"), "{err}");
        }
    }

    #[cfg(feature = "analytics")]
    #[test]
    fn with_the_feature_both_is_the_default() {
        assert_eq!(MetaFormat::default(), MetaFormat::Both);
        assert_eq!(MetaFormat::parse("analytics"), Ok(MetaFormat::Analytics));
        assert!(MetaFormat::Both.writes_roi() && MetaFormat::Both.writes_analytics());
        assert!(!MetaFormat::Analytics.writes_roi());
    }
}
