//! Prompts as minijinja templates. The defaults in `crates/evolve/templates/` are built into
//! the binary; a directory given with `--templates` replaces any of them by file name.

use crate::EvolveError;
use llm::Message;
use minijinja::{Environment, UndefinedBehavior, context};
use std::path::Path;

/// The templates, by file name, with their built-in text.
const DEFAULTS: [(&str, &str); 5] = [
    ("system.j2", include_str!("../templates/system.j2")),
    (
        "environment.j2",
        include_str!("../templates/environment.j2"),
    ),
    ("reflection.j2", include_str!("../templates/reflection.j2")),
    (
        "execution_error.j2",
        include_str!("../templates/execution_error.j2"),
    ),
    ("feedback.j2", include_str!("../templates/feedback.j2")),
];

/// The loaded templates.
pub struct Prompts {
    env: Environment<'static>,
}

impl Prompts {
    /// The built-in templates, each replaced by `dir/<name>` where that file exists. A template
    /// that does not parse is an error naming its file, line and problem.
    pub fn load(dir: Option<&Path>) -> Result<Self, EvolveError> {
        if let Some(dir) = dir
            && !dir.is_dir()
        {
            return Err(EvolveError::Config(format!(
                "--templates {}: not a directory",
                dir.display()
            )));
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, text) in DEFAULTS {
            let (source, origin) = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(path) => {
                    let text = user_files::read_to_string(&path, user_files::Kind::TEMPLATE)
                        .map_err(|e| EvolveError::Config(e.to_string()))?;
                    (text, path.display().to_string())
                }
                None => (text.to_string(), format!("built-in {name}")),
            };
            env.add_template_owned(name, source)
                .map_err(|e| EvolveError::Config(format!("{origin}: {}", template_error(&e))))?;
        }
        Ok(Self { env })
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, EvolveError> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| EvolveError::Config(format!("template {name}: {}", template_error(&e))))
    }

    /// The system message.
    pub fn system(&self) -> Result<Message, EvolveError> {
        Ok(Message::system(self.render("system.j2", context! {})?))
    }

    /// The first user message: the task, its state schema and control, never the success
    /// metric's code.
    pub fn environment(&self, task: &str) -> Result<Message, EvolveError> {
        Ok(Message::user(
            self.render("environment.j2", context! { task })?,
        ))
    }

    /// The reflection on a trained program, for the next generation.
    pub fn reflection(
        &self,
        code: &str,
        reflection: &str,
        parent_fitness: Option<&str>,
    ) -> Result<Message, EvolveError> {
        Ok(Message::user(self.render(
            "reflection.j2",
            context! { code, reflection, parent_fitness },
        )?))
    }

    /// A failed check (or a reply without code), for a retry.
    pub fn execution_error(&self, error: &str) -> Result<Message, EvolveError> {
        Ok(Message::user(
            self.render("execution_error.j2", context! { error })?,
        ))
    }

    /// A person's feedback.
    pub fn feedback(&self, feedback: &str) -> Result<Message, EvolveError> {
        Ok(Message::user(
            self.render("feedback.j2", context! { feedback })?,
        ))
    }
}

fn template_error(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_render() {
        let prompts = Prompts::load(None).unwrap();
        assert!(prompts.system().unwrap().content.contains("[total, #{"));
        let env = prompts.environment("TASK TEXT").unwrap();
        assert!(env.content.contains("TASK TEXT"));
        let r = prompts
            .reflection("let a = 1;", "STATS", Some("0.5"))
            .unwrap();
        assert!(r.content.contains("let a = 1;") && r.content.contains("STATS"));
        assert!(r.content.contains("scored 0.5"));
        let r = prompts.reflection("let a = 1;", "STATS", None).unwrap();
        assert!(!r.content.contains("scored"));
        assert!(
            prompts
                .execution_error("E 1:2")
                .unwrap()
                .content
                .contains("E 1:2")
        );
        assert!(
            prompts
                .feedback("faster")
                .unwrap()
                .content
                .contains("faster")
        );
    }

    #[test]
    fn a_directory_overrides_by_file_name_and_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("rewardgen-prompts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("feedback.j2"), "NOTE: {{ feedback | upper }}").unwrap();
        let prompts = Prompts::load(Some(&dir)).unwrap();
        assert_eq!(prompts.feedback("go").unwrap().content, "NOTE: GO");
        std::fs::write(dir.join("system.j2"), "{% if %}").unwrap();
        let err = Prompts::load(Some(&dir)).err().unwrap().to_string();
        assert!(err.contains("system.j2") && err.contains("line 1"), "{err}");
        std::fs::write(dir.join("system.j2"), "{{ nothing_here }}").unwrap();
        let err = Prompts::load(Some(&dir))
            .unwrap()
            .system()
            .unwrap_err()
            .to_string();
        assert!(err.contains("system.j2"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(Prompts::load(Some(&dir)).is_err());
    }
}
