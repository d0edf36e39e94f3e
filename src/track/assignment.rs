//! Optimal one-to-one assignment of tracks to detections (Hungarian method,
//! shortest augmenting paths, O(n^2 m)) over the pairs that pass a gate.
//!
//! Only gated pairs are candidates, and tracks and detections fall apart
//! into groups that share none (objects far apart never compete), so each
//! group is solved on its own: 1000 objects spread over a frame cost about
//! what 1000 groups of one or two cost, not a 1000 x 1000 problem.

/// A track-detection pair that may be matched, at `cost` (lower is better).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Index of the track.
    pub track: usize,
    /// Index of the detection.
    pub detection: usize,
    /// Cost of matching them: finite, lower is better.
    pub cost: f64,
}

/// Cost standing for "not allowed" inside a group's dense matrix: any
/// assignment that uses it is dropped afterwards.
const FORBIDDEN: f64 = 1e12;

/// The matching of least total cost among `candidates` (pairs with a
/// non-finite cost are ignored), as (track, detection) pairs sorted by track.
/// Maximises the number of matches first, like every Hungarian tracker.
pub fn assign(tracks: usize, detections: usize, candidates: &[Candidate]) -> Vec<(usize, usize)> {
    let usable: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.cost.is_finite() && c.track < tracks && c.detection < detections)
        .collect();
    // Union-find over tracks (0..tracks) and detections (tracks..).
    let mut parent: Vec<usize> = (0..tracks + detections).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for c in &usable {
        let (a, b) = (
            root(&mut parent, c.track),
            root(&mut parent, tracks + c.detection),
        );
        if a != b {
            parent[a] = b;
        }
    }
    let mut groups: std::collections::HashMap<usize, Vec<&Candidate>> = Default::default();
    for c in usable {
        let r = root(&mut parent, c.track);
        groups.entry(r).or_default().push(c);
    }
    let mut matches = Vec::new();
    for group in groups.values() {
        matches.extend(assign_group(group));
    }
    matches.sort_unstable();
    matches
}

/// Solves one connected group densely.
fn assign_group(group: &[&Candidate]) -> Vec<(usize, usize)> {
    let mut rows: Vec<usize> = group.iter().map(|c| c.track).collect();
    let mut cols: Vec<usize> = group.iter().map(|c| c.detection).collect();
    rows.sort_unstable();
    rows.dedup();
    cols.sort_unstable();
    cols.dedup();
    if group.len() == 1 {
        return vec![(rows[0], cols[0])];
    }
    let transpose = rows.len() > cols.len();
    let (n, m) = if transpose {
        (cols.len(), rows.len())
    } else {
        (rows.len(), cols.len())
    };
    let mut cost = vec![FORBIDDEN; n * m];
    for c in group {
        let r = rows.binary_search(&c.track).unwrap_or(0);
        let d = cols.binary_search(&c.detection).unwrap_or(0);
        let (i, j) = if transpose { (d, r) } else { (r, d) };
        cost[i * m + j] = cost[i * m + j].min(c.cost);
    }
    hungarian(n, m, &cost)
        .into_iter()
        .filter(|&(i, j)| cost[i * m + j] < FORBIDDEN)
        .map(|(i, j)| {
            if transpose {
                (rows[j], cols[i])
            } else {
                (rows[i], cols[j])
            }
        })
        .collect()
}

