//! The policy: a Gaussian actor with a state-independent log-std and a separate critic, each a
//! 64×64 tanh MLP with orthogonal initialization, as CleanRL's `ppo_continuous_action.py`.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Shape, Tensor, TensorData};

/// ln(2π).
const LN_2PI: f32 = 1.837_877_1;

/// A linear layer with an orthogonal weight of the given gain and a zero bias.
fn orthogonal_linear(inputs: usize, outputs: usize, gain: f64, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(inputs, outputs)
        .with_initializer(Initializer::Orthogonal { gain })
        .init(device);
    // LinearConfig uses one initializer for weight and bias; orthogonal needs rank 2.
    layer.bias = Some(Initializer::Zeros.init([outputs], device));
    // burn draws a parameter's values when it is first read. Read the weight now, while
    // `Agent::new` holds the generator, not later beside another thread's draws.
    layer.weight = Param::initialized(layer.weight.id, layer.weight.val());
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

/// tanh, computed where the tensor's values are cheapest to reach.
///
/// burn's autodiff graph costs about as much per op as the arithmetic on a 128×64 minibatch,
/// and its flex backend evaluates `tanh` and `sigmoid` with scalar libm calls (and again in
/// the backward pass), which together took over 40% of a PPO update. So on the CPU the
/// values and slopes are computed on the host by [`tanh_and_slope`], and the graph gets
/// `y + (x − x̄)·s` with `x̄`, `y` and the slope `s` constants: `x − x̄` is exactly 0, so the
/// value is exactly `y`, and the gradient is `s`. Elsewhere (wgpu), where reading values
/// back would stall the device, tanh is 2·sigmoid(2x) − 1 in the graph.
fn tanh(x: Tensor<2>) -> Tensor<2> {
    let device = x.device();
    if !on_cpu(&device) {
        return sigmoid(x.mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0);
    }
    let shape = x.shape();
    let fixed = x.clone().detach();
    let mut ys = values(fixed.clone());
    let mut slopes = if x.is_tracked() {
        vec![0.0; ys.len()]
    } else {
        Vec::new()
    };
    tanh_and_slope(&mut ys, &mut slopes);
    let y = shaped(ys, shape.clone(), &device);
    if !x.is_tracked() {
        return y;
    }
    let slope = shaped(slopes, shape, &device);
    y + (x - fixed) * slope
}

/// Whether tensors on `device` live in host memory (burn's flex backend, autodiff or not).
pub(crate) fn on_cpu(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

/// Replaces each value by its tanh, as 1 − 2/(e^{2x} + 1), and writes 1 − tanh² to `slopes`
/// when it is as long (an empty `slopes` is left alone). The loops are branch-free so that
/// they vectorize, 8 lanes wide where the CPU has AVX2; both paths do the same IEEE
/// operations in the same order, so the results are the same on every x86-64 machine.
fn tanh_and_slope(values: &mut [f32], slopes: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just found to have AVX2.
        unsafe { tanh_and_slope_avx2(values, slopes) };
        return;
    }
    tanh_and_slope_loops(values, slopes);
}

/// [`tanh_and_slope_loops`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn tanh_and_slope_avx2(values: &mut [f32], slopes: &mut [f32]) {
    tanh_and_slope_loops(values, slopes);
}

#[inline(always)]
fn tanh_and_slope_loops(values: &mut [f32], slopes: &mut [f32]) {
    for v in values.iter_mut() {
        *v = 1.0 - 2.0 / (exp(2.0 * *v) + 1.0);
    }
    if slopes.len() == values.len() {
        for (s, y) in slopes.iter_mut().zip(values.iter()) {
            *s = 1.0 - y * y;
        }
    }
}

/// e^x in f32 to about 1 ulp, branch-free: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its
/// Taylor series to r⁷ (error under 1e-8), times 2^n built in the exponent bits. Inputs are
/// clamped to [−87, 88], where e^x is a normal f32; NaN stays NaN.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding 1.5·2²³ rounds x·log₂e to the nearest integer n, which then sits in the low
    // bits of the sum: no rounding or conversion instruction (SSE2 has neither packed).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    let biased = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    p * f32::from_bits(biased << 23)
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

