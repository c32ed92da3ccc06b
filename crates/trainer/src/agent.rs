//! The policy: a Gaussian actor with a state-independent log-std and a separate critic, each a
//! 64×64 tanh MLP with orthogonal initialization, as CleanRL's `ppo_continuous_action.py`.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};

/// ln(2π).
const LN_2PI: f32 = 1.837_877_1;

/// A linear layer with an orthogonal weight of the given gain and a zero bias.
fn orthogonal_linear(inputs: usize, outputs: usize, gain: f64, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(inputs, outputs)
        .with_initializer(Initializer::Orthogonal { gain })
        .init(device);
    // LinearConfig uses one initializer for weight and bias; orthogonal needs rank 2.
    layer.bias = Some(Initializer::Zeros.init([outputs], device));
    layer
}

/// Two tanh hidden layers and a linear output.
#[derive(Module, Debug)]
pub struct Mlp {
    hidden1: Linear,
    hidden2: Linear,
    output: Linear,
}

impl Mlp {
    fn new(
        inputs: usize,
        hidden: usize,
        outputs: usize,
        output_gain: f64,
        device: &Device,
    ) -> Self {
        let gain = 2f64.sqrt();
        Self {
            hidden1: orthogonal_linear(inputs, hidden, gain, device),
            hidden2: orthogonal_linear(hidden, hidden, gain, device),
            output: orthogonal_linear(hidden, outputs, output_gain, device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = tanh(self.hidden1.forward(x));
        let h = tanh(self.hidden2.forward(h));
        self.output.forward(h)
    }
}

/// tanh as 2·sigmoid(2x) − 1. burn's flex backend evaluates `tanh` with libm's `tanhf`, in
/// the forward pass and again in the backward pass, which took over 40% of a PPO run on
/// HalfCheetah; its sigmoid goes through the much cheaper `expf`.
///
/// burn's autodiff recomputes a sigmoid in its backward pass too, so where `x` is in a graph
/// the value is computed once, outside it, and the graph gets `y + (x − x̄)·(1 − y²)` with
/// `x̄`, `y` and the slope detached: `x − x̄` is exactly 0, so the value is exactly `y`, and
/// the gradient is the slope, with no second `expf`.
fn tanh(x: Tensor<2>) -> Tensor<2> {
    let value = |x: Tensor<2>| sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0);
    if !x.is_tracked() {
        return value(x);
    }
    let fixed = x.clone().detach();
    let y = value(fixed.clone());
    let slope = y.clone().square().neg().add_scalar(1.0);
    y + (x - fixed) * slope
}

/// Actor and critic.
#[derive(Module, Debug)]
pub struct Agent {
    actor: Mlp,
    critic: Mlp,
    log_std: Param<Tensor<1>>,
}

impl Agent {
    /// Hidden layers get gain √2, the actor's output 0.01 and the critic's 1 (CleanRL);
    /// the log-std starts at `init_log_std` (CleanRL: 0). The weights are drawn from `seed`.
    /// burn's initializer draws from one generator per backend, shared by every thread, so
    /// seeding and drawing happen under one lock: two agents made at once (tests, or
    /// trainings in one process) do not interleave their draws.
    pub fn new(
        seed: u64,
        obs_dim: usize,
        act_dim: usize,
        hidden: usize,
        init_log_std: f64,
        device: &Device,
    ) -> Self {
        static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _init = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        device.seed(seed);
        Self {
            actor: Mlp::new(obs_dim, hidden, act_dim, 0.01, device),
            critic: Mlp::new(obs_dim, hidden, 1, 1.0, device),
            log_std: Param::from_tensor(Tensor::full([act_dim], init_log_std, device)),
        }
    }

    /// The critic's value of each observation, `[batch]`.
    pub fn value(&self, obs: Tensor<2>) -> Tensor<1> {
        self.critic.forward(obs).squeeze_dim(1)
    }

    /// The mean action of each observation, `[batch, act_dim]`.
    pub fn action_mean(&self, obs: Tensor<2>) -> Tensor<2> {
        self.actor.forward(obs)
    }

    /// The log-std of the action distribution, `[act_dim]`.
    pub fn log_std(&self) -> Tensor<1> {
        self.log_std.val()
    }

