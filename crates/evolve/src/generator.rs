//! Generators write reward programs. Three stand behind one trait: a language model over an
//! OpenAI-compatible API, the offline evolutionary search (no language model), and a replay
//! of a stored run's replies.

use crate::store::Store;
use crate::{EvolveError, offline};
use llm::{ChatClient, Message, Usage};
use reward_dsl::{Limits, RewardProgram};
use std::collections::BTreeMap;
use std::path::Path;

/// What a generator is asked for: one attempt at one sample of a generation.
pub struct SampleRequest<'a> {
    pub generation: u32,
    pub sample: u32,
    /// 0 first; a retry after a failed check counts up.
    pub attempt: u32,
    /// The conversation so far: system, task, reflection, errors, feedback.
    pub messages: &'a [Message],
    /// Parent programs, the elite first.
    pub parents: &'a [String],
}

/// A language-model call behind a reply, for the run store.
pub struct CallRecord {
    pub request: String,
    pub response: String,
    pub attempts: u32,
    pub seconds: f64,
}

/// A generator's answer.
pub struct Reply {
    pub text: String,
    pub usage: Usage,
    pub call: Option<CallRecord>,
    /// The operators that made the program, in the order applied, when the generator has
    /// them ([`offline::OPERATORS`]); empty for a language model.
    pub operators: Vec<String>,
}

/// Anything that writes reward programs.
pub trait Generator {
    /// How runs and reports name it.
    fn name(&self) -> String;
    /// One reply; the loop extracts and checks the program in it.
    fn reply(&mut self, request: &SampleRequest) -> Result<Reply, EvolveError>;
    /// Token prices, when known, to estimate the run's cost.
    fn price(&self) -> Option<llm::Price> {
        None
    }
}

/// A language model over the chat-completions API.
pub struct LlmGenerator {
    pub client: ChatClient,
}

impl Generator for LlmGenerator {
    fn name(&self) -> String {
        format!(
            "language model {} at {}",
            self.client.config().model,
            self.client.config().base_url
        )
    }

    fn price(&self) -> Option<llm::Price> {
        self.client.config().price
    }

    fn reply(&mut self, request: &SampleRequest) -> Result<Reply, EvolveError> {
        let completion = self.client.complete(request.messages)?;
        Ok(Reply {
            text: completion.text,
            usage: completion.usage,
            call: Some(CallRecord {
                request: completion.request.to_string(),
                response: completion.response.to_string(),
                attempts: completion.attempts,
                seconds: completion.seconds,
            }),
            operators: Vec::new(),
        })
    }
}

/// The offline generator's name, as every run and report shows it.
pub const OFFLINE_NAME: &str = "offline generator (no language model)";

/// Evolutionary search over programs with no language model: mutates constants and weights,
/// drops, duplicates and recombines components, and draws components from the hand-written
/// programs in `rewards/<env>/`. Seeded and deterministic.
pub struct OfflineGenerator {
    seed: u64,
    library: Vec<(String, String)>,
    schema: Vec<envs::StateField>,
}

impl OfflineGenerator {
    /// `library`: (file name, source) of the env's hand-written programs; at least one.
    pub fn new(
        seed: u64,
        library: Vec<(String, String)>,
        schema: Vec<envs::StateField>,
    ) -> Result<Self, EvolveError> {
        if library.is_empty() {
            return Err(EvolveError::Config(
                "the offline generator starts from hand-written programs, and this env has none \
                 built in or in the given folder; put at least one .rhai file in \
                 <DIR>/<env>/ and pass --rewards DIR, or use --llm openai"
                    .into(),
            ));
        }
        if library
            .iter()
            .all(|(_, source)| offline::Genome::parse(source).is_err())
        {
            let names: Vec<&str> = library.iter().map(|(name, _)| name.as_str()).collect();
            return Err(EvolveError::Config(format!(
                "the offline generator cannot read any of the hand-written programs ({}): each \
                 must be `let` bindings ending in [total, #{{name: value, ...}}]",
                names.join(", ")
            )));
        }
        Ok(Self {
            seed,
            library,
            schema,
        })
    }
}

/// One seed per (run seed, generation, sample, attempt), well mixed (SplitMix64's finalizer).
fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15_u64;
    for &p in parts {
        h ^= p
            .wrapping_add(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(h << 6)
            .wrapping_add(h >> 2);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
    }
    h
}

impl Generator for OfflineGenerator {
    fn name(&self) -> String {
        OFFLINE_NAME.into()
    }

    fn reply(&mut self, request: &SampleRequest) -> Result<Reply, EvolveError> {
        let seed = mix(&[
            self.seed,
            u64::from(request.generation),
            u64::from(request.sample),
            u64::from(request.attempt),
        ]);
        let schema = &self.schema;
        let is_valid = |source: &str| {
            RewardProgram::compile(source, "candidate.rhai", schema, &Limits::default()).is_ok()
        };
        let proposal = offline::propose(request.parents, &self.library, seed, &is_valid)
            .map_err(EvolveError::Generator)?;
        let text = format!(
            "{OFFLINE_NAME}, seed {seed}. Edits: {}.\n```rhai\n{}\n```\n",
            proposal.edits.join("; "),
            proposal.source.trim_end()
        );
        Ok(Reply {
            text,
            usage: Usage::default(),
            call: None,
            operators: proposal.operators.iter().map(|o| o.to_string()).collect(),
        })
    }
}

/// Replays the replies stored in another run, attempt by attempt, so that run is reproduced
/// without its language model.
pub struct ReplayGenerator {
    source: String,
    generator: String,
    /// Each attempt's reply and the operators recorded with it.
    replies: BTreeMap<(u32, u32, u32), (String, Vec<String>)>,
}

impl ReplayGenerator {
    pub fn open(run_dir: &Path) -> Result<Self, EvolveError> {
        let db = run_dir.join(crate::DATABASE_FILE);
        if !db.exists() {
            return Err(EvolveError::Config(format!(
                "--replay {}: no evolve run there ({} is missing)",
                run_dir.display(),
                db.display()
            )));
        }
        let store = Store::open(&db)?;
        let replies = store
            .candidates()?
            .into_iter()
            .map(|c| ((c.generation, c.sample, c.attempt), (c.reply, c.operators)))
            .collect();
        let generator = store.meta("generator")?.unwrap_or_default();
        Ok(Self {
            source: run_dir.display().to_string(),
            generator,
            replies,
        })
    }
}

impl Generator for ReplayGenerator {
    fn name(&self) -> String {
        format!("replay of {} ({})", self.source, self.generator)
    }

    fn reply(&mut self, request: &SampleRequest) -> Result<Reply, EvolveError> {
        let key = (request.generation, request.sample, request.attempt);
        let (text, operators) = self.replies.get(&key).cloned().ok_or_else(|| {
            EvolveError::Generator(format!(
                "the replayed run {} has no reply for generation {}, sample {}, attempt {}; \
                 replay with the same --samples, --generations and --retries",
                self.source, request.generation, request.sample, request.attempt
            ))
        })?;
        Ok(Reply {
            text,
            usage: Usage::default(),
            call: None,
            operators,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_for_each_attempt_and_repeat_exactly() {
        let a = mix(&[1, 0, 0, 0]);
        assert_eq!(a, mix(&[1, 0, 0, 0]));
        let others = [
            mix(&[1, 0, 0, 1]),
            mix(&[1, 0, 1, 0]),
            mix(&[1, 1, 0, 0]),
            mix(&[2, 0, 0, 0]),
        ];
        assert!(others.iter().all(|o| *o != a));
    }
}
