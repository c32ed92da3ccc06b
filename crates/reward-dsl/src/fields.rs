//! The state fields a program reads: where each lies in a state ([`FieldTable`]), and the
//! compile-time check of how a program uses `state`, read from Rhai's own AST.

use crate::error::ErrorKind;
use crate::syntax::{BUILTIN_FIELDS, STATE};
use envs::StateField;
use rhai::{AST, ASTFlags, ASTNode, Expr, Position, Stmt};
use std::ops::Range;

/// How a state field appears in a script.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldShape {
    Scalar,
    Vec3,
    Array,
}

/// Where each state field lies in a state's values, and its shape.
#[derive(Debug)]
pub(crate) struct FieldTable {
    fields: Vec<(String, Range<usize>, FieldShape)>,
}

impl FieldTable {
    pub(crate) fn new(schema: &[StateField]) -> Self {
        let mut start = 0;
        let fields = schema
            .iter()
            .map(|field| {
                let range = start..start + field.len();
                start = range.end;
                let shape = match field.shape.as_slice() {
                    [] => FieldShape::Scalar,
                    [3] => FieldShape::Vec3,
                    _ => FieldShape::Array,
                };
                (field.name.clone(), range, shape)
            })
            .collect();
        Self { fields }
    }

    pub(crate) fn names(&self) -> String {
        let mut names: Vec<&str> = self.fields.iter().map(|(n, _, _)| n.as_str()).collect();
        names.extend(BUILTIN_FIELDS);
        names.join(", ")
    }

    /// Number of values in a state.
    pub(crate) fn len(&self) -> usize {
        self.fields.last().map_or(0, |(_, range, _)| range.end)
    }

    /// Where field `name` lies in a state's values, and its shape.
    pub(crate) fn get(&self, name: &str) -> Option<(Range<usize>, FieldShape)> {
        self.fields
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, range, shape)| (range.clone(), *shape))
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        BUILTIN_FIELDS.contains(&name) || self.fields.iter().any(|(n, _, _)| n == name)
    }
}

/// What is wrong with a program's use of `state`, and where.
pub type Violation = (ErrorKind, String, Position);

/// Checks every use of `state` in the program's top level (script functions cannot see it):
/// each must read a field the env has, as `state.<field>`, `state?.<field>` or
/// `state["<field>"]`. Anything else (an unknown field, a computed key, a method call on
/// `state`, passing or assigning it, redeclaring it) is an error here, so a read in a branch
/// the dry run never takes cannot fail later in training.
pub fn check(ast: &AST, table: &FieldTable) -> Result<(), Violation> {
    refuse_currying(ast)?;
    refuse_state_in_functions(ast)?;
    let mut found = None;
    let mut path = Vec::new();
    for stmt in ast.statements() {
        let finished = stmt.walk(
            &mut path,
            &mut |nodes: &[ASTNode]| match visit(nodes, table) {
                Ok(()) => true,
                Err(violation) => {
                    found = Some(violation);
                    false
                }
            },
        );
        if !finished {
            break;
        }
        path.clear();
    }
    found.map_or(Ok(()), Err)
}

/// `curry` is the one way to make a value the size limits cannot see (arguments stored in a
/// function pointer), so it is refused everywhere, function bodies included.
fn refuse_currying(ast: &AST) -> Result<(), Violation> {
    let mut found = None;
    ast.walk(&mut |nodes: &[ASTNode]| {
        let call = match nodes.last() {
            Some(ASTNode::Expr(Expr::FnCall(f, at) | Expr::MethodCall(f, at))) => Some((f, at)),
            Some(ASTNode::Stmt(Stmt::FnCall(f, at))) => Some((f, at)),
            _ => None,
        };
        match call {
            Some((f, at)) if f.name == "curry" => {
                found = Some(*at);
                false
            }
            _ => true,
        }
    });
    match found {
        None => Ok(()),
        Some(at) => Err((
            ErrorKind::Syntax,
            "`curry` is not available in reward programs; pass every argument in the call".into(),
            at,
        )),
    }
}

