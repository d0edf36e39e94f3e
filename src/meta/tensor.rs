//! Embeddings and raw tensors on buffers.
//!
//! A `GstCustomMeta` named [`TENSOR_META_NAME`] whose structure holds the
//! tensor, so C and Python read it without our code:
//!
//! ```text
//! dl-tensor, name=(string)features, kind=(string)features,
//!     shape=(int)< 1280 >, data=(GBytes)<f32 values, native endian>
//! ```
//!
//! From Python: `meta = buf.get_custom_meta("GstDlTensorMeta")`,
//! `s = meta.get_structure()`, then
//! `numpy.frombuffer(s.get_value("data").get_data(), numpy.float32)`.

use gst::glib;
use gst::meta::CustomMeta;

/// Registered name of the custom meta.
pub const TENSOR_META_NAME: &str = "GstDlTensorMeta";
/// Name of the structure inside it.
pub const TENSOR_STRUCTURE_NAME: &str = "dl-tensor";
/// Field naming the ROI (its id) whose crop a tensor was inferred from;
/// absent on a frame's own tensors.
pub const ROI_ID_FIELD: &str = "roi-id";
/// Field naming the `results-name` of the element that inferred an
/// object's tensor, so two models' tensors on one object are told apart.
pub const RESULTS_NAME_FIELD: &str = "results-name";

/// What a tensor on a buffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    /// A feature vector (embedding) for the frame, possibly L2-normalised.
    Features,
    /// A raw model output (`decoder=none`).
    Raw,
}

impl TensorKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Features => "features",
            Self::Raw => "tensor",
        }
    }

    fn from_str(text: &str) -> Self {
        if text == "features" {
            Self::Features
        } else {
            Self::Raw
        }
    }
}

/// A tensor that rides on a buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameTensor {
    /// The model output it came from.
    pub name: String,
    /// Features or raw output.
    pub kind: TensorKind,
    /// Its shape (batch dimension removed).
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// Registers the meta (once per process; the plugin does it at load, and
/// attaching does it too so library users need not).
pub fn register_tensor_meta() {
    super::custom::register_copied_custom_meta(TENSOR_META_NAME);
}

/// A tensor inferred from one object's crop.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectTensor {
    /// The id of the object's ROI.
    pub roi_id: i32,
    /// The `results-name` of the element that inferred it.
    pub results_name: String,
    /// The tensor.
    pub tensor: FrameTensor,
}

/// Attaches a tensor to a buffer.
pub fn attach_tensor(
    buffer: &mut gst::BufferRef,
    tensor: &FrameTensor,
) -> Result<(), glib::BoolError> {
    attach_tensor_with(buffer, tensor, |_| {})
}

/// Attaches a tensor inferred from the crop of the object whose ROI has id
/// `roi_id`, naming the ROI in `roi-id` (as `dltrack` reads embeddings).
pub fn attach_object_tensor(
    buffer: &mut gst::BufferRef,
    tensor: &FrameTensor,
    roi_id: i32,
    results_name: &str,
) -> Result<(), glib::BoolError> {
    attach_tensor_with(buffer, tensor, |structure| {
        structure.set(ROI_ID_FIELD, roi_id);
        structure.set(RESULTS_NAME_FIELD, results_name);
    })
}

fn attach_tensor_with(
    buffer: &mut gst::BufferRef,
    tensor: &FrameTensor,
    extra: impl FnOnce(&mut gst::StructureRef),
) -> Result<(), glib::BoolError> {
    register_tensor_meta();
    let bytes: Vec<u8> = tensor.data.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let shape = gst::Array::new(
        tensor
            .shape
            .iter()
            .map(|&d| i32::try_from(d).unwrap_or(i32::MAX)),
    );
    let mut meta = CustomMeta::add(buffer, TENSOR_META_NAME)?;
    let structure = meta.mut_structure();
    structure.set_name(TENSOR_STRUCTURE_NAME);
    structure.set("name", tensor.name.as_str());
    structure.set("kind", tensor.kind.as_str());
    structure.set("shape", shape);
    structure.set("data", glib::Bytes::from_owned(bytes));
    extra(structure);
    Ok(())
}

/// Reads the frame's own tensors (not those of its objects), in the order
/// attached.
pub fn read_tensors(buffer: &gst::BufferRef) -> Vec<FrameTensor> {
    tensor_structures(buffer)
        .filter(|s| !s.has_field(ROI_ID_FIELD))
        .filter_map(tensor_from_structure)
        .collect()
}

