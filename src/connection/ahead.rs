//! Questions asked ahead. Each item of a loop asks the target one read-only question
//! before it decides anything (`dpkg-query` for apt, `systemctl show` for systemd,
//! `getent` for user). One by one that is a round trip and a shell per item;
//! [`Answers::ask`] asks every item's question in one script, and [`Answering`] gives an
//! item its answer when it asks exactly that question.
//!
//! An answer serves as many items as asked it, and only while nothing else has reached
//! the target (a retry of an item asks for itself): the
//! first command, upload or download that no answer covers (an item changing
//! something, or asking a second question) makes every answer left stale, and the
//! items after it ask for themselves; a second question that only looks
//! ([`Command::looks_only`]) does not. So a converged loop costs one round trip, and a
//! loop that changes things costs what it did before plus that one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Command, CommandOutput, Connection, ConnectionError, Endpoint, quote};

/// The script's bytes at most: far below what a target's shell takes in one go.
const MAX_SCRIPT_BYTES: usize = 256 * 1024;

/// Answers to questions asked ahead, each kept until it is used or goes stale.
#[derive(Debug, Default)]
pub struct Answers {
    /// Each question's answer and how many items asked it.
    left: Mutex<HashMap<String, (CommandOutput, usize)>>,
}

impl Answers {
    /// Asks `questions` on `conn` in one round trip, each repeated question once.
    /// Questions that feed standard input and those beyond [`MAX_SCRIPT_BYTES`] are
    /// left out: their askers ask for themselves. A script that does not come back
    /// whole (become refused, a shell that choked) answers nothing.
    pub async fn ask(
        conn: &dyn Connection,
        questions: &[Command],
    ) -> Result<Answers, ConnectionError> {
        let mut chosen: Vec<String> = Vec::new();
        let mut askers: HashMap<String, usize> = HashMap::new();
        let mut bytes = 0;
        for question in questions.iter().filter(|q| q.stdin.is_none()) {
            let script = question.full_script();
            if let Some(count) = askers.get_mut(&script) {
                *count += 1;
            } else if bytes + script.len() <= MAX_SCRIPT_BYTES {
                bytes += script.len();
                askers.insert(script.clone(), 1);
                chosen.push(script);
            }
        }
        if askers.values().sum::<usize>() < 2 {
            return Ok(Answers::default());
        }
        let marker = new_marker();
        let out = conn.exec(&Command::new(script(&marker, &chosen))).await?;
        let left = match parse(&marker, chosen.len(), &out) {
            Some(outputs) => chosen
                .into_iter()
                .zip(outputs)
                .map(|(script, output)| {
                    let count = askers.get(&script).copied().unwrap_or(1);
                    (script, (output, count))
                })
                .collect(),
            None => HashMap::new(),
        };
        Ok(Answers {
            left: Mutex::new(left),
        })
    }

    /// The answer to `question`, for one of the items that asked it; `None` (and every
    /// other answer forgotten) when there is none left.
    fn take(&self, question: &Command) -> Option<CommandOutput> {
        let mut left = self.left.lock().ok()?;
        let script = question.full_script();
        let answer = match left.get_mut(&script).filter(|_| question.stdin.is_none()) {
            Some((output, 1)) => {
                let output = output.clone();
                left.remove(&script);
                Some(output)
            }
            Some((output, count)) => {
                *count -= 1;
                Some(output.clone())
            }
            None => None,
        };
        if answer.is_none() {
            left.clear();
        }
        answer
    }

    /// Forgets every answer: something reached the target that may have changed them,
    /// or time passed (a retry).
    pub fn forget_all(&self) {
        if let Ok(mut left) = self.left.lock() {
            left.clear();
        }
    }
}

/// A marker no command's output contains by chance: 128 random bits in hex.
fn new_marker() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the marker is still unusual; a question whose output held
    // it would only make the script's answers unreadable, never wrong.
    let _ = getrandom::getrandom(&mut bytes);
    format!("__BOSUN_AHEAD_{}__", hex::encode(bytes))
}

