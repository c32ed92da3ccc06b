//! The last line of defence: a panic inside Rhai or a helper while compiling or evaluating a
//! program becomes an error for that program instead of taking the process down.
//!
//! Every known panic is guarded where it starts (NaN bounds, sorts, positions); this catches
//! the ones nobody has found yet. While a contained call runs, the panic hook stays quiet on
//! that thread and keeps the message, so the host prints one clear error, not a backtrace.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Puts a hook in front of the current panic hook: quiet inside [`contained`], the previous
/// hook everywhere else.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CONTAINING.with(Cell::get) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                MESSAGE.with(|m| *m.borrow_mut() = Some(format!("{message}{place}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it comes back as `Err` with the panic's message.
pub fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    MESSAGE.with(|m| m.borrow_mut().take());
    let outer = CONTAINING.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(outer));
    result.map_err(|_| {
        MESSAGE
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

#[cfg(test)]
mod tests {
    use super::contained;

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let result: Result<(), String> = contained(|| panic!("boom {}", 7));
        let message = result.unwrap_err();
        assert!(message.starts_with("boom 7"), "{message}");
        assert_eq!(contained(|| 5), Ok(5));
    }
}
