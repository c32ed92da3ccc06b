//! What one evaluation may spend, counted by the host rather than by Rhai.
//!
//! Rhai counts operations per call context, and work done inside callbacks (`map`, `filter`,
//! `sort` comparators, `call`) is not always added back to the caller's count. Its size
//! limits check a value when a function returns it, but not a container grown by index
//! assignment (`m[k] = v`, `a[i] = big`). So every evaluation runs under a [`Budget`] of its
//! own, charged from Rhai's progress callback on every operation wherever it happens:
//!
//! - operations, over the whole evaluation, callbacks included;
//! - time: the monotonic clock (a vDSO read of about 20 ns) is checked every
//!   [`TIME_CHECK_EVERY`] operations. Once `max_eval_millis` of it have passed, the thread's
//!   own CPU clock (a system call, so read only from then on) decides: the evaluation stops
//!   when it has used that much CPU time again. A thread that the scheduler set aside on a
//!   busy machine (more training processes than cores, a build alongside) is not mistaken
//!   for a slow reward, and a reward that really spins stops after at most twice the limit;
//! - heap bytes allocated and still live on the evaluating thread, counted by
//!   [`CountingAllocator`], this crate's global allocator.
//!
//! Whichever runs out first stops the evaluation with [`Exhausted`] as Rhai's termination
//! token, a Rust type that a script cannot construct or throw. It stops at the operation
//! after the one that ran the budget out: Rhai gives an indexing step (`m[k]`) no source
//! position, and a limit reached there would be reported nowhere, while the next operation
//! (the statement or expression that follows) has one. One operation more is at most one
//! more value copied, so memory stays within twice the limit. Where that one has no position
//! either (`a[i][j]`), [`replay_until`] runs the evaluation again to stop at an earlier
//! operation that has one.

use crate::Limits;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Operations between two reads of the clock.
pub const TIME_CHECK_EVERY: u64 = 16;

/// The resource an evaluation ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    Operations,
    Time,
    Memory,
}

#[derive(Clone, Copy)]
struct Budget {
    operations_left: u64,
    /// When the clocks are next looked at: the wall-clock limit, then when the CPU time left
    /// would run out if the thread ran without pause.
    deadline: Option<Instant>,
    /// The time limit.
    time_limit: Duration,
    /// The thread's CPU time when the wall-clock limit passed.
    cpu_at_limit: Option<Duration>,
    /// Live heap bytes on this thread allowed above the level at the start.
    memory_ceiling: isize,
    /// What ran out, found at an earlier operation: the evaluation stops at this one.
    exhausted: Option<Exhausted>,
    /// Operations charged so far.
    charged: u64,
    /// The operation a replay stops at ([`replay_until`]).
    stop_at: u64,
    active: bool,
}

const IDLE: Budget = Budget {
    operations_left: 0,
    deadline: None,
    time_limit: Duration::ZERO,
    cpu_at_limit: None,
    memory_ceiling: 0,
    exhausted: None,
    charged: 0,
    stop_at: u64::MAX,
    active: false,
};

thread_local! {
    static BUDGET: Cell<Budget> = const { Cell::new(IDLE) };
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

/// The system allocator, keeping a per-thread count of live bytes for [`Budget`]'s memory
/// limit. Installed as the global allocator of every program that links this crate.
pub struct CountingAllocator;

/// The allocator underneath the count: mimalloc, because glibc's malloc and free were about
/// 10% of a franka-push training step (burn allocates every tensor an op makes, Rhai every
/// value); with it `train_throughput` went from 2.16× to 2.28× (docs/benchmarks.md).
static UNDERLYING: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn count(delta: isize) {
    let _ = LIVE_BYTES.try_with(|live| live.set(live.get().wrapping_add(delta)));
}

// SAFETY: every call goes straight to `UNDERLYING`; the counting touches only a const-initialized
// thread-local `Cell` with no destructor, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { UNDERLYING.alloc(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { UNDERLYING.alloc_zeroed(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { UNDERLYING.dealloc(pointer, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { UNDERLYING.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        moved
    }
}

fn live_bytes() -> isize {
    LIVE_BYTES.with(Cell::get)
}

/// Runs `f` under a fresh budget from `limits` on this thread; the budget ends with it, even
/// if `f` panics. Also returns the operations charged, for [`replay_until`].
pub fn with_budget<T>(limits: &Limits, f: impl FnOnce() -> T) -> (T, u64) {
    run_budgeted(limits, u64::MAX, f)
}

/// Runs `f` again as [`with_budget`] ran it, stopping it at its `operation`th operation
/// (counted from 1) as if its operations had run out there: a deterministic evaluation stops
/// at the same place every time, which gives a limit reached at an operation without a source
/// position the position of one before it.
pub fn replay_until<T>(limits: &Limits, operation: u64, f: impl FnOnce() -> T) -> T {
    run_budgeted(limits, operation, f).0
}

