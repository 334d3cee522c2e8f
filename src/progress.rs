//! Progress on stderr, shown only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte-based progress bar for reading `total` bytes (0 if unknown).
pub fn bytes(total: u64, label: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = if total > 0 { ProgressBar::new(total) } else { ProgressBar::new_spinner() };
    let template = if total > 0 {
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} · {msg}"
    } else {
        "{prefix} {spinner} {bytes} {bytes_per_sec} · {msg}"
    };
    styled(bar, template, label)
}

/// A count-based progress bar over `total` items.
pub fn items(total: u64, label: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    styled(ProgressBar::new(total), "{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta}", label)
}

fn styled(bar: ProgressBar, template: &str, label: &str) -> ProgressBar {
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_string());
    bar
}
