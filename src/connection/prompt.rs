//! Asking the person at the terminal for a secret (SSH or become password, key
//! passphrase) without echoing it, or for an answer (`pause: prompt:`). Without a terminal there is no prompt, and callers
//! fail with a message saying what to configure instead.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::sync::{LazyLock, Mutex};

/// Answers already given, by prompt, so many hosts ask once.
static ANSWERS: LazyLock<Mutex<HashMap<String, String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Reads a secret from `/dev/tty` after printing `prompt`; `None` when there is no
/// terminal. The same prompt is asked only once per run.
pub fn secret(prompt: &str) -> Option<String> {
    let mut answers = ANSWERS.lock().ok()?;
    if let Some(answer) = answers.get(prompt) {
        return Some(answer.clone());
    }
    let answer = answer(prompt, false)?;
    answers.insert(prompt.to_string(), answer.clone());
    Some(answer)
}

/// Reads one line from `/dev/tty` after printing `prompt`, shown as typed when `echo`;
/// `None` when there is no terminal.
pub fn answer(prompt: &str, echo: bool) -> Option<String> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for the open terminal fd.
    let mut original: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut original) } != 0 {
        return None;
    }
    let mut silent = original;
    if !echo {
        silent.c_lflag &= !libc::ECHO;
        silent.c_lflag |= libc::ECHONL;
    }
    // SAFETY: sets the attributes of the same terminal fd; restored below.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &silent) };
    let mut writer = &tty;
    let _ = write!(writer, "{prompt}");
    let _ = writer.flush();
    let mut line = String::new();
    let read = BufReader::new(&tty).read_line(&mut line);
    // SAFETY: restores the attributes saved above.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &original) };
    read.ok()?;
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}
