use serde::{Deserialize, Serialize};

/// The sandbox's bounds. A script that crosses one fails that evaluation with a clear error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Rhai operations per evaluation (a typical reward takes a few hundred).
    pub max_operations: u64,
    /// Depth of nested function calls.
    pub max_call_depth: usize,
    /// Depth of nested expressions, at top level and inside functions.
    pub max_expr_depth: usize,
    /// Characters in one string.
    pub max_string_size: usize,
    /// Elements in one array.
    pub max_array_size: usize,
    /// Entries in one object map.
    pub max_map_size: usize,
    /// Variables alive at once.
    pub max_variables: usize,
    /// Functions a script may define.
    pub max_functions: usize,
    /// Bytes of source.
    pub max_source_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 50_000,
            max_call_depth: 16,
            max_expr_depth: 64,
            max_string_size: 4096,
            max_array_size: 4096,
            max_map_size: 256,
            max_variables: 256,
            max_functions: 64,
            max_source_bytes: 64 * 1024,
        }
    }
}
