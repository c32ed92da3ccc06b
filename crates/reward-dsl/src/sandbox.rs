//! The engine reward programs run in: only the packages and helpers a reward needs, every
//! evaluation charged to a [`budget`](crate::budget), and the library calls that can panic
//! on odd numbers replaced by ones that cannot.

use crate::Limits;
use crate::budget::{self, Exhausted};
use crate::helpers;
use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicIteratorPackage, BasicMapPackage, BasicMathPackage,
    BasicStringPackage, LogicPackage, Package,
};
use rhai::{
    Array, Dynamic, Engine, EvalAltResult, FLOAT, INT, ImmutableString, Map, NativeCallContext,
    OptimizationLevel, Position,
};
use std::cmp::Ordering;

/// The sandboxed engine: no file, network, module, eval, print or time access; only the
/// packages and helpers a reward needs, under `limits`.
pub fn engine(limits: &Limits) -> Engine {
    let mut engine = Engine::new_raw();
    for package in [
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(package);
    }
    for symbol in ["eval", "print", "debug", "import", "export", "sleep"] {
        engine.disable_symbol(symbol);
    }
    let size = Limits::size;
    engine
        .set_strict_variables(true)
        // The optimizer folds constants at compile time, outside any budget.
        .set_optimization_level(OptimizationLevel::None)
        // One above the budget's, which reports at the operation after the one that ran it
        // out (see `budget`): Rhai's own count, never higher, does not stop first.
        .set_max_operations(limits.max_operations.saturating_add(1))
        .set_max_call_levels(size(limits.max_call_depth))
        .set_max_expr_depths(size(limits.max_expr_depth), size(limits.max_expr_depth))
        .set_max_string_size(size(limits.max_string_size))
        .set_max_array_size(size(limits.max_array_size))
        .set_max_map_size(size(limits.max_map_size))
        .set_max_variables(size(limits.max_variables))
        .set_max_functions(size(limits.max_functions))
        .on_progress(|_| budget::charge_operation().map(Dynamic::from));
    helpers::register(&mut engine);
    register_total_order_sorts(&mut engine);
    register_bounded_formatting(&mut engine);
    engine
}

/// What ran out, when Rhai stopped an evaluation through the budget.
pub fn exhausted(token: &Dynamic) -> Option<Exhausted> {
    token.clone().try_cast::<Exhausted>()
}

/// `sort()` and `sort_desc()` on arrays, in place of Rhai's: floats are in a total order
/// (NaN last), so a NaN never meets the standard library's panic on a
/// comparison that is not a total order.
fn register_total_order_sorts(engine: &mut Engine) {
    engine
        .register_fn("sort", |array: &mut Array| sort(array, false))
        .register_fn("sort_desc", |array: &mut Array| sort(array, true));
}

/// A total order on floats: numbers ascending, then every NaN, whatever its sign bit.
fn nan_last(a: &FLOAT, b: &FLOAT) -> Ordering {
    a.is_nan().cmp(&b.is_nan()).then(a.total_cmp(b))
}

type SortResult = Result<(), Box<EvalAltResult>>;

fn sort(array: &mut Array, descending: bool) -> SortResult {
    fn by<T>(
        array: &mut Array,
        key: impl Fn(&Dynamic) -> Option<T>,
        cmp: impl Fn(&T, &T) -> Ordering,
    ) -> Option<()> {
        let keys = array.iter().map(&key).collect::<Option<Vec<T>>>()?;
        let mut order: Vec<usize> = (0..array.len()).collect();
        order.sort_by(|&a, &b| cmp(&keys[a], &keys[b]));
        let sorted: Array = order
            .into_iter()
            .map(|i| std::mem::take(&mut array[i]))
            .collect();
        *array = sorted;
        Some(())
    }
    let done = by(array, |v| v.as_int().ok(), INT::cmp)
        .or_else(|| by(array, |v| v.as_float().ok(), nan_last))
        .or_else(|| by(array, |v| v.as_bool().ok(), bool::cmp))
        .or_else(|| by(array, |v| v.as_char().ok(), char::cmp))
        .or_else(|| {
            by(
                array,
                |v| v.clone().try_cast::<ImmutableString>(),
                |a, b| a.as_str().cmp(b.as_str()),
            )
        });
    if done.is_none() && !array.is_empty() {
        return Err(
            "sort: the elements must all be integers, all floats, all strings, all chars or all \
             booleans; pass a comparison function to sort anything else"
                .into(),
        );
    }
    if descending {
        array.reverse();
    }
    Ok(())
}