/// One script asking every question in its own subshell, each output framed by
/// `marker` on both streams: `M i\n` before and `\nM rc\n` (stderr: `\nM\n`) after.
fn script(marker: &str, questions: &[String]) -> String {
    let m = quote(marker);
    let mut script = String::new();
    for (index, question) in questions.iter().enumerate() {
        script.push_str(&format!(
            "printf '%s %s\\n' {m} {index}; printf '%s %s\\n' {m} {index} >&2\n(\n{question}\n) </dev/null\n\
             printf '\\n%s %s\\n' {m} \"$?\"; printf '\\n%s\\n' {m} >&2\n"
        ));
    }
    script
}

/// Each question's output, in order; `None` unless all `count` came back whole.
fn parse(marker: &str, count: usize, out: &CommandOutput) -> Option<Vec<CommandOutput>> {
    if out.rc != 0 {
        return None;
    }
    let (mut stdout, mut stderr) = (out.stdout.as_slice(), out.stderr.as_slice());
    let mut outputs = Vec::with_capacity(count);
    for index in 0..count {
        let begin = format!("{marker} {index}\n");
        let end = format!("\n{marker} ");
        let (text, rest) = framed(stdout, begin.as_bytes(), end.as_bytes())?;
        let newline = rest.iter().position(|b| *b == b'\n')?;
        let rc = std::str::from_utf8(&rest[..newline]).ok()?.parse().ok()?;
        stdout = &rest[newline + 1..];
        let (errors, rest) = framed(stderr, begin.as_bytes(), format!("\n{marker}\n").as_bytes())?;
        stderr = rest;
        outputs.push(CommandOutput {
            rc,
            stdout: text.to_vec(),
            stderr: errors.to_vec(),
        });
    }
    (stdout.is_empty() && stderr.is_empty()).then_some(outputs)
}

/// What `bytes` holds between `begin` (where it starts) and the first `end`, and what
/// follows `end`.
fn framed<'b>(bytes: &'b [u8], begin: &[u8], end: &[u8]) -> Option<(&'b [u8], &'b [u8])> {
    let body = bytes.strip_prefix(begin)?;
    let at = body.windows(end.len()).position(|w| w == end)?;
    Some((&body[..at], &body[at + end.len()..]))
}

/// One module call's connection: its first command is answered when it is a question
/// asked ahead; everything else is passed on, after which no answer is given any more
/// (so a command that changes the target is never mistaken for a question).
pub struct Answering {
    inner: Arc<dyn Connection>,
    answers: Arc<Answers>,
    asked: AtomicBool,
}

impl Answering {
    /// `inner` answering from `answers` when there are any; `inner` itself otherwise.
    pub fn wrap(inner: Arc<dyn Connection>, answers: Option<Arc<Answers>>) -> Arc<dyn Connection> {
        match answers {
            Some(answers) => Arc::new(Answering {
                inner,
                answers,
                asked: AtomicBool::new(false),
            }),
            None => inner,
        }
    }
}

#[async_trait]
impl Connection for Answering {
    async fn exec(&self, command: &Command) -> Result<CommandOutput, ConnectionError> {
        let answer = match self.asked.swap(true, Ordering::SeqCst) {
            false => self.answers.take(command),
            true if command.looks_only => None,
            true => {
                self.answers.forget_all();
                None
            }
        };
        match answer {
            Some(answer) => Ok(answer),
            None => self.inner.exec(command).await,
        }
    }

