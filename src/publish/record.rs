//! The JSON form of one frame's results.
//!
//! ```json
//! {"frame": 42, "pts_ms": 1400.0, "width": 1280, "height": 720,
//!  "classes": [{"cat": "face", "prob": 0.93,
//!               "bbox": {"xmin": 310.0, "ymin": 120.5, "xmax": 402.0, "ymax": 233.0}}],
//!  "embedding": [0.01, -0.2]}
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use super::instance_record::InstanceFields;
use crate::meta::{DetectedObject, FrameClass};

/// A box in frame pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoundingBox {
    /// Left edge.
    pub xmin: f64,
    /// Top edge.
    pub ymin: f64,
    /// Right edge.
    pub xmax: f64,
    /// Bottom edge.
    pub ymax: f64,
}

/// One detected object or frame class, as DeepDetect names them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassEntry {
    /// Class name.
    pub cat: String,
    /// Confidence or probability.
    pub prob: f64,
    /// The object's box; absent for a frame classification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bbox: Option<BoundingBox>,
    /// The object's track id (`dltrack`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// True when the box is `dltrack`'s prediction on a frame not inferred.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub predicted: bool,
    /// Keypoints, mask and rotation of an object, when it has them.
    #[serde(flatten)]
    pub instance: InstanceFields,
    /// Second-stage classes of the object, each list under the
    /// `results-name` of the model that gave it, best first.
    #[serde(flatten)]
    pub results: BTreeMap<String, Vec<ResultClass>>,
    /// The object's embedding (second-stage features), when written inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// The object's embedding's row in the `.npy` file, when written there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_row: Option<u64>,
}

/// One class a second-stage model gave an object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultClass {
    /// Class name.
    pub cat: String,
    /// Confidence or probability.
    pub prob: f64,
}

impl ClassEntry {
    /// Adds an object's classes from the model named `results_name`.
    pub fn add_results(&mut self, results_name: &str, classes: &[FrameClass]) {
        self.results.insert(
            results_name.to_string(),
            classes
                .iter()
                .map(|c| ResultClass {
                    cat: c.label.clone(),
                    prob: c.confidence,
                })
                .collect(),
        );
    }
}

/// A tracker event of the frame (`dltrack`'s line and zone counting).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventEntry {
    /// `line-crossed`, `zone-entered` or `zone-exited`.
    pub kind: String,
    /// The line's or zone's name.
    pub name: String,
    /// The track's id.
    pub id: u64,
    /// `in` or `out`, for line crossings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
}

/// One frame's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameRecord {
    /// Frame number, counted from 0 at the element.
    pub frame: u64,
    /// Presentation time in milliseconds (absent when the buffer has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pts_ms: Option<f64>,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Detected objects (with `bbox`) and frame classes (without), best first.
    pub classes: Vec<ClassEntry>,
    /// The frame's embedding, when written inline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// The embedding's row in the `.npy` file, when written there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_row: Option<u64>,
    /// The frame's tracker events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventEntry>,
}

impl FrameRecord {
    /// A record with the frame's objects and classes.
    pub fn new(
        frame: u64,
        pts_ms: Option<f64>,
        size: (u32, u32),
        objects: &[DetectedObject],
        classes: &[FrameClass],
    ) -> Self {
        let mut entries: Vec<ClassEntry> = objects
            .iter()
            .map(|o| ClassEntry {
                cat: o.label.clone(),
                prob: o.confidence,
                bbox: Some(BoundingBox {
                    xmin: o.x_min,
                    ymin: o.y_min,
                    xmax: o.x_max,
                    ymax: o.y_max,
                }),
                id: None,
                predicted: false,
                instance: InstanceFields::from_details(&o.details),
                results: BTreeMap::new(),
                embedding: None,
                embedding_row: None,
            })
            .collect();
        entries.extend(classes.iter().map(|c| ClassEntry {
            cat: c.label.clone(),
            prob: c.confidence,
            bbox: None,
            id: None,
            predicted: false,
            instance: InstanceFields::default(),
            results: BTreeMap::new(),
            embedding: None,
            embedding_row: None,
        }));
        Self {
            frame,
            pts_ms,
            width: size.0,
            height: size.1,
            classes: entries,
            embedding: None,
            embedding_row: None,
            events: Vec::new(),
        }
    }

    /// Sets the objects' track ids: `tracks[i]` is the (id, predicted) of
    /// the i-th object given to [`FrameRecord::new`], if tracked.
    pub fn set_tracks(&mut self, tracks: &[Option<(u64, bool)>]) {
        for (entry, track) in self.classes.iter_mut().zip(tracks) {
            if let (Some(_), Some((id, predicted))) = (&entry.bbox, track) {
                entry.id = Some(*id);
                entry.predicted = *predicted;
            }
        }
    }

