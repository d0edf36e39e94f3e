//! Constant-velocity Kalman filter of a box (centre x, centre y, width,
//! height), with ByteTrack's / BoT-SORT's noise model: every standard
//! deviation is a fraction of the box's size, so small and large objects
//! are followed alike.
//!
//! With a process and measurement noise that are diagonal and a transition
//! that couples each coordinate only with its own velocity, the 8-state
//! filter of ByteTrack falls apart into four independent 2-state filters;
//! this is that filter, exactly, without 8x8 matrices.

use super::geometry::{BoxRect, Point};

/// Position noise per unit of size (ByteTrack's `std_weight_position`).
const POSITION_WEIGHT: f64 = 1.0 / 20.0;
/// Velocity noise per unit of size (ByteTrack's `std_weight_velocity`).
const VELOCITY_WEIGHT: f64 = 1.0 / 160.0;
/// Smallest size used to scale noise, so a 0-pixel box does not freeze the
/// filter.
const MIN_SCALE: f64 = 1.0;

/// One coordinate and its velocity, with their covariance.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    position: f64,
    velocity: f64,
    /// Covariance [[pp, pv], [pv, vv]].
    pp: f64,
    pv: f64,
    vv: f64,
}

impl Axis {
    fn new(position: f64, scale: f64) -> Self {
        let (sp, sv) = (
            2.0 * POSITION_WEIGHT * scale,
            10.0 * VELOCITY_WEIGHT * scale,
        );
        Self {
            position,
            velocity: 0.0,
            pp: sp * sp,
            pv: 0.0,
            vv: sv * sv,
        }
    }

    /// One frame ahead: x += v; P = F P F' + Q.
    fn predict(&mut self, scale: f64) {
        let (qp, qv) = (
            (POSITION_WEIGHT * scale).powi(2),
            (VELOCITY_WEIGHT * scale).powi(2),
        );
        self.position += self.velocity;
        let pp = self.pp + 2.0 * self.pv + self.vv + qp;
        let pv = self.pv + self.vv;
        self.pp = pp;
        self.pv = pv;
        self.vv += qv;
    }

    /// Folds in a measured position.
    fn update(&mut self, measured: f64, scale: f64) {
        let r = (POSITION_WEIGHT * scale).powi(2);
        let s = self.pp + r;
        let (kp, kv) = (self.pp / s, self.pv / s);
        let innovation = measured - self.position;
        self.position += kp * innovation;
        self.velocity += kv * innovation;
        let (pp, pv, vv) = (self.pp, self.pv, self.vv);
        self.pp = (1.0 - kp) * pp;
        self.pv = (1.0 - kp) * pv;
        self.vv = vv - kv * pv;
    }

    /// Squared distance of `measured` from the prediction, in standard
    /// deviations (one term of the Mahalanobis distance).
    fn normalized_distance(&self, measured: f64, scale: f64) -> f64 {
        let s = self.pp + (POSITION_WEIGHT * scale).powi(2);
        (measured - self.position).powi(2) / s
    }
}

/// The motion state of one tracked box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxFilter {
    cx: Axis,
    cy: Axis,
    w: Axis,
    h: Axis,
}

impl BoxFilter {
    /// A filter at rest at `rect` (which must be trackable).
    pub fn new(rect: &BoxRect) -> Self {
        let c = rect.center();
        let (sw, sh) = scales(rect.width(), rect.height());
        Self {
            cx: Axis::new(c.x, sw),
            cy: Axis::new(c.y, sh),
            w: Axis::new(rect.width(), sw),
            h: Axis::new(rect.height(), sh),
        }
    }

    /// Advances one frame.
    pub fn predict(&mut self) {
        let (sw, sh) = scales(self.w.position, self.h.position);
        self.cx.predict(sw);
        self.cy.predict(sh);
        self.w.predict(sw);
        self.h.predict(sh);
        // A shrinking box must not turn inside out.
        if self.w.position < MIN_SCALE {
            self.w.position = MIN_SCALE;
            self.w.velocity = self.w.velocity.max(0.0);
        }
        if self.h.position < MIN_SCALE {
            self.h.position = MIN_SCALE;
            self.h.velocity = self.h.velocity.max(0.0);
        }
    }