    async fn put(&self, data: &[u8], dest: &str, mode: Option<u32>) -> Result<(), ConnectionError> {
        self.answers.forget_all();
        self.inner.put(data, dest, mode).await
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, ConnectionError> {
        self.answers.forget_all();
        self.inner.get(path).await
    }

    fn takes_stdin(&self) -> bool {
        self.inner.takes_stdin()
    }

    fn endpoint(&self) -> Endpoint {
        self.inner.endpoint()
    }

    fn ssh_target(&self) -> Option<&super::SshTarget> {
        self.inner.ssh_target()
    }

    fn become_spec(&self) -> Option<&super::BecomeSpec> {
        self.inner.become_spec()
    }

    async fn interrupt(&self) {
        self.inner.interrupt().await;
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}

/// A connection that runs nothing: it keeps the first command it is given and fails
/// everything, so that running a module's query on it tells the question the query
/// asks first.
pub struct Recorder<'a> {
    inner: &'a dyn Connection,
    first: Mutex<Option<Command>>,
}

/// What a [`Recorder`] answers: the question is kept, not asked.
const RECORDED: &str = "recorded, not run";

impl<'a> Recorder<'a> {
    /// A recorder that says it goes where `inner` goes (modules shape their questions
    /// by become and stdin).
    pub fn new(inner: &'a dyn Connection) -> Recorder<'a> {
        Recorder {
            inner,
            first: Mutex::new(None),
        }
    }

    /// The first command given, if any.
    pub fn first(self) -> Option<Command> {
        self.first.into_inner().ok().flatten()
    }
}

#[async_trait]
impl Connection for Recorder<'_> {
    async fn exec(&self, command: &Command) -> Result<CommandOutput, ConnectionError> {
        if let Ok(mut first) = self.first.lock() {
            first.get_or_insert_with(|| command.clone());
        }
        Err(ConnectionError::Failed(RECORDED.into()))
    }

    async fn put(&self, _: &[u8], _: &str, _: Option<u32>) -> Result<(), ConnectionError> {
        Err(ConnectionError::Failed(RECORDED.into()))
    }

    async fn get(&self, _: &str) -> Result<Vec<u8>, ConnectionError> {
        Err(ConnectionError::Failed(RECORDED.into()))
    }

    fn takes_stdin(&self) -> bool {
        self.inner.takes_stdin()
    }

    fn endpoint(&self) -> Endpoint {
        self.inner.endpoint()
    }

    fn ssh_target(&self) -> Option<&super::SshTarget> {
        self.inner.ssh_target()
    }