/// Script functions and anonymous functions run without the caller's variables, so `state`
/// inside one would only fail when called; Rhai's parser accepts it there because the
/// top-level scope has it. Refuse it at compile time, and `state` as a parameter name too.
fn refuse_state_in_functions(ast: &AST) -> Result<(), Violation> {
    let mut found = Position::NONE;
    ast.clone_functions_only()
        .walk(&mut |nodes: &[ASTNode]| match nodes.last() {
            Some(ASTNode::Expr(expr)) if is_state(expr) => {
                found = expr.start_position();
                false
            }
            _ => true,
        });
    if let Some(f) = ast.iter_functions().find(|f| f.params.contains(&STATE)) {
        let name = if f.name.starts_with("anon$") {
            "an anonymous function".to_string()
        } else {
            format!("function `{}`", f.name)
        };
        return Err((
            ErrorKind::Syntax,
            format!(
                "{name} names a parameter `state`, which is the env's state; give the \
                 parameter another name"
            ),
            found,
        ));
    }
    if found.is_none() {
        return Ok(());
    }
    Err((
        ErrorKind::Syntax,
        "functions cannot see `state`: read the fields you need at the top level and pass them \
         as arguments"
            .into(),
        found,
    ))
}

fn is_state(expr: &Expr) -> bool {
    matches!(expr, Expr::Variable(x, ..) if x.1 == STATE)
}

/// The first link of a dot or index chain: `a` in `a.b[c]`, and so the variable an
/// assignment's target starts from.
fn first_link(expr: &Expr) -> &Expr {
    match expr {
        Expr::Dot(x, ..) | Expr::Index(x, ..) => first_link(&x.lhs),
        other => other,
    }
}

fn misuse(position: Position) -> Violation {
    (
        ErrorKind::Syntax,
        "`state` can only be read one field at a time, as `state.<field>`; copy a field into a \
         variable to pass it on"
            .into(),
        position,
    )
}

fn visit(nodes: &[ASTNode], table: &FieldTable) -> Result<(), Violation> {
    match nodes.last() {
        Some(ASTNode::Stmt(Stmt::Var(x, _, position))) if x.0.name == STATE => Err((
            ErrorKind::Syntax,
            "`state` is the env's state; give your variable another name".into(),
            *position,
        )),
        Some(ASTNode::Stmt(Stmt::For(x, position)))
            if x.0.name == STATE || x.1.as_ref().is_some_and(|i| i.name == STATE) =>
        {
            Err((
                ErrorKind::Syntax,
                "`state` is the env's state; give the loop variable another name".into(),
                *position,
            ))
        }
        Some(ASTNode::Stmt(Stmt::TryCatch(x, position))) if is_state(&x.expr) => Err((
            ErrorKind::Syntax,
            "`state` is the env's state; give the caught error another name".into(),
            *position,
        )),
        Some(ASTNode::Stmt(Stmt::Assignment(x))) if is_state(first_link(&x.1.lhs)) => Err((
            ErrorKind::Syntax,
            "`state` is read-only; copy a field into a variable to change it".into(),
            x.1.lhs.start_position(),
        )),
        Some(ASTNode::Expr(expr)) if is_state(expr) => {
            let parent = nodes.len().checked_sub(2).map(|i| &nodes[i]);
            read_of(expr, parent, table)
        }
        _ => Ok(()),
    }
}

/// Checks the use of the `state` variable `expr` inside `parent`.
fn read_of(expr: &Expr, parent: Option<&ASTNode>, table: &FieldTable) -> Result<(), Violation> {
    let position = expr.start_position();
    let (name, at) = match parent {
        Some(ASTNode::Expr(Expr::Dot(x, ..))) if std::ptr::eq(&x.lhs, expr) => {
            match first_link(&x.rhs) {
                Expr::Property(p, at) => (p.2.to_string(), *at),
                Expr::MethodCall(f, at) => {
                    return Err((
                        ErrorKind::Syntax,
                        format!(
                            "`state` has no methods (`state.{}(...)`); read a field, \
                             `state.<field>`, and call the method on it",
                            f.name
                        ),
                        *at,
                    ));
                }
                _ => return Err(misuse(position)),
            }
        }
        Some(ASTNode::Expr(Expr::Index(x, flags, _))) if std::ptr::eq(&x.lhs, expr) => {
            // Without BREAK the chain goes on (`state["a"][0]`) and the key is its first link;
            // with it, the whole right side is the key (`state["a".len()]`).
            let key = if flags.contains(ASTFlags::BREAK) {
                &x.rhs
            } else {
                first_link(&x.rhs)
            };
            match key {
                Expr::StringConstant(s, at) => (s.to_string(), *at),
                _ => {
                    return Err((
                        ErrorKind::Syntax,
                        "index `state` only with a literal field name, `state[\"<field>\"]`, or \
                         read it as `state.<field>`"
                            .into(),
                        x.rhs.start_position(),
                    ));
                }
            }
        }
        _ => return Err(misuse(position)),
    };
    if table.has(&name) {
        Ok(())
    } else {
        Err((
            ErrorKind::UnknownField,
            format!(
                "state has no field '{}'; the fields are: {}",
                crate::error::abbreviate(&name),
                table.names()
            ),
            at,
        ))
    }
}
