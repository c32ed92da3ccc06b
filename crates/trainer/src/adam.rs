//! Adam as burn's [`Adam`] computes it, each parameter's step done in one pass over host
//! memory on the CPU.
//!
//! burn's Adam takes 13 tensor ops per parameter tensor; on a 64×64 network each costs more
//! in dispatch and allocation than in arithmetic, and the agent has 13 parameter tensors, so
//! the optimizer took about as long as the forward and backward passes of a 128-sample
//! minibatch. The state is burn's [`AdamState`], so checkpoints (`optimizer.bpk`) read and
//! write as before.

use crate::agent::{on_cpu, shaped, values};
use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::tensor::{Device, Tensor};

/// Adam's decay rates (burn's and PyTorch's defaults, which CleanRL uses).
const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;

/// Adam with epsilon `epsilon`: on the CPU a host loop per parameter, elsewhere burn's
/// [`Adam`] (reading values back would stall a GPU).
#[derive(Clone)]
pub(crate) struct HostAdam {
    adam: Adam,
    epsilon: f32,
}

impl HostAdam {
    /// The optimizer of a whole module.
    pub fn module_optimizer(epsilon: f32) -> ModuleOptimizer {
        let adam = AdamConfig::new()
            .with_beta_1(BETA_1)
            .with_beta_2(BETA_2)
            .with_epsilon(epsilon)
            .build();
        ModuleOptimizer::from(Self { adam, epsilon })
    }
}

impl Optimizer for HostAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        if !on_cpu(&device) {
            return self.adam.step(lr, tensor, grad, state);
        }
        let shape = tensor.shape();
        let mut weights = values(tensor);
        let grads = values(grad);
        let (time, mut m, mut v) = match state {
            Some(state) => {
                let momentum = state.momentum;
                let (m, v) = (values(momentum.moment_1), values(momentum.moment_2));
                (momentum.time + 1, m, v)
            }
            None => (1, vec![0.0; grads.len()], vec![0.0; grads.len()]),
        };
        adam_step(
            &mut weights,
            &grads,
            &mut m,
            &mut v,
            time,
            lr as f32,
            self.epsilon,
        );
        let tensor = |data: Vec<f32>| -> Tensor<D> { shaped(data, shape.clone(), &device) };
        let momentum = AdaptiveMomentumState::new(time, tensor(m), tensor(v));
        (tensor(weights), Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}

/// One Adam step of `weights` in place at step `time` (from 1), with burn's operations in
/// burn's order: the moments decay, then the weights move by
/// `lr · m · (√(1 − β₂ᵗ) / (1 − β₁ᵗ)) / (√v + ε √(1 − β₂ᵗ))`.
fn adam_step(
    weights: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    time: usize,
    lr: f32,
    epsilon: f32,
) {
    let time = time as i32;
    let bias_correction2_sqrt = (1.0 - BETA_2.powi(time)).sqrt();
    let factor = bias_correction2_sqrt / (1.0 - BETA_1.powi(time));
    let epsilon = epsilon * bias_correction2_sqrt;
    for (((w, g), m), v) in weights.iter_mut().zip(grads).zip(m).zip(v) {
        *m = *m * BETA_1 + *g * (1.0 - BETA_1);
        *v = *v * BETA_2 + *g * *g * (1.0 - BETA_2);
        *w -= *m * factor / (v.sqrt() + epsilon) * lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::vector;

    #[test]
    fn host_adam_takes_the_steps_of_burns_adam() {
        let device = Device::flex();
        let epsilon = 1e-5;
        let burn_adam = AdamConfig::new().with_epsilon(epsilon).build();
        let host_adam = HostAdam {
            adam: burn_adam.clone(),
            epsilon,
        };
        let start = vec![0.5, -1.0, 2.0, 0.0, 3.0];
        let (mut ours, mut theirs) = (vector(start.clone(), &device), vector(start, &device));
        let (mut our_state, mut their_state) = (None, None);
        for step in 0..5 {
            let grad = vector(
                vec![0.1 * step as f32, -2.0, 0.0, 1e-3, 40.0 - step as f32],
                &device,
            );
            let lr = 1e-2 * (step + 1) as f64;
            (ours, our_state) = host_adam.step(lr, ours, grad.clone(), our_state);
            (theirs, their_state) = burn_adam.step(lr, theirs, grad, their_state);
        }
        let (ours, theirs) = (values(ours), values(theirs));
        for (a, b) in ours.iter().zip(&theirs) {
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{ours:?} vs {theirs:?}"
            );
        }
        assert_ne!(ours, vec![0.5, -1.0, 2.0, 0.0, 3.0], "the weights moved");
        let (ours, theirs) = (our_state.unwrap().momentum, their_state.unwrap().momentum);
        assert_eq!(ours.time, theirs.time);
        assert_eq!(values(ours.moment_2), values(theirs.moment_2));
    }
}
