//! How long frames wait inside a model element, for the latency query.

/// The most frames a frame waits for before it can leave: the first frame of
/// a batch waits for the rest, (batch-size - 1) inferred frames,
/// inference-interval frames apart. Pipelined, a batch in flight is waited
/// for when the next batch is full (every frame inferred) or when the next
/// frame passes without inference: up to one batch or one frame more.
pub fn frames_held(batch_size: u32, interval: u32, pipelined: bool) -> u64 {
    let (batch, interval) = (u64::from(batch_size.max(1)), u64::from(interval.max(1)));
    let filling = (batch - 1) * interval;
    let in_flight = match (pipelined, interval) {
        (false, _) => 0,
        (true, 1) => batch,
        (true, _) => 1,
    };
    filling + in_flight
}

#[cfg(test)]
mod tests {
    use super::frames_held;

    #[test]
    fn latency_counts_the_batch_filling_and_the_batch_in_flight() {
        assert_eq!(frames_held(1, 1, false), 0);
        assert_eq!(frames_held(4, 30, false), 90);
        assert_eq!(frames_held(1, 1, true), 1);
        assert_eq!(frames_held(8, 1, true), 15);
        assert_eq!(frames_held(1, 30, true), 1);
        assert_eq!(frames_held(4, 30, true), 91);
    }
}