fn run_budgeted<T>(limits: &Limits, stop_at: u64, f: impl FnOnce() -> T) -> (T, u64) {
    struct End(Budget);
    impl Drop for End {
        fn drop(&mut self) {
            BUDGET.with(|b| b.set(self.0));
        }
    }
    let time_limit = Duration::from_millis(limits.max_eval_millis);
    let budget = Budget {
        operations_left: limits.max_operations,
        deadline: Instant::now().checked_add(time_limit),
        time_limit,
        cpu_at_limit: None,
        memory_ceiling: live_bytes()
            .saturating_add(isize::try_from(limits.max_memory_bytes).unwrap_or(isize::MAX)),
        exhausted: None,
        charged: 0,
        stop_at,
        active: true,
    };
    let end = End(BUDGET.with(|b| b.replace(budget)));
    let value = f();
    let charged = BUDGET.with(|b| b.get().charged);
    drop(end);
    (value, charged)
}

/// Charges one operation; says what ran out, if anything did, at the operation after the one
/// that ran it out (see the module's doc), and at every one after that. Outside
/// [`with_budget`] it charges nothing.
pub fn charge_operation() -> Option<Exhausted> {
    BUDGET.with(|cell| {
        let mut budget = cell.get();
        if !budget.active {
            return None;
        }
        budget.charged += 1;
        if budget.charged >= budget.stop_at {
            budget.exhausted.get_or_insert(Exhausted::Operations);
        }
        if budget.exhausted.is_some() {
            cell.set(budget);
            return budget.exhausted;
        }
        budget.exhausted = if budget.operations_left == 0 {
            Some(Exhausted::Operations)
        } else if live_bytes() > budget.memory_ceiling {
            Some(Exhausted::Memory)
        } else if budget.operations_left % TIME_CHECK_EVERY == 0 {
            check_time(&mut budget)
        } else {
            None
        };
        budget.operations_left = budget.operations_left.saturating_sub(1);
        cell.set(budget);
        None
    })
}

/// Past the deadline, counts the thread's CPU time from the wall-clock limit on, and moves the
/// deadline to when the CPU time left would run out.
fn check_time(budget: &mut Budget) -> Option<Exhausted> {
    let now = Instant::now();
    if budget.deadline.is_none_or(|d| now <= d) {
        return None;
    }
    let cpu = thread_cpu_time();
    let used = cpu.saturating_sub(*budget.cpu_at_limit.get_or_insert(cpu));
    match budget.time_limit.checked_sub(used) {
        Some(left) if !left.is_zero() => {
            budget.deadline = now.checked_add(left);
            None
        }
        _ => Some(Exhausted::Time),
    }
}

/// CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid timespec for the call to fill.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
    if status != 0 {
        // No CPU clock: count wall time instead, as if the thread always ran.
        return Instant::now().duration_since(*PROCESS_START.get_or_init(Instant::now));
    }
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

/// A fixed instant for [`thread_cpu_time`]'s fallback.
static PROCESS_START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allocator_counts_live_bytes_on_this_thread() {
        let before = live_bytes();
        let block = vec![0u8; 1 << 20];
        assert!(live_bytes() - before >= 1 << 20);
        drop(block);
        assert!(live_bytes() - before < 1 << 10);
    }

    #[test]
    fn a_budget_runs_out_of_operations_and_ends_with_its_scope() {
        let limits = Limits {
            max_operations: 3,
            ..Limits::default()
        };
        with_budget(&limits, || {
            assert_eq!(charge_operation(), None);
            assert_eq!(charge_operation(), None);
            assert_eq!(charge_operation(), None);
            assert_eq!(
                charge_operation(),
                None,
                "the fourth runs out, reported at the next"
            );
            assert_eq!(charge_operation(), Some(Exhausted::Operations));
            assert_eq!(
                charge_operation(),
                Some(Exhausted::Operations),
                "and stays out"
            );
        });
        assert_eq!(charge_operation(), None, "no budget outside an evaluation");
    }

    #[test]
    fn a_thread_set_aside_by_the_scheduler_is_not_out_of_time_but_a_spinning_one_is() {
        let limits = Limits {
            max_eval_millis: 20,
            max_operations: u64::MAX,
            ..Limits::default()
        };
        with_budget(&limits, || {
            // Asleep, as a descheduled thread would be: wall time passes, CPU time does not.
            std::thread::sleep(Duration::from_millis(60));
            for _ in 0..1000 {
                assert_eq!(charge_operation(), None);
            }
            let start = Instant::now();
            let exhausted = loop {
                if let Some(e) = charge_operation() {
                    break e;
                }
                assert!(start.elapsed() < Duration::from_secs(5), "never ran out");
            };
            assert_eq!(exhausted, Exhausted::Time);
            assert!(
                start.elapsed() >= Duration::from_millis(15),
                "ran out after {:?}, before using its 20 ms of CPU",
                start.elapsed()
            );
        });
    }

    #[test]
    fn a_budget_runs_out_of_memory() {
        let limits = Limits {
            max_memory_bytes: 1 << 20,
            ..Limits::default()
        };
        with_budget(&limits, || {
            assert_eq!(charge_operation(), None);
            let block = vec![1u8; 2 << 20];
            assert_eq!(charge_operation(), None, "found here, reported at the next");
            assert_eq!(charge_operation(), Some(Exhausted::Memory));
            drop(block);
            assert_eq!(charge_operation(), Some(Exhausted::Memory), "once out, out");
        });
    }
}