/// `to_string` and `to_debug` of arrays and maps (also what string interpolation and `+` with
/// a string call), in place of Rhai's: Rhai builds the whole text before checking its length,
/// and since strings are shared, an array of 1,000 references to one long string prints to a
/// text 1,000 times longer than anything the size limits saw. These stop at the string limit.
/// `to_json` is not offered: rewards have no use for it.
fn register_bounded_formatting(engine: &mut Engine) {
    for name in ["to_string", "to_debug"] {
        engine
            .register_fn(name, |ctx: NativeCallContext, array: &mut Array| {
                let mut text = BoundedText::new(&ctx);
                text.array(array)?;
                Ok::<_, Box<EvalAltResult>>(text.out)
            })
            .register_fn(name, |ctx: NativeCallContext, map: &mut Map| {
                let mut text = BoundedText::new(&ctx);
                text.map(map)?;
                Ok::<_, Box<EvalAltResult>>(text.out)
            });
    }
    engine.register_fn("to_json", |_: &mut Map| -> Result<(), Box<EvalAltResult>> {
        Err("to_json is not available in reward programs".into())
    });
}

/// Text written up to the engine's string limit, in Rhai's own format (`[1, "a"]`,
/// `#{"k": 1}`), with each scalar printed by its `to_debug`.
struct BoundedText<'a> {
    ctx: &'a NativeCallContext<'a>,
    out: String,
    limit: usize,
}

impl<'a> BoundedText<'a> {
    fn new(ctx: &'a NativeCallContext<'a>) -> Self {
        let limit = match ctx.engine().max_string_size() {
            0 => usize::MAX,
            n => n,
        };
        Self {
            ctx,
            out: String::new(),
            limit,
        }
    }

    fn push(&mut self, text: &str) -> Result<(), Box<EvalAltResult>> {
        if self.out.len() + text.len() > self.limit {
            return Err(EvalAltResult::ErrorDataTooLarge(
                "Length of string".into(),
                Position::NONE,
            )
            .into());
        }
        self.out.push_str(text);
        Ok(())
    }

    fn value(&mut self, value: &mut Dynamic) -> Result<(), Box<EvalAltResult>> {
        if let Some(mut array) = value.write_lock::<Array>() {
            return self.array(&mut array);
        }
        if let Some(mut map) = value.write_lock::<Map>() {
            return self.map(&mut map);
        }
        let printed = self
            .ctx
            .call_native_fn_raw("to_debug", true, &mut [value])?;
        match printed.into_immutable_string() {
            Ok(text) => self.push(&text),
            Err(type_name) => self.push(type_name),
        }
    }

    fn array(&mut self, array: &mut Array) -> Result<(), Box<EvalAltResult>> {
        self.push("[")?;
        for (i, item) in array.iter_mut().enumerate() {
            if i > 0 {
                self.push(", ")?;
            }
            self.value(item)?;
        }
        self.push("]")
    }

    fn map(&mut self, map: &mut Map) -> Result<(), Box<EvalAltResult>> {
        self.push("#{")?;
        for (i, (key, item)) in map.iter_mut().enumerate() {
            if i > 0 {
                self.push(", ")?;
            }
            self.push(&format!("{key:?}: "))?;
            self.value(item)?;
        }
        self.push("}")
    }
}
