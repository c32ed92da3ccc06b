//! What one evaluation may spend, counted by the host rather than by Rhai.
//!
//! Rhai counts operations per call context, and work done inside callbacks (`map`, `filter`,
//! `sort` comparators, `call`) is not always added back to the caller's count. Its size
//! limits check a value when a function returns it, but not a container grown by index
//! assignment (`m[k] = v`, `a[i] = big`). So every evaluation runs under a [`Budget`] of its
//! own, charged from Rhai's progress callback on every operation wherever it happens:
//!
//! - operations, over the whole evaluation, callbacks included;
//! - time, checked every [`TIME_CHECK_EVERY`] operations on the monotonic clock (a vDSO
//!   read of about 20 ns, where the thread's CPU clock is a system call);
//! - heap bytes allocated and still live on the evaluating thread, counted by
//!   [`CountingAllocator`], this crate's global allocator.
//!
//! Whichever runs out first stops the evaluation with [`Exhausted`] as Rhai's termination
//! token, a Rust type that a script cannot construct or throw.

use crate::Limits;
use std::alloc::{GlobalAlloc, Layout, System};
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
    /// When the evaluation stops.
    deadline: Option<Instant>,
    /// Live heap bytes on this thread allowed above the level at the start.
    memory_ceiling: isize,
    active: bool,
}

const IDLE: Budget = Budget {
    operations_left: 0,
    deadline: None,
    memory_ceiling: 0,
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

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn count(delta: isize) {
    let _ = LIVE_BYTES.try_with(|live| live.set(live.get().wrapping_add(delta)));
}

// SAFETY: every call goes straight to `System`; the counting touches only a const-initialized
// thread-local `Cell` with no destructor, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            count(layout.size() as isize);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
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
/// if `f` panics.
pub fn with_budget<T>(limits: &Limits, f: impl FnOnce() -> T) -> T {
    struct End(Budget);
    impl Drop for End {
        fn drop(&mut self) {
            BUDGET.with(|b| b.set(self.0));
        }
    }
    let budget = Budget {
        operations_left: limits.max_operations,
        deadline: Instant::now().checked_add(Duration::from_millis(limits.max_eval_millis)),
        memory_ceiling: live_bytes()
            .saturating_add(isize::try_from(limits.max_memory_bytes).unwrap_or(isize::MAX)),
        active: true,
    };
    let _end = End(BUDGET.with(|b| b.replace(budget)));
    f()
}

/// Charges one operation; says what ran out, if anything did. Outside [`with_budget`] it
/// charges nothing.
pub fn charge_operation() -> Option<Exhausted> {
    BUDGET.with(|cell| {
        let mut budget = cell.get();
        if !budget.active {
            return None;
        }
        if budget.operations_left == 0 {
            return Some(Exhausted::Operations);
        }
        budget.operations_left -= 1;
        cell.set(budget);
        if live_bytes() > budget.memory_ceiling {
            return Some(Exhausted::Memory);
        }
        if budget.operations_left % TIME_CHECK_EVERY == 0
            && budget.deadline.is_some_and(|d| Instant::now() > d)
        {
            return Some(Exhausted::Time);
        }
        None
    })
}

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
            assert_eq!(charge_operation(), Some(Exhausted::Operations));
        });
        assert_eq!(charge_operation(), None, "no budget outside an evaluation");
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
            assert_eq!(charge_operation(), Some(Exhausted::Memory));
            drop(block);
            assert_eq!(charge_operation(), None);
        });
    }
}