    fn become_spec(&self) -> Option<&super::BecomeSpec> {
        self.inner.become_spec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::LocalConnection;

    fn question(script: &str) -> Command {
        Command::new(script)
    }

    #[tokio::test]
    async fn each_question_gets_its_own_output_streams_and_status() {
        let questions = [
            question("printf 'a\\nb'; printf err >&2; exit 3"),
            question("printf '\\n\\n'"),
            question("cat"),
            question("echo $X"),
        ];
        let mut with_env = question("echo $X");
        with_env.env = vec![("X".into(), "own".into())];
        let mut all = questions.to_vec();
        all.push(with_env.clone());
        let answers = Answers::ask(&LocalConnection, &all).await.expect("runs");
        let first = answers.take(&questions[0]).expect("answered");
        assert_eq!((first.rc, first.stdout_text().as_str()), (3, "a\nb"));
        assert_eq!(first.stderr_text(), "err");
        let second = answers.take(&questions[1]).expect("answered");
        assert_eq!((second.rc, second.stdout_text().as_str()), (0, "\n\n"));
        assert_eq!(answers.take(&questions[2]).expect("answered").stdout, b"");
        assert_eq!(
            answers.take(&with_env).expect("answered").stdout_text(),
            "own\n"
        );
        assert_eq!(
            answers.take(&questions[3]).expect("answered").stdout_text(),
            "\n"
        );
    }

    #[tokio::test]
    async fn an_answer_serves_once_and_a_miss_makes_all_stale() {
        let questions = [question("echo 1"), question("echo 2"), question("echo 3")];
        let answers = Arc::new(
            Answers::ask(&LocalConnection, &questions)
                .await
                .expect("runs"),
        );
        let call = || Answering::wrap(Arc::new(LocalConnection), Some(answers.clone()));
        let first = call().exec(&questions[0]).await.expect("answered");
        assert_eq!(first.stdout_text(), "1\n");
        let again = call().exec(&questions[0]).await.expect("asked itself");
        assert_eq!(again.stdout_text(), "1\n");
        assert!(
            answers.take(&questions[2]).is_none(),
            "the miss made it stale"
        );
    }

    #[tokio::test]
    async fn a_question_asked_twice_is_asked_once_and_answers_both() {
        let marker = std::env::temp_dir().join(format!("bosun-ahead-n-{}", std::process::id()));
        let path = marker.to_str().expect("utf-8");
        let counted = question(&format!("echo x >> {path}; wc -l < {path}"));
        let questions = [counted.clone(), counted.clone()];
        let answers = Answers::ask(&LocalConnection, &questions)
            .await
            .expect("runs");
        let first = answers.take(&counted).expect("answered");
        let second = answers.take(&counted).expect("answered");
        std::fs::remove_file(&marker).expect("cleaned");
        assert_eq!(
            (first.stdout_text(), second.stdout_text()),
            ("1\n".into(), "1\n".into())
        );
        assert!(answers.take(&counted).is_none(), "two askers, two answers");
    }

    #[tokio::test]
    async fn only_a_calls_first_command_is_answered() {
        let questions = [question("echo 1"), question("echo 2")];
        let answers = Arc::new(
            Answers::ask(&LocalConnection, &questions)
                .await
                .expect("runs"),
        );
        let first_call = Answering::wrap(Arc::new(LocalConnection), Some(answers.clone()));
        let out = first_call
            .exec(&question("echo 1"))
            .await
            .expect("answered");
        assert_eq!(out.stdout_text(), "1\n");
        let second = first_call.exec(&questions[1]).await.expect("runs");
        assert_eq!(second.stdout_text(), "2\n");
        assert!(
            answers.take(&questions[1]).is_none(),
            "a second command is never a question"
        );
    }

    #[tokio::test]
    async fn an_upload_makes_the_answers_stale() {
        let questions = [question("echo 1"), question("echo 2")];
        let answers = Arc::new(
            Answers::ask(&LocalConnection, &questions)
                .await
                .expect("runs"),
        );
        let conn = Answering::wrap(Arc::new(LocalConnection), Some(answers.clone()));
        let dir = std::env::temp_dir().join(format!("bosun-ahead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch");
        let dest = dir.join("f");
        conn.put(b"x", dest.to_str().expect("utf-8"), None)
            .await
            .expect("written");
        std::fs::remove_dir_all(&dir).expect("cleaned");
        assert!(answers.take(&questions[1]).is_none());
    }

    #[tokio::test]
    async fn a_script_the_shell_cannot_finish_answers_nothing() {
        let questions = [question("echo 1"), question("exit 0; (")];
        let answers = Answers::ask(&LocalConnection, &questions)
            .await
            .expect("runs");
        assert!(answers.take(&questions[0]).is_none());
    }

    #[tokio::test]
    async fn questions_feeding_stdin_are_not_asked() {
        let mut fed = question("cat");
        fed.stdin = Some(b"x".to_vec());
        let answers = Answers::ask(&LocalConnection, &[fed.clone(), question("echo 1")])
            .await
            .expect("runs");
        assert!(answers.take(&fed).is_none());
    }

    #[test]
    fn frames_are_read_exactly_and_a_cut_output_is_refused() {
        let out = CommandOutput {
            rc: 0,
            stdout: b"M 0\nx\nM 0\n".to_vec(),
            stderr: b"M 0\n\nM\n".to_vec(),
        };
        assert!(parse("M", 1, &out).is_some());
        let short = CommandOutput {
            stdout: b"M 0\nx".to_vec(),
            ..out
        };
        assert!(parse("M", 1, &short).is_none());
    }

    #[tokio::test]
    async fn the_recorder_keeps_the_first_question_and_runs_nothing() {
        let recorder = Recorder::new(&LocalConnection);
        assert!(
            recorder
                .exec(&question("touch /nonexistent/x"))
                .await
                .is_err()
        );
        assert!(recorder.exec(&question("echo second")).await.is_err());
        assert_eq!(
            recorder.first().expect("kept").script,
            "touch /nonexistent/x"
        );
    }
}
