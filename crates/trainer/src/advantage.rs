//! Advantage estimates: GAE for PPO (and its per-minibatch normalization), group-relative
//! returns for GRPO.

/// Generalized Advantage Estimation (Schulman et al. 2016) over a rollout of `T` steps of
/// `N` envs, stored step-major (`index = t * N + env`).
///
/// `dones[i]` marks that step `i` ended its episode (terminated or truncated; truncated
/// steps carry the bootstrapped value in their reward already). `next_values` are the
/// critic's values of the observations after the last step. Returns `(advantages, returns)`.
pub fn compute_gae(
    rewards: &[f64],
    values: &[f64],
    dones: &[bool],
    next_values: &[f64],
    gamma: f64,
    lambda: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = next_values.len();
    let t_len = rewards.len() / n;
    let mut advantages = vec![0.0; rewards.len()];
    let mut last = vec![0.0; n];
    for t in (0..t_len).rev() {
        for env in 0..n {
            let i = t * n + env;
            let next_value = if t + 1 == t_len {
                next_values[env]
            } else {
                values[i + n]
            };
            let not_done = if dones[i] { 0.0 } else { 1.0 };
            let delta = rewards[i] + gamma * next_value * not_done - values[i];
            last[env] = delta + gamma * lambda * not_done * last[env];
            advantages[i] = last[env];
        }
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    (advantages, returns)
}

/// GRPO's group-relative advantage of whole episodes: each episode's return minus the group
/// mean, divided by the group standard deviation (DeepSeekMath, Shao et al. 2024). A group
/// whose returns are all equal gets zero advantages.
pub fn group_advantages(returns: &[f64]) -> Vec<f64> {
    let n = returns.len().max(1) as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    returns
        .iter()
        .map(|r| if std > 1e-8 { (r - mean) / std } else { 0.0 })
        .collect()
}

/// Reward-to-go of one episode: `G_t = r_t + r_{t+1} + ...` (undiscounted, as GRPO's
/// process-supervision variant uses).
pub fn rewards_to_go(rewards: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    let mut out: Vec<f64> = rewards
        .iter()
        .rev()
        .map(|r| {
            sum += r;
            sum
        })
        .collect();
    out.reverse();
    out
}

/// GRPO's per-step variant: each step's reward-to-go normalized by the mean and standard
/// deviation of all reward-to-go values in the group.
pub fn group_step_advantages(episodes: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let to_go: Vec<Vec<f64>> = episodes.iter().map(|e| rewards_to_go(e)).collect();
    let all: Vec<f64> = to_go.iter().flatten().copied().collect();
    let normalized = group_advantages(&all);
    let mut at = 0;
    to_go
        .iter()
        .map(|episode| {
            let slice = normalized[at..at + episode.len()].to_vec();
            at += episode.len();
            slice
        })
        .collect()
}

/// PPO's per-minibatch normalization (`norm_adv`): each advantage less the minibatch mean,
/// over the sample standard deviation (plus 1e-8). A minibatch of one is left as it is.
pub fn normalize_minibatch(advantages: &mut [f64]) {
    let m = advantages.len();
    if m < 2 {
        return;
    }
    let mean = advantages.iter().sum::<f64>() / m as f64;
    let std = (advantages.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (m - 1) as f64).sqrt();
    advantages
        .iter_mut()
        .for_each(|a| *a = (*a - mean) / (std + 1e-8));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn gae_matches_hand_computed_values_for_one_env() {
        // gamma 0.5, lambda 0.5, three steps, no episode end, bootstrap value 4.
        let (adv, ret) = compute_gae(
            &[1.0, 2.0, 3.0],
            &[0.5, 1.0, 1.5],
            &[false; 3],
            &[4.0],
            0.5,
            0.5,
        );
        // deltas: 1 + 0.5*1 - 0.5 = 1; 2 + 0.5*1.5 - 1 = 1.75; 3 + 0.5*4 - 1.5 = 3.5
        // advantages: a2 = 3.5; a1 = 1.75 + 0.25*3.5 = 2.625; a0 = 1 + 0.25*2.625 = 1.65625
        assert!(close(&adv, &[1.65625, 2.625, 3.5]), "{adv:?}");
        assert!(close(&ret, &[2.15625, 3.625, 5.0]), "{ret:?}");
    }

    #[test]
    fn gae_stops_at_episode_ends_and_keeps_envs_apart() {
        // Two envs, two steps, step-major. Env 0 ends at t = 0.
        let rewards = [1.0, 10.0, 2.0, 20.0];
        let values = [0.0, 0.0, 0.0, 0.0];
        let dones = [true, false, false, false];
        let (adv, _) = compute_gae(&rewards, &values, &dones, &[3.0, 30.0], 0.9, 1.0);
        // env 0: a1 = 2 + 0.9*3 = 4.7; a0 = 1 (episode ended: no bootstrap, no carry).
        // env 1: a1 = 20 + 0.9*30 = 47; a0 = 10 + 0.9*0 - 0 + 0.9*47 = 52.3.
        assert!(close(&adv, &[1.0, 52.3, 4.7, 47.0]), "{adv:?}");
    }

    #[test]
    fn group_advantages_are_zero_mean_unit_std() {
        let adv = group_advantages(&[1.0, 2.0, 3.0, 6.0]);
        let mean = adv.iter().sum::<f64>() / 4.0;
        let var = adv.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
        // mean 3, std sqrt(3.5): the best episode gets 3 / sqrt(3.5).
        assert!((adv[3] - 3.0 / 3.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(group_advantages(&[2.0, 2.0, 2.0]), vec![0.0; 3]);
    }

    #[test]
    fn rewards_to_go_and_step_advantages() {
        assert_eq!(rewards_to_go(&[1.0, 2.0, 3.0]), vec![6.0, 5.0, 3.0]);
        let adv = group_step_advantages(&[vec![1.0, 1.0], vec![0.0]]);
        // to-go values 2, 1, 0: mean 1, std sqrt(2/3).
        let s = (2.0f64 / 3.0).sqrt();
        assert!(
            close(&adv[0], &[1.0 / s, 0.0]) && close(&adv[1], &[-1.0 / s]),
            "{adv:?}"
        );
    }
}
