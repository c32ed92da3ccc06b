//! Enough stack for an evaluation, wherever it runs.
//!
//! Rhai evaluates, compares, prints and drops values recursively, so the stack an
//! evaluation needs grows with the call and expression depths and with how deeply values
//! nest, which the array and map limits bound. [`Limits::stack_bytes`] estimates it from
//! measurements; [`with_stack`] runs the evaluation on the calling thread when that much is
//! left, and on a helper thread with a stack of that size when it is not (a thread spawned
//! with a small stack, or a main thread under a low `ulimit -s`). Workers that evaluate
//! rewards on every step should be spawned with [`Limits::stack_bytes`] or more so that the
//! fast path is taken.

use crate::Limits;
use std::cell::Cell;

thread_local! {
    /// The lowest usable address of this thread's stack, once known (0: not yet).
    static STACK_LOW: Cell<usize> = const { Cell::new(0) };
}

/// Bytes of stack each level of value nesting takes in the deepest recursive operation
/// (`to_debug` of a nested array), measured at about 1.5 KiB, with room to spare.
const BYTES_PER_NESTED_VALUE: u64 = 2 << 10;
/// Bytes per call level at an expression depth of 64, measured under 32 KiB.
const BYTES_PER_CALL_AT_DEPTH_64: u64 = 64 << 10;
/// Headroom for the host's own frames around an evaluation.
const HEADROOM: u64 = 1 << 20;

impl Limits {
    /// The stack an evaluation under these limits may need, in bytes.
    pub fn stack_bytes(&self) -> usize {
        let nesting = (self.max_array_size + self.max_map_size + 1) * BYTES_PER_NESTED_VALUE;
        let calls =
            self.max_call_depth * BYTES_PER_CALL_AT_DEPTH_64 * self.max_expr_depth.div_ceil(64);
        Limits::size(nesting + calls + HEADROOM)
    }
}

/// The lowest address of the calling thread's stack, from pthreads.
fn stack_low() -> Option<usize> {
    let known = STACK_LOW.with(Cell::get);
    if known != 0 {
        return Some(known);
    }
    // SAFETY: `attr` is initialized by pthread_getattr_np before use and destroyed after;
    // the out-pointers are valid locals.
    let low = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut address: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let status = libc::pthread_attr_getstack(&attr, &mut address, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if status != 0 {
            return None;
        }
        address as usize
    };
    // Stay clear of the guard page.
    let low = low + (64 << 10);
    STACK_LOW.with(|s| s.set(low));
    Some(low)
}

/// Bytes of stack left below the caller's frame, if the platform says.
fn remaining() -> Option<usize> {
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker) as usize;
    stack_low().map(|low| here.saturating_sub(low))
}

/// Runs `f` with at least `bytes` of stack: here if there is that much left, else on a
/// helper thread with a stack of that size.
pub fn with_stack<T: Send>(bytes: usize, f: impl FnOnce() -> T + Send) -> T {
    if remaining().is_some_and(|left| left >= bytes) {
        return f();
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("reward-eval".into())
            .stack_size(bytes)
            .spawn_scoped(scope, f);
        match helper {
            Ok(handle) => match handle.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(error) => panic!("cannot start a thread for a reward evaluation: {error}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_estimate_covers_the_ceilings_within_a_worker_stack() {
        assert!(
            Limits::default().stack_bytes() < 6 << 20,
            "fits a default 8 MiB main thread"
        );
        assert!(Limits::CEILINGS.stack_bytes() <= rl_env::WORKER_STACK_BYTES);
    }

    #[test]
    fn a_small_stack_runs_the_work_on_a_helper_with_enough() {
        let on_small = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| with_stack(8 << 20, || remaining().unwrap() >= 7 << 20))
            .unwrap()
            .join()
            .unwrap();
        assert!(on_small);
    }
}
