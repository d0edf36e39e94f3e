//! Holding frames until a batch is full, in stream order.
//!
//! Frames that are inferred and frames that pass untouched (every Nth frame
//! mode) share one queue, so a frame never overtakes the ones before it: a
//! skipped frame behind a half-full batch waits with it.

use std::collections::VecDeque;

/// A frame waiting in the queue, with whether it goes into the batch.
#[derive(Debug)]
pub struct Queued<T> {
    /// The frame (a buffer, in the element).
    pub frame: T,
    /// Whether this frame is inferred (takes a slot in the batch).
    pub inferred: bool,
}

/// Frames in stream order; `batch_size` inferred frames make a batch.
#[derive(Debug)]
pub struct BatchQueue<T> {
    queue: VecDeque<Queued<T>>,
    batch_size: usize,
    pending_inferred: usize,
}

impl<T> BatchQueue<T> {
    /// An empty queue for batches of `batch_size` (at least 1).
    pub fn new(batch_size: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            batch_size: batch_size.max(1),
            pending_inferred: 0,
        }
    }

    /// Inferred frames that make a batch.
    pub fn capacity(&self) -> usize {
        self.batch_size
    }

    /// Frames in the queue.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no frame waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Inferred frames waiting: also the slot the next inferred frame takes.
    pub fn pending_inferred(&self) -> usize {
        self.pending_inferred
    }

    /// Adds a frame at the back.
    pub fn push(&mut self, frame: T, inferred: bool) {
        self.pending_inferred += usize::from(inferred);
        self.queue.push_back(Queued { frame, inferred });
    }

    /// Whether a full batch waits and should run now.
    pub fn batch_full(&self) -> bool {
        self.pending_inferred >= self.batch_size
    }

    /// Whether the front frames can leave without waiting for inference: the
    /// queue holds no inferred frame.
    pub fn nothing_to_infer(&self) -> bool {
        self.pending_inferred == 0
    }

    /// Takes every queued frame, in order (after their batch ran, or to pass
    /// skipped frames on); the next batch starts empty.
    pub fn drain(&mut self) -> impl Iterator<Item = Queued<T>> + '_ {
        self.pending_inferred = 0;
        self.queue.drain(..)
    }

    /// The queued frames in order.
    pub fn iter(&self) -> impl Iterator<Item = &Queued<T>> {
        self.queue.iter()
    }

    /// Mutable access to the queued frames in order (to attach results).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Queued<T>> {
        self.queue.iter_mut()
    }

    /// Drops everything (flush).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.pending_inferred = 0;
    }
}

/// Whether frame `index` (0-based, counted since start) is inferred with
/// `interval` (run on every Nth frame; 0 and 1 both mean every frame).
pub fn is_inference_frame(index: u64, interval: u32) -> bool {
    index.is_multiple_of(u64::from(interval.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_fills_in_order_with_skipped_frames_between() {
        let mut queue = BatchQueue::new(2);
        for index in 0..5u64 {
            queue.push(index, is_inference_frame(index, 2));
        }
        // Frames 0, 2, 4 are inferred: the batch of 2 was full after frame 2.
        assert!(queue.batch_full());
        let drained: Vec<(u64, bool)> = queue.drain().map(|q| (q.frame, q.inferred)).collect();
        assert_eq!(
            drained,
            vec![(0, true), (1, false), (2, true), (3, false), (4, true)]
        );
        assert!(queue.is_empty() && queue.nothing_to_infer());
    }

    #[test]
    fn skipped_frames_pass_at_once_when_nothing_waits() {
        let mut queue = BatchQueue::new(4);
        queue.push("a", false);
        assert!(queue.nothing_to_infer());
        queue.push("b", true);
        assert!(!queue.nothing_to_infer() && !queue.batch_full());
        assert_eq!(queue.pending_inferred(), 1);
        queue.clear();
        assert!(queue.is_empty() && queue.pending_inferred() == 0);
    }

    #[test]
    fn interval_zero_or_one_infers_every_frame() {
        assert!((0..5).all(|i| is_inference_frame(i, 1) && is_inference_frame(i, 0)));
        let chosen: Vec<u64> = (0..10).filter(|&i| is_inference_frame(i, 3)).collect();
        assert_eq!(chosen, vec![0, 3, 6, 9]);
    }
}