/// Reads the tensors inferred from objects' crops (per-object embeddings),
/// in the order attached.
pub fn read_object_tensors(buffer: &gst::BufferRef) -> Vec<ObjectTensor> {
    tensor_structures(buffer)
        .filter_map(|s| {
            Some(ObjectTensor {
                roi_id: s.get::<i32>(ROI_ID_FIELD).ok()?,
                results_name: s.get::<String>(RESULTS_NAME_FIELD).unwrap_or_default(),
                tensor: tensor_from_structure(s)?,
            })
        })
        .collect()
}

/// The structures of every tensor meta on a buffer. `CustomMeta::from_buffer`
/// finds only the first, and custom metas cannot be iterated by type, so we
/// walk all metas and pick those of our registered API type.
pub fn tensor_structures(buffer: &gst::BufferRef) -> impl Iterator<Item = &gst::StructureRef> {
    register_tensor_meta();
    // gst_meta_register_custom() names the API type "<name>-api".
    let api = glib::Type::from_name(format!("{TENSOR_META_NAME}-api"));
    buffer
        .iter_meta::<gst::Meta>()
        .filter(move |meta| Some(meta.api()) == api)
        .map(|meta| {
            // SAFETY: a meta whose API type is the one `gst_meta_register_custom`
            // registered for TENSOR_META_NAME is a GstCustomMeta, which
            // `CustomMeta` wraps transparently; it lives as long as the buffer.
            let custom = unsafe { &*(meta.as_ptr() as *const CustomMeta) };
            custom.structure()
        })
}

fn tensor_from_structure(structure: &gst::StructureRef) -> Option<FrameTensor> {
    let bytes = structure.get::<glib::Bytes>("data").ok()?;
    let shape = structure.get::<gst::Array>("shape").ok()?;
    let data = bytes
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Some(FrameTensor {
        name: structure.get::<String>("name").unwrap_or_default(),
        kind: TensorKind::from_str(&structure.get::<String>("kind").unwrap_or_default()),
        shape: shape
            .iter()
            .filter_map(|d| d.get::<i32>().ok())
            .map(|d| d.max(0) as usize)
            .collect(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_as_a_structure() {
        gst::init().unwrap();
        let tensor = FrameTensor {
            name: "features".into(),
            kind: TensorKind::Features,
            shape: vec![2, 2],
            data: vec![0.5, -1.0, 2.25, 1e-7],
        };
        let mut buffer = gst::Buffer::new();
        attach_tensor(buffer.get_mut().unwrap(), &tensor).unwrap();
        assert_eq!(read_tensors(&buffer), vec![tensor]);
        // What C and Python see: a structure with the documented fields.
        let meta = CustomMeta::from_buffer(&buffer, TENSOR_META_NAME).unwrap();
        let structure = meta.structure();
        assert_eq!(structure.name(), "dl-tensor");
        assert_eq!(structure.get::<String>("kind").unwrap(), "features");
        assert_eq!(structure.get::<glib::Bytes>("data").unwrap().len(), 16);
    }

    #[test]
    fn object_tensors_name_their_roi_and_stay_apart_from_the_frames() {
        gst::init().unwrap();
        let tensor = |v: f32| FrameTensor {
            name: "features".into(),
            kind: TensorKind::Features,
            shape: vec![2],
            data: vec![v, -v],
        };
        let mut buffer = gst::Buffer::new();
        let b = buffer.get_mut().unwrap();
        attach_tensor(b, &tensor(1.0)).unwrap();
        attach_object_tensor(b, &tensor(2.0), 4, "embedding").unwrap();
        attach_object_tensor(b, &tensor(3.0), 7, "embedding").unwrap();
        assert_eq!(read_tensors(&buffer), vec![tensor(1.0)]);
        let objects = read_object_tensors(&buffer);
        let seen: Vec<(i32, &str, f32)> = objects
            .iter()
            .map(|o| (o.roi_id, o.results_name.as_str(), o.tensor.data[0]))
            .collect();
        assert_eq!(seen, vec![(4, "embedding", 2.0), (7, "embedding", 3.0)]);
    }

    #[test]
    fn copies_of_the_buffer_keep_the_tensor() {
        gst::init().unwrap();
        let tensor = FrameTensor {
            name: "out".into(),
            kind: TensorKind::Raw,
            shape: vec![3],
            data: vec![1.0, 2.0, 3.0],
        };
        let mut buffer = gst::Buffer::with_size(8).unwrap();
        attach_tensor(buffer.get_mut().unwrap(), &tensor).unwrap();
        let copy = buffer.copy_deep().unwrap();
        assert_eq!(read_tensors(&copy), vec![tensor]);
    }
}