    /// Whether the frame has any result to write.
    pub fn has_results(&self) -> bool {
        !self.classes.is_empty()
            || self.embedding.is_some()
            || self.embedding_row.is_some()
            || !self.events.is_empty()
    }

    /// The record as one line of JSON, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// A line of the embeddings index: which frame (and object) a `.npy` row
/// belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexRow {
    /// Row in the matrix.
    pub row: u64,
    /// Frame number.
    pub frame: u64,
    /// Presentation time in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pts_ms: Option<f64>,
    /// The object's ROI id, for an object's embedding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<i32>,
    /// The object's index in the frame line's `classes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_index: Option<usize>,
}

impl IndexRow {
    /// The row as one line of JSON, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_classes_become_deepdetect_classes() {
        let object = DetectedObject {
            label: "face".into(),
            label_id: 0,
            confidence: 0.93,
            x_min: 310.0,
            y_min: 120.5,
            x_max: 402.0,
            y_max: 233.0,
            details: Default::default(),
        };
        let class = FrameClass {
            label: "espresso".into(),
            label_id: 967,
            confidence: 0.5,
        };
        let mut record = FrameRecord::new(42, Some(1400.0), (1280, 720), &[object], &[class]);
        record.embedding = Some(vec![0.25, -0.5]);
        let value: serde_json::Value = serde_json::from_str(&record.to_line()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"frame": 42, "pts_ms": 1400.0, "width": 1280, "height": 720,
                "classes": [{"cat": "face", "prob": 0.93, "bbox": {"xmin": 310.0, "ymin": 120.5, "xmax": 402.0, "ymax": 233.0}},
                            {"cat": "espresso", "prob": 0.5}],
                "embedding": [0.25, -0.5]})
        );
        assert!(
            record.to_line().ends_with("}\n")
                && !record.to_line()[..record.to_line().len() - 1].contains('\n')
        );
    }

    #[test]
    fn tracked_objects_carry_their_id_and_frames_their_events() {
        let object = DetectedObject {
            label: "car".into(),
            label_id: 2,
            confidence: 0.8,
            x_min: 1.0,
            y_min: 2.0,
            x_max: 3.0,
            y_max: 4.0,

            details: Default::default(),
        };
        let mut record = FrameRecord::new(7, None, (10, 10), &[object.clone(), object], &[]);
        record.set_tracks(&[Some((12, false)), Some((13, true))]);
        record.events.push(EventEntry {
            kind: "line-crossed".into(),
            name: "door".into(),
            id: 12,
            direction: Some("in".into()),
        });
        let value: serde_json::Value = serde_json::from_str(&record.to_line()).unwrap();
        assert_eq!(value["classes"][0]["id"], 12);
        assert!(value["classes"][0].get("predicted").is_none());
        assert_eq!(value["classes"][1]["id"], 13);
        assert_eq!(value["classes"][1]["predicted"], true);
        assert_eq!(
            value["events"],
            serde_json::json!([{"kind": "line-crossed", "name": "door", "id": 12, "direction": "in"}])
        );
        let quiet = FrameRecord::new(0, None, (2, 2), &[], &[]);
        assert!(quiet.to_line().find("events").is_none());
    }

    #[test]
    fn objects_carry_their_second_stage_results_by_name() {
        let object = DetectedObject {
            label: "face".into(),
            label_id: 0,
            confidence: 0.93,
            x_min: 1.0,
            y_min: 2.0,
            x_max: 3.0,
            y_max: 4.0,
            details: Default::default(),
        };
        let mut record = FrameRecord::new(3, None, (10, 10), &[object], &[]);
        let smiling = FrameClass {
            label: "smiling".into(),
            label_id: 1,
            confidence: 0.8,
        };
        record.classes[0].add_results("classification", &[smiling]);
        record.classes[0].embedding_row = Some(17);
        let value: serde_json::Value = serde_json::from_str(&record.to_line()).unwrap();
        assert_eq!(
            value["classes"][0],
            serde_json::json!({"cat": "face", "prob": 0.93,
                "bbox": {"xmin": 1.0, "ymin": 2.0, "xmax": 3.0, "ymax": 4.0},
                "classification": [{"cat": "smiling", "prob": 0.8}], "embedding_row": 17})
        );
        let index = IndexRow {
            row: 17,
            frame: 3,
            pts_ms: None,
            object: Some(4),
            class_index: Some(0),
        };
        assert_eq!(
            index.to_line(),
            "{\"row\":17,\"frame\":3,\"object\":4,\"class_index\":0}\n"
        );
    }

    #[test]
    fn empty_frames_have_no_results() {
        let record = FrameRecord::new(0, None, (2, 2), &[], &[]);
        assert!(!record.has_results());
        assert_eq!(
            record.to_line(),
            "{\"frame\":0,\"width\":2,\"height\":2,\"classes\":[]}\n"
        );
    }
}