    /// Folds in a detected box (which must be trackable).
    pub fn update(&mut self, rect: &BoxRect) {
        let c = rect.center();
        let (sw, sh) = scales(rect.width(), rect.height());
        self.cx.update(c.x, sw);
        self.cy.update(c.y, sh);
        self.w.update(rect.width(), sw);
        self.h.update(rect.height(), sh);
    }

    /// Stops the box's motion (a lost track's velocity is a guess that
    /// grows stale).
    pub fn stop(&mut self) {
        for axis in [&mut self.cx, &mut self.cy, &mut self.w, &mut self.h] {
            axis.velocity = 0.0;
        }
    }

    /// Puts the box at `rect` (trackable), at rest: where an object that
    /// left the frame is remembered.
    pub fn hold_at(&mut self, rect: &BoxRect) {
        let c = rect.center();
        for (axis, value) in [
            (&mut self.cx, c.x),
            (&mut self.cy, c.y),
            (&mut self.w, rect.width()),
            (&mut self.h, rect.height()),
        ] {
            axis.position = value;
            axis.velocity = 0.0;
        }
    }

    /// The box the filter expects now.
    pub fn rect(&self) -> BoxRect {
        BoxRect::from_center(
            Point::new(self.cx.position, self.cy.position),
            self.w.position.max(MIN_SCALE),
            self.h.position.max(MIN_SCALE),
        )
    }

    /// Velocity of the centre in pixels per frame.
    pub fn velocity(&self) -> Point {
        Point::new(self.cx.velocity, self.cy.velocity)
    }

    /// Squared Mahalanobis distance of `rect` from the prediction (4 degrees
    /// of freedom: 9.49 is the 95% gate DeepSORT uses).
    pub fn mahalanobis(&self, rect: &BoxRect) -> f64 {
        let c = rect.center();
        let (sw, sh) = scales(self.w.position, self.h.position);
        self.cx.normalized_distance(c.x, sw)
            + self.cy.normalized_distance(c.y, sh)
            + self.w.normalized_distance(rect.width(), sw)
            + self.h.normalized_distance(rect.height(), sh)
    }
}

fn scales(width: f64, height: f64) -> (f64, f64) {
    (width.max(MIN_SCALE), height.max(MIN_SCALE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_constant_velocity() {
        let mut filter = BoxFilter::new(&BoxRect::new(0.0, 0.0, 20.0, 20.0));
        for frame in 1..30 {
            filter.predict();
            let x = 3.0 * f64::from(frame);
            filter.update(&BoxRect::new(x, 0.0, x + 20.0, 20.0));
        }
        assert!(
            (filter.velocity().x - 3.0).abs() < 0.05,
            "{:?}",
            filter.velocity()
        );
        filter.predict();
        let predicted = filter.rect();
        assert!((predicted.x_min - 90.0).abs() < 0.5, "{predicted:?}");
        assert!((predicted.width() - 20.0).abs() < 0.1);
    }

    #[test]
    fn a_still_box_stays_put_and_the_gate_grows_with_distance() {
        let rect = BoxRect::new(100.0, 100.0, 140.0, 180.0);
        let mut filter = BoxFilter::new(&rect);
        for _ in 0..5 {
            filter.predict();
            filter.update(&rect);
        }
        filter.predict();
        assert!((filter.rect().x_min - 100.0).abs() < 1e-6);
        let near = BoxRect::new(101.0, 100.0, 141.0, 180.0);
        let far = BoxRect::new(160.0, 100.0, 200.0, 180.0);
        assert!(filter.mahalanobis(&near) < 9.49);
        assert!(filter.mahalanobis(&far) > 9.49);
    }

    #[test]
    fn predicting_a_shrinking_box_never_inverts_it() {
        let mut filter = BoxFilter::new(&BoxRect::new(0.0, 0.0, 10.0, 10.0));
        filter.predict();
        filter.update(&BoxRect::new(0.0, 0.0, 2.0, 2.0));
        for _ in 0..100 {
            filter.predict();
            assert!(filter.rect().is_trackable(), "{:?}", filter.rect());
        }
    }
}
