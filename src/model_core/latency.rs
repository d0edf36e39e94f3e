//! How long frames wait inside a model element, for the latency query.

/// The most frames a frame waits for before it can leave: the first frame of
/// a batch waits for the rest, (batch-size - 1) inferred frames,
/// inference-interval frames apart, or for batch-size frames that are not
/// inferred, whichever comes first (the batcher runs a partial batch then).
/// Pipelined, a batch in flight is waited for when the next batch is full
/// (every frame inferred) or when the next frame passes without inference:
/// up to one batch or one frame more.
pub fn frames_held(batch_size: u32, interval: u32, pipelined: bool) -> u64 {
    frames_held_in_flight(batch_size, interval, usize::from(pipelined))
}

/// [`frames_held`] with up to `in_flight` batches running at once (a served
/// model's `remote-requests`): each batch in flight holds its frames.
pub fn frames_held_in_flight(batch_size: u32, interval: u32, in_flight: usize) -> u64 {
    let (batch, interval) = (u64::from(batch_size.max(1)), u64::from(interval.max(1)));
    let filling = ((batch - 1) * interval).min(frames_until_uninferred(batch, interval));
    let in_flight = in_flight as u64;
    let held_in_flight = if interval == 1 {
        in_flight * batch
    } else {
        in_flight
    };
    filling + held_in_flight
}

/// How many frames follow an inferred frame until `batch` of them were not
/// inferred, every `interval`th frame being inferred (never, at interval 1).
fn frames_until_uninferred(batch: u64, interval: u64) -> u64 {
    if interval == 1 {
        return u64::MAX;
    }
    // Frame j after the first has j - j / interval frames uninferred.
    (1..)
        .find(|j| j - j / interval >= batch)
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{frames_held, frames_held_in_flight};

    #[test]
    fn latency_counts_the_batch_filling_and_the_batch_in_flight() {
        assert_eq!(frames_held(1, 1, false), 0);
        // Every 30th frame in batches of 4: 4 frames uninferred behind the
        // first run it, not 90 frames waiting for 3 more inferred ones.
        assert_eq!(frames_held(4, 30, false), 4);
        assert_eq!(frames_held(1, 1, true), 1);
        assert_eq!(frames_held(8, 1, true), 15);
        assert_eq!(frames_held(1, 30, true), 1);
        assert_eq!(frames_held(4, 30, true), 5);
        // Every other frame: the batch fills (6 frames) before 4 uninferred
        // wait; every 3rd frame in 8s: frame 11 has 8 uninferred before it.
        assert_eq!(frames_held(4, 2, false), 6);
        assert_eq!(frames_held(8, 3, false), 11);
        // Served models: every batch in flight counts.
        assert_eq!(frames_held_in_flight(1, 1, 4), 4);
        assert_eq!(frames_held_in_flight(2, 1, 3), 7);
        assert_eq!(frames_held_in_flight(1, 30, 2), 2);
    }
}
