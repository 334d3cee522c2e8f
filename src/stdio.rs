//! Whether standard input or output was closed when rempart started.
//!
//! Before `main`, Rust's runtime reopens a closed descriptor 0, 1 or 2 on
//! `/dev/null`, so that stray writes cannot land in a file opened later.
//! For rempart that turns a closed stdin into empty input and a closed
//! stdout into decisions silently thrown away with exit 0. A function in
//! the ELF `.init_array`, which the C runtime runs before `main`, looks
//! first and records what it saw. (The `ctor` crate does the same in
//! general; these few lines do not justify a dependency.)

use std::sync::atomic::{AtomicBool, Ordering};

static STDIN_CLOSED: AtomicBool = AtomicBool::new(false);
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static RECORD_CLOSED_STDIO: extern "C" fn() = record_closed_stdio;

#[cfg(target_os = "linux")]
extern "C" fn record_closed_stdio() {
    // SAFETY: `fcntl(F_GETFD)` only queries the descriptor table; it
    // touches no memory of ours and is async-signal-safe.
    let closed = |fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1;
    STDIN_CLOSED.store(closed(0), Ordering::Relaxed);
    STDOUT_CLOSED.store(closed(1), Ordering::Relaxed);
}

/// Standard input was closed when the process started.
pub fn stdin_was_closed() -> bool {
    STDIN_CLOSED.load(Ordering::Relaxed)
}

/// Standard output was closed when the process started.
pub fn stdout_was_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}
