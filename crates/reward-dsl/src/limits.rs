use serde::{Deserialize, Serialize};

/// The sandbox's bounds. A script that crosses one fails that evaluation with a clear error.
///
/// Every limit must be at least 1 and at most its ceiling in [`Limits::CEILINGS`]: Rhai
/// reads 0 as "unlimited", and depths past the ceilings could overflow the evaluating
/// thread's stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Rhai operations per evaluation, callbacks included (a typical reward takes a few
    /// hundred).
    pub max_operations: u64,
    /// Milliseconds per evaluation: wall-clock, then as much CPU time of the thread again
    /// (see `budget`; a typical reward takes a few microseconds).
    pub max_eval_millis: u64,
    /// Heap bytes an evaluation may hold at once, whatever it builds.
    pub max_memory_bytes: u64,
    /// Depth of nested function calls.
    pub max_call_depth: u64,
    /// Depth of nested expressions, at top level and inside functions.
    pub max_expr_depth: u64,
    /// Characters in one string.
    pub max_string_size: u64,
    /// Elements in one array.
    pub max_array_size: u64,
    /// Entries in one object map.
    pub max_map_size: u64,
    /// Variables alive at once.
    pub max_variables: u64,
    /// Functions a script may define.
    pub max_functions: u64,
    /// Bytes of source.
    pub max_source_bytes: u64,
    /// Named components a program may return.
    pub max_components: u64,
    /// Characters in a component's name.
    pub max_component_name: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 50_000,
            max_eval_millis: 50,
            max_memory_bytes: 64 << 20,
            max_call_depth: 16,
            max_expr_depth: 64,
            max_string_size: 4096,
            max_array_size: 1024,
            max_map_size: 256,
            max_variables: 256,
            max_functions: 64,
            max_source_bytes: 64 * 1024,
            max_components: 32,
            max_component_name: 64,
        }
    }
}

impl Limits {
    /// The largest value each limit may take.
    pub const CEILINGS: Limits = Limits {
        max_operations: 10_000_000,
        max_eval_millis: 10_000,
        max_memory_bytes: 256 << 20,
        max_call_depth: 64,
        max_expr_depth: 128,
        max_string_size: 1 << 20,
        max_array_size: 2048,
        max_map_size: 4096,
        max_variables: 1 << 16,
        max_functions: 4096,
        max_source_bytes: 128 << 10,
        max_components: 256,
        max_component_name: 256,
    };

    /// Each limit with its name, in the order of the docs' table.
    pub fn entries(&self) -> [(&'static str, u64); 13] {
        [
            ("max_operations", self.max_operations),
            ("max_eval_millis", self.max_eval_millis),
            ("max_memory_bytes", self.max_memory_bytes),
            ("max_call_depth", self.max_call_depth),
            ("max_expr_depth", self.max_expr_depth),
            ("max_string_size", self.max_string_size),
            ("max_array_size", self.max_array_size),
            ("max_map_size", self.max_map_size),
            ("max_variables", self.max_variables),
            ("max_functions", self.max_functions),
            ("max_source_bytes", self.max_source_bytes),
            ("max_components", self.max_components),
            ("max_component_name", self.max_component_name),
        ]
    }

    /// Checks that every limit is between 1 and its ceiling; the error names the first that
    /// is not.
    pub fn validate(&self) -> Result<(), String> {
        for ((name, value), (_, ceiling)) in
            self.entries().into_iter().zip(Self::CEILINGS.entries())
        {
            if value == 0 {
                return Err(format!(
                    "{name} = 0: every sandbox limit must be at least 1 (0 would switch it off)"
                ));
            }
            if value > ceiling {
                return Err(format!(
                    "{name} = {value} is above its ceiling of {ceiling}"
                ));
            }
        }
        Ok(())
    }

    /// The limit as a `usize`, for Rhai's setters (every ceiling fits).
    pub(crate) fn size(value: u64) -> usize {
        usize::try_from(value).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::Limits;

    #[test]
    fn defaults_and_ceilings_are_valid_and_zero_or_too_large_is_refused() {
        assert_eq!(Limits::default().validate(), Ok(()));
        assert_eq!(Limits::CEILINGS.validate(), Ok(()));
        let zero = Limits {
            max_operations: 0,
            ..Limits::default()
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .starts_with("max_operations = 0")
        );
        let deep = Limits {
            max_call_depth: 1000,
            ..Limits::default()
        };
        let message = deep.validate().unwrap_err();
        assert!(
            message.contains("max_call_depth = 1000") && message.contains("64"),
            "{message}"
        );
    }
}