    /// Log-probability of `actions` under the policy at `obs` (`[batch]`) and the entropy of
    /// the action distribution (`[1]`, the same for every observation).
    pub fn log_prob_entropy(&self, obs: Tensor<2>, actions: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
        let mean = self.action_mean(obs);
        let log_std = self.log_std.val().unsqueeze_dim::<2>(0);
        let z = (actions - mean) / log_std.clone().exp();
        let log_prob = (z.square().mul_scalar(-0.5) - log_std.clone() - 0.5 * LN_2PI)
            .sum_dim(1)
            .squeeze_dim::<1>(1);
        let entropy = (log_std + 0.5 * (1.0 + LN_2PI)).sum();
        (log_prob, entropy)
    }
}

/// Every float parameter of a module: its path as a checkpoint names it
/// (`actor.hidden1.weight`) and its shape.
pub(crate) fn param_shapes<M: Module>(module: &M) -> Vec<(String, Vec<usize>)> {
    struct Shapes {
        path: Vec<String>,
        found: Vec<(String, Vec<usize>)>,
    }
    impl ModuleVisitor for Shapes {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.found
                .push((self.path.join("."), param.val().shape().to_vec()));
        }
    }
    let mut shapes = Shapes {
        path: Vec::new(),
        found: Vec::new(),
    };
    module.visit(&mut shapes);
    shapes.found
}

/// Sums the squares of every parameter gradient of a module.
struct SquaredGradientSum<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredGradientSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let squares = grad.square().sum();
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + squares,
                None => squares,
            });
        }
    }
}

/// Multiplies every parameter gradient of a module by one factor.
struct ScaleGradients<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl ModuleVisitor for ScaleGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, grad.mul_scalar(self.factor));
        }
    }
}

/// The L2 norm of all of a module's gradients taken together.
pub fn global_grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f32 {
    let mut visitor = SquaredGradientSum { grads, sum: None };
    module.visit(&mut visitor);
    visitor
        .sum
        .map_or(0.0, |sum| sum.sqrt().into_scalar::<f32>())
}

/// Global-norm clipping: when the norm of all gradients together exceeds `max_norm`, scales
/// every gradient by the same factor so that it equals `max_norm` (burn's own
/// `GradientClippingConfig::Norm` clips each tensor on its own). Returns the norm before.
pub fn clip_grad_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f32) -> f32 {
    let norm = global_grad_norm(module, grads);
    if norm > max_norm {
        module.visit(&mut ScaleGradients {
            grads,
            factor: max_norm / (norm + 1e-6),
        });
    }
    norm
}

/// A `[rows, cols]` tensor from row-major values.
pub fn matrix(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// A `[len]` tensor.
pub fn vector(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let len = values.len();
    Tensor::from_data(TensorData::new(values, [len]), device)
}

/// A tensor's values.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .try_into_vec_as::<f32>()
        .expect("float tensor reads back as f32")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_through_sigmoid_matches_tanh() {
        let xs: Vec<f32> = (-200..=200).map(|i| i as f32 * 0.05).collect();
        let len = xs.len();
        let ys = values(tanh(matrix(xs.clone(), 1, len, &Device::flex())));
        for (x, y) in xs.iter().zip(ys) {
            assert!(
                (y - x.tanh()).abs() < 1e-6,
                "tanh({x}) = {y}, want {}",
                x.tanh()
            );
        }
    }

    #[test]
    fn tracked_tanh_has_the_plain_value_and_the_gradient_of_tanh() {
        let device = Device::flex().autodiff();
        let xs: Vec<f32> = (-80..=80).map(|i| i as f32 * 0.05).collect();
        let len = xs.len();
        let leaf = matrix(xs.clone(), 1, len, &device).require_grad();
        // An intermediate, as the hidden layers' inputs are.
        let x = leaf.clone().mul_scalar(1.0);
        assert!(x.is_tracked());
        let y = tanh(x);
        let plain = values(tanh(matrix(xs.clone(), 1, len, &Device::flex())));
        assert_eq!(
            values(y.clone()),
            plain,
            "the tracked value differs from the plain one"
        );
        let grads = y.sum().backward();
        let slopes = values(leaf.grad(&grads).expect("x has a gradient"));
        for (x, slope) in xs.iter().zip(slopes) {
            let want = 1.0 - x.tanh().powi(2);
            assert!(
                (slope - want).abs() < 1e-6,
                "tanh'({x}) = {slope}, want {want}"
            );
        }
    }
}
