//! Multi-fidelity evaluation by successive halving. A generation trains every checked
//! candidate to the lowest rung; the best 1/eta of each rung (rounded up, by fitness at that
//! rung) resume from their checkpoints to the next, and the rest stop. Every run is made for
//! the top rung's steps, so a candidate's first rungs are exactly the start of a top-rung run.
//! Which candidates enter a rung follows from the stored results alone, so a resumed run
//! makes the same choices.

use crate::fitness;
use crate::store::{Candidate, Status};
use crate::text::format_count;
use serde::Serialize;

/// The rungs of a run, and how many of each are promoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// Env steps of each rung, lowest first; the last is the run's `steps`.
    pub rung_steps: Vec<u64>,
    /// One in `eta` of a rung's candidates (rounded up) goes on to the next.
    pub eta: u32,
}

impl Schedule {
    /// `rungs` rungs up to `top_steps`, rung k at `top_steps / eta^(rungs - 1 - k)`.
    pub fn new(top_steps: u64, eta: u32, rungs: u32) -> Self {
        let rung_steps = (0..rungs.max(1))
            .map(|k| {
                u64::from(eta)
                    .checked_pow(rungs.max(1) - 1 - k)
                    .map_or(0, |d| top_steps / d.max(1))
            })
            .collect();
        Self { rung_steps, eta }
    }

    /// The top rung's index.
    pub fn top(&self) -> usize {
        self.rung_steps.len() - 1
    }

    /// The top rung's env steps.
    pub fn top_steps(&self) -> u64 {
        self.rung_steps[self.top()]
    }

    /// The step a run trains until at `rung`; `None` at the top, where it runs to its end.
    pub fn until(&self, rung: usize) -> Option<u64> {
        (rung < self.top()).then(|| self.rung_steps[rung])
    }

    /// How many of a rung's `entrants` are promoted to the next.
    pub fn promoted(&self, entrants: usize) -> usize {
        entrants.div_ceil(self.eta.max(1) as usize)
    }

    /// Candidates at each rung when `samples` enter the lowest and none crashes.
    pub fn planned(&self, samples: u64) -> Vec<u64> {
        let mut counts = vec![samples];
        while counts.len() < self.rung_steps.len() {
            let last = counts[counts.len() - 1];
            counts.push(last.div_ceil(u64::from(self.eta.max(1))));
        }
        counts
    }

    /// Env steps that `counts[k]` candidates at each rung k train in all: a candidate costs
    /// its highest rung's steps, since each rung resumes the one below.
    pub fn steps_for(&self, counts: &[u64]) -> u64 {
        let mut below = 0;
        let mut total = 0u64;
        for (count, steps) in counts.iter().zip(&self.rung_steps) {
            total = total.saturating_add(count.saturating_mul(steps - below));
            below = *steps;
        }
        total
    }

    /// Env steps of one generation of `samples` candidates, as planned.
    pub fn generation_steps(&self, samples: u64) -> u64 {
        self.steps_for(&self.planned(samples))
    }

    /// `66,666 / 200,000 / 600,000 env steps (eta 3)`.
    pub fn describe(&self) -> String {
        let steps: Vec<String> = self.rung_steps.iter().map(|s| format_count(*s)).collect();
        format!("{} env steps (eta {})", steps.join(" / "), self.eta)
    }
}