/// Minimum-cost assignment of every one of `n` rows to distinct columns of
/// an `n` x `m` matrix (`n <= m`, row-major `cost`), as (row, column).
fn hungarian(n: usize, m: usize, cost: &[f64]) -> Vec<(usize, usize)> {
    // Potentials u (rows), v (columns); p[j] = row matched to column j (1-based, 0 = none).
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut min_v = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                    if cur < min_v[j] {
                        min_v[j] = cur;
                        way[j] = j0;
                    }
                    if min_v[j] < delta {
                        delta = min_v[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                // Only reachable with NaN costs, which assign() filters out.
                break;
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_v[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    (1..=m)
        .filter(|&j| p[j] != 0)
        .map(|j| (p[j] - 1, j - 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(rows: &[&[f64]]) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (t, row) in rows.iter().enumerate() {
            for (d, &cost) in row.iter().enumerate() {
                if cost.is_finite() {
                    out.push(Candidate {
                        track: t,
                        detection: d,
                        cost,
                    });
                }
            }
        }
        out
    }

    /// Every assignment, by brute force, for checking small cases.
    fn brute_force(rows: &[&[f64]]) -> (usize, f64) {
        fn go(rows: &[&[f64]], i: usize, used: &mut Vec<bool>) -> (usize, f64) {
            if i == rows.len() {
                return (0, 0.0);
            }
            let mut best = go(rows, i + 1, used);
            for j in 0..rows[i].len() {
                if !used[j] && rows[i][j].is_finite() {
                    used[j] = true;
                    let (n, c) = go(rows, i + 1, used);
                    used[j] = false;
                    let cand = (n + 1, c + rows[i][j]);
                    if cand.0 > best.0 || (cand.0 == best.0 && cand.1 < best.1) {
                        best = cand;
                    }
                }
            }
            best
        }
        go(rows, 0, &mut vec![false; rows[0].len()])
    }

    fn total(rows: &[&[f64]], matches: &[(usize, usize)]) -> f64 {
        matches.iter().map(|&(t, d)| rows[t][d]).sum()
    }

    #[test]
    fn finds_the_optimum_where_greedy_fails() {
        // Greedy takes (0,0)=0.1 and leaves (1,1)=0.9; best is 0.2 + 0.2.
        let rows: [&[f64]; 2] = [&[0.1, 0.2], &[0.2, 0.9]];
        let m = assign(2, 2, &dense(&rows));
        assert_eq!(m, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn gated_pairs_are_never_matched() {
        let inf = f64::INFINITY;
        let rows: [&[f64]; 3] = [&[0.5, inf, inf], &[inf, inf, inf], &[0.4, inf, 0.3]];
        assert_eq!(assign(3, 3, &dense(&rows)), vec![(0, 0), (2, 2)]);
        assert!(assign(2, 2, &[]).is_empty());
    }

    #[test]
    fn matches_brute_force_on_pseudo_random_matrices() {
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        for case in 0..300 {
            let (n, m) = (1 + case % 5, 1 + (case / 5) % 6);
            let data: Vec<Vec<f64>> = (0..n)
                .map(|_| {
                    (0..m)
                        .map(|_| {
                            let x = next();
                            if x < 0.3 { f64::INFINITY } else { x }
                        })
                        .collect()
                })
                .collect();
            let rows: Vec<&[f64]> = data.iter().map(|r| r.as_slice()).collect();
            let got = assign(n, m, &dense(&rows));
            let (count, cost) = brute_force(&rows);
            assert_eq!(got.len(), count, "case {case}: {data:?}");
            assert!(
                (total(&rows, &got) - cost).abs() < 1e-9,
                "case {case}: {data:?}"
            );
            let mut tracks: Vec<usize> = got.iter().map(|m| m.0).collect();
            let mut dets: Vec<usize> = got.iter().map(|m| m.1).collect();
            tracks.dedup();
            dets.sort_unstable();
            dets.dedup();
            assert_eq!((tracks.len(), dets.len()), (count, count));
        }
    }

    #[test]
    fn nan_and_out_of_range_candidates_are_ignored() {
        let c = [
            Candidate {
                track: 0,
                detection: 0,
                cost: f64::NAN,
            },
            Candidate {
                track: 5,
                detection: 0,
                cost: 0.1,
            },
            Candidate {
                track: 0,
                detection: 1,
                cost: 0.2,
            },
        ];
        assert_eq!(assign(1, 2, &c), vec![(0, 1)]);
    }
}