/// Sums the squares of every parameter gradient of a module: on the host where the gradients
/// live there (one pass each instead of three tensor ops), on the device elsewhere.
struct SquaredGradientSum<'a> {
    grads: &'a GradientsParams,
    on_host: f64,
    on_device: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredGradientSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return;
        };
        if on_cpu(&grad.device()) {
            self.on_host += values(grad)
                .iter()
                .map(|g| f64::from(*g).powi(2))
                .sum::<f64>();
            return;
        }
        let squares = grad.square().sum();
        self.on_device = Some(match self.on_device.take() {
            Some(sum) => sum + squares,
            None => squares,
        });
    }
}

/// Multiplies every parameter gradient of a module by one factor.
struct ScaleGradients<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl ModuleVisitor for ScaleGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let device = grad.device();
        let scaled = if on_cpu(&device) {
            let shape = grad.shape();
            let mut scaled = values(grad);
            scaled.iter_mut().for_each(|g| *g *= self.factor);
            shaped(scaled, shape, &device)
        } else {
            grad.mul_scalar(self.factor)
        };
        self.grads.register(param.id, scaled);
    }
}

/// The L2 norm of all of a module's gradients taken together.
pub fn global_grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f32 {
    let mut visitor = SquaredGradientSum {
        grads,
        on_host: 0.0,
        on_device: None,
    };
    module.visit(&mut visitor);
    let on_device = visitor
        .on_device
        .map_or(0.0, |sum| f64::from(sum.into_scalar::<f32>()));
    (visitor.on_host + on_device).sqrt() as f32
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

/// A tensor of `shape` from row-major values.
pub(crate) fn shaped<const D: usize>(
    values: Vec<f32>,
    shape: impl Into<Shape>,
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A `[rows, cols]` tensor from row-major values.
pub fn matrix(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    shaped(values, [rows, cols], device)
}

/// A `[len]` tensor.
pub fn vector(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let len = values.len();
    shaped(values, [len], device)
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
    fn an_agents_weights_are_drawn_from_its_seed_when_it_is_made() {
        let device = Device::default();
        let outputs = |agent: &Agent| {
            let obs = matrix(vec![0.3, -0.7, 1.1], 1, 3, &device);
            let mut out = values(agent.action_mean(obs.clone()));
            out.extend(values(agent.value(obs)));
            out
        };
        // Another agent made and read between making an agent and first reading it, as
        // happens when tests or trainings run in parallel threads.
        let first = Agent::new(1, 3, 2, 8, 0.0, &device);
        let other = Agent::new(2, 3, 2, 8, 0.0, &device);
        let other_outputs = outputs(&other);
        let alone = Agent::new(1, 3, 2, 8, 0.0, &device);
        assert_eq!(outputs(&first), outputs(&alone));
        assert_ne!(outputs(&first), other_outputs);
    }

    #[test]
    fn exp_is_within_two_ulps_of_the_f64_exponential() {
        for i in -86_000..=87_000 {
            let x = i as f32 * 1e-3;
            let want = f64::from(x).exp();
            let got = f64::from(exp(x));
            assert!(
                ((got - want) / want).abs() < 2.5e-7,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(-1e4) > 0.0 && exp(1e4).is_finite());
    }

    #[test]
    fn every_tanh_path_gives_the_same_bits_and_slopes_of_tanh() {
        let xs: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 2.5e-3).collect();
        let (mut ys, mut slopes) = (xs.clone(), vec![0.0; xs.len()]);
        tanh_and_slope(&mut ys, &mut slopes);
        let (mut plain, mut plain_slopes) = (xs.clone(), vec![0.0; xs.len()]);
        tanh_and_slope_loops(&mut plain, &mut plain_slopes);
        assert_eq!(ys, plain, "the dispatched and the plain loops differ");
        assert_eq!(slopes, plain_slopes);
        for ((x, y), s) in xs.iter().zip(&ys).zip(&slopes) {
            let want = f64::from(*x).tanh();
            assert!((f64::from(*y) - want).abs() < 2e-7, "tanh({x}) = {y}");
            assert!((f64::from(*s) - (1.0 - want * want)).abs() < 5e-7);
        }
    }

    #[test]
    fn tanh_matches_tanh() {
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