/// Which of one generation's candidates enter each rung, as far as their results decide:
/// rung 0 holds every checked candidate; rung k + 1 is known once every candidate of rung k
/// has finished it, and holds the best [`Schedule::promoted`] of them that have a result
/// there (not crashed in it), by fitness and then tiebreak at rung k (the earlier candidate
/// first on a tie). Each rung is in id order.
pub fn rung_members<'a>(
    candidates: &'a [Candidate],
    schedule: &Schedule,
) -> Vec<Vec<&'a Candidate>> {
    let mut rungs: Vec<Vec<&Candidate>> =
        vec![candidates.iter().filter(|c| c.status.checked()).collect()];
    while rungs.len() < schedule.rung_steps.len() {
        let k = rungs.len() - 1;
        let entrants = &rungs[k];
        if !entrants.iter().all(|c| c.finished_rung(k)) {
            break;
        }
        // Those with a result at rung k: not the ones that crashed in it (one that crashed
        // later, in rung k + 1, was promoted from here and stays so).
        let mut next: Vec<&Candidate> = entrants
            .iter()
            .copied()
            .filter(|c| c.rung_results.len() > k)
            .collect();
        next.sort_by(|a, b| fitness::rank(a.score_at(k), b.score_at(k)).then(a.id.cmp(&b.id)));
        next.truncate(schedule.promoted(entrants.len()));
        next.sort_by_key(|c| c.id);
        rungs.push(next);
    }
    rungs
}

/// Candidates with a fitness, best first: a higher rung first, then by fitness and tiebreak
/// at its rung, then the earlier candidate.
pub fn ranked(candidates: &[Candidate]) -> Vec<&Candidate> {
    let mut ranked: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.status.has_fitness())
        .collect();
    ranked.sort_by(|a, b| {
        b.rung
            .cmp(&a.rung)
            .then(fitness::rank(
                (a.fitness, a.tiebreak),
                (b.fitness, b.tiebreak),
            ))
            .then(a.id.cmp(&b.id))
    });
    ranked
}

/// What the schedule saved against training every candidate to the top rung.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Savings {
    /// Candidates that trained (to any rung, crashed ones included).
    pub candidates: usize,
    /// The env steps they trained.
    pub trained_steps: u64,
    /// candidates × the top rung's steps.
    pub full_steps: u64,
    /// 1 − trained / full.
    pub saved: f64,
}

/// The savings over the candidates that trained; `None` before any did.
pub fn savings(candidates: &[Candidate], top_steps: u64) -> Option<Savings> {
    let trained: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                Status::Trained | Status::Stopped | Status::Crashed
            )
        })
        .collect();
    let full_steps = (trained.len() as u64).saturating_mul(top_steps);
    if full_steps == 0 {
        return None;
    }
    let trained_steps = trained.iter().map(|c| c.steps).sum();
    Some(Savings {
        candidates: trained.len(),
        trained_steps,
        full_steps,
        saved: 1.0 - trained_steps as f64 / full_steps as f64,
    })
}

/// Spearman's rank correlation of the pairs (ties get their mean rank); `None` for fewer
/// than 3 pairs or when either side is constant.
pub fn spearman(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let xs = ranks(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let ys = ranks(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(&ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// 1-based ranks of `values`, ties sharing their mean rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = mean;
        }
        i = j + 1;
    }
    out
}

/// Rung-0 and top-rung fitness of the candidates that reached the top rung with both.
pub fn first_and_top(candidates: &[Candidate], schedule: &Schedule) -> Vec<(f64, f64)> {
    let top = schedule.top();
    candidates
        .iter()
        .filter(|c| c.status == Status::Trained)
        .filter_map(|c| {
            let first = c.score_at(0).0.filter(|f| f.is_finite())?;
            let last = c.score_at(top).0.filter(|f| f.is_finite())?;
            Some((first, last))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RungResult;

    /// A candidate of generation 0 with results at its rungs; `crashed_at` makes it crash
    /// at that rung instead of finishing it.
    fn candidate(id: i64, fitness: &[f64], crashed_at: Option<u32>) -> Candidate {
        let rung_results: Vec<RungResult> = fitness
            .iter()
            .enumerate()
            .map(|(k, f)| RungResult {
                steps: 100 * (k as u64 + 1),
                fitness: Some(*f),
                tiebreak: None,
            })
            .collect();
        let (status, rung) = match crashed_at {
            Some(r) => (Status::Crashed, Some(r)),
            None if fitness.is_empty() => (Status::Pending, None),
            None => (Status::Stopped, Some(fitness.len() as u32 - 1)),
        };
        Candidate {
            id,
            generation: 0,
            sample: id as u32,
            attempt: 0,
            parents: Vec::new(),
            code: Some(String::new()),
            prompt: String::new(),
            reply: String::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
            status,
            error: None,
            fitness: fitness.last().copied(),
            task_measure: None,
            tiebreak: None,
            steps: rung_results.last().map_or(0, |r| r.steps),
            rung,
            rung_results,
            operators: Vec::new(),
            run_dir: None,
            reflection: None,
        }
    }

    fn ids(rung: &[&Candidate]) -> Vec<i64> {
        rung.iter().map(|c| c.id).collect()
    }

    #[test]
    fn rungs_follow_top_divided_by_powers_of_eta() {
        let s = Schedule::new(600_000, 3, 3);
        assert_eq!(s.rung_steps, vec![66_666, 200_000, 600_000]);
        assert_eq!((s.top(), s.top_steps()), (2, 600_000));
        assert_eq!(
            (s.until(0), s.until(1), s.until(2)),
            (Some(66_666), Some(200_000), None)
        );
        assert_eq!(s.planned(8), vec![8, 3, 1]);
        assert_eq!(s.planned(9), vec![9, 3, 1]);
        assert_eq!(s.planned(10), vec![10, 4, 2]);
        assert_eq!(Schedule::new(2048, 4, 2).rung_steps, vec![512, 2048]);
        assert_eq!(Schedule::new(1000, 3, 1).rung_steps, vec![1000]);
        // A divisor past u64 gives an empty rung, which validation refuses.
        assert_eq!(Schedule::new(1000, 100, 11).rung_steps[0], 0);
        assert_eq!(s.describe(), "66,666 / 200,000 / 600,000 env steps (eta 3)");
    }

    #[test]
    fn a_promoted_candidate_costs_its_top_rung_once() {
        let s = Schedule::new(600_000, 3, 3);
        // 8 × 66,666 + 3 × (200,000 − 66,666) + 1 × (600,000 − 200,000).
        assert_eq!(s.generation_steps(8), 533_328 + 400_002 + 400_000);
        assert_eq!(s.steps_for(&[1, 1, 1]), 600_000);
        assert_eq!(s.steps_for(&[2, 0, 0]), 133_332);
        assert_eq!(Schedule::new(1000, 3, 1).generation_steps(4), 4000);
    }

    #[test]
    fn the_best_third_is_promoted_and_a_rung_waits_for_every_entrant() {
        let s = Schedule::new(900, 3, 3);
        // Rung 0 still training (candidate 5 has no result): rung 1 is not decided yet.
        let mut generation = vec![
            candidate(1, &[0.2], None),
            candidate(2, &[0.9], None),
            candidate(3, &[0.5], None),
            candidate(4, &[0.1], None),
            candidate(5, &[], None),
        ];
        assert_eq!(rung_members(&generation, &s).len(), 1);
        assert_eq!(ids(&rung_members(&generation, &s)[0]), vec![1, 2, 3, 4, 5]);
        // All five done: ceil(5 / 3) = 2 promoted, in id order.
        generation[4] = candidate(5, &[0.7], None);
        let rungs = rung_members(&generation, &s);
        assert_eq!(rungs.len(), 2);
        assert_eq!(ids(&rungs[1]), vec![2, 5]);
        // Both finished rung 1: ceil(2 / 3) = 1 goes to the top, by its rung-1 fitness.
        generation[1] = candidate(2, &[0.9, 0.3], None);
        generation[4] = candidate(5, &[0.7, 0.6], None);
        let rungs = rung_members(&generation, &s);
        assert_eq!(rungs.len(), 3);
        assert_eq!(ids(&rungs[2]), vec![5]);
    }

    #[test]
    fn ties_go_to_the_earlier_candidate_and_crashed_ones_are_never_promoted() {
        let s = Schedule::new(900, 3, 2);
        let generation = vec![
            candidate(1, &[0.5], None),
            candidate(2, &[], Some(0)),
            candidate(3, &[0.5], None),
            candidate(4, &[0.5], None),
        ];
        // ceil(4 / 3) = 2 slots; the crash counts as an entrant but takes no slot.
        assert_eq!(ids(&rung_members(&generation, &s)[1]), vec![1, 3]);
        // With every entrant crashed, the next rung is empty.
        let crashed = vec![candidate(1, &[], Some(0)), candidate(2, &[], Some(0))];
        assert!(rung_members(&crashed, &s)[1].is_empty());
        // A candidate that crashed at rung 1 has finished it: the rung is decided.
        let three = Schedule::new(900, 3, 3);
        let generation = vec![
            candidate(1, &[0.9], Some(1)),
            candidate(2, &[0.1], None),
            candidate(3, &[0.2], None),
        ];
        let rungs = rung_members(&generation, &three);
        assert_eq!(ids(&rungs[1]), vec![1]);
        assert!(rungs[2].is_empty());
        // Samples that failed their check do not enter rung 0.
        let mut failed = candidate(9, &[], None);
        failed.status = Status::FailedCheck;
        assert!(rung_members(&[failed], &s)[0].is_empty());
    }

    #[test]
    fn ranking_puts_higher_rungs_first() {
        let mut top = candidate(3, &[0.1, 0.2], None);
        top.status = Status::Trained;
        let generation = vec![
            candidate(1, &[0.9], None),
            top,
            candidate(2, &[0.4, 0.1], None),
            candidate(4, &[0.9], None),
            candidate(5, &[], Some(0)),
        ];
        let order: Vec<i64> = ranked(&generation).iter().map(|c| c.id).collect();
        assert_eq!(order, vec![3, 2, 1, 4]);
    }

    #[test]
    fn savings_compare_the_steps_trained_with_every_candidate_at_the_top() {
        let s = Schedule::new(900, 3, 3);
        let mut top = candidate(1, &[0.1, 0.2, 0.3], None);
        top.status = Status::Trained;
        top.steps = 900;
        let mut crashed = candidate(3, &[], Some(0));
        crashed.steps = 50;
        let generation = vec![top, candidate(2, &[0.0], None), crashed];
        let saved = savings(&generation, s.top_steps()).unwrap();
        // 900 + 100 + 50 of 3 × 900.
        assert_eq!((saved.candidates, saved.trained_steps), (3, 1050));
        assert_eq!(saved.full_steps, 2700);
        assert!((saved.saved - (1.0 - 1050.0 / 2700.0)).abs() < 1e-12);
        assert!(savings(&[candidate(4, &[], None)], 900).is_none());
    }

    #[test]
    fn spearman_ranks_with_ties_and_needs_three_pairs() {
        let same = [(1.0, 10.0), (2.0, 20.0), (3.0, 35.0)];
        assert_eq!(spearman(&same), Some(1.0));
        let reversed = [(1.0, 3.0), (2.0, 2.0), (3.0, 1.0), (4.0, 0.0)];
        assert_eq!(spearman(&reversed), Some(-1.0));
        // x ranks 1, 2.5, 2.5, 4 and y ranks 1, 2, 3, 4: 4.5 / √(4.5 × 5).
        let tied = [(0.0, 0.0), (1.0, 1.0), (1.0, 2.0), (2.0, 3.0)];
        let rho = spearman(&tied).unwrap();
        assert!((rho - 4.5 / (4.5f64 * 5.0).sqrt()).abs() < 1e-12, "{rho}");
        assert_eq!(spearman(&same[..2]), None);
        assert_eq!(spearman(&[(1.0, 0.0), (1.0, 1.0), (1.0, 2.0)]), None);
    }

    #[test]
    fn the_correlation_pairs_rung_zero_with_the_top_for_candidates_at_the_top() {
        let s = Schedule::new(900, 3, 2);
        let mut top = candidate(1, &[0.1, 0.5], None);
        top.status = Status::Trained;
        let generation = vec![top, candidate(2, &[0.3], None)];
        assert_eq!(first_and_top(&generation, &s), vec![(0.1, 0.5)]);
    }
}
