//! The log writer: lines are gathered in memory and written to stdout in batches.
//!
//! Why: one `write` syscall per log line, made on a tokio worker thread, cost about a fifth of
//! RecordingCreated's throughput (issue #2: 15.4k/s with a line per invocation against 20.6k/s
//! without). A writer thread fed through a channel (`tracing-appender`) was no better on two cores:
//! it spins (`sched_yield`) before it parks, three times per line.
//!
//! How: the formatter hands over one whole line per event ([`MakeWriter`]); lines are appended to a
//! shared buffer. A flusher thread writes the buffer out every `interval` ([`Batched::to`]). Lines at
//! WARN and above are written at once, together with everything before them (order is kept: every
//! write to stdout happens under one lock, taking the buffer in order). A full buffer is written at
//! once too, so memory stays bounded. Dropping the [`FlushGuard`] writes the rest. What a crash
//! that kills the process outright can lose: at most one interval of INFO/DEBUG lines.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Buffered bytes that trigger an immediate write.
const HIGH_WATER: usize = 256 * 1024;

/// Where batches go: stdout in the app, a `Vec` in tests.
type Sink = Box<dyn Write + Send>;

struct Shared {
    /// Lines not yet written.
    pending: Mutex<Vec<u8>>,
    /// The destination; holding it orders every write.
    sink: Mutex<Output>,
    stop: AtomicBool,
}

/// Lock that survives a panic elsewhere: a log buffer is always in a usable state.
fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The destination and the spare buffer that the next batch is swapped into.
struct Output {
    sink: Sink,
    /// Two buffers take turns (pending, being written), each keeping its capacity: taking the
    /// pending buffer and leaving an empty one made the next interval's lines regrow it from
    /// nothing, reallocating and touching fresh pages under the lock the workers log through.
    spare: Vec<u8>,
}

impl Shared {
    /// Writes everything pending, plus `line` after it.
    fn write_out(&self, line: &[u8]) {
        let mut out = lock(&self.sink);
        let mut batch = std::mem::take(&mut out.spare);
        {
            let mut pending = lock(&self.pending);
            pending.extend_from_slice(line);
            std::mem::swap(&mut *pending, &mut batch);
        }
        // Nowhere to report a failing stdout: the host reads it, and logging about logging would
        // recurse. The lines are dropped, as a plain `println!` would fail.
        let _ = out.sink.write_all(&batch).and_then(|()| out.sink.flush());
        batch.clear();
        // A burst (one huge line) may have grown it far beyond the usual batch: let that go.
        if batch.capacity() <= 2 * HIGH_WATER {
            out.spare = batch;
        }
    }
}

/// A [`MakeWriter`] that batches lines (see the module docs).
#[derive(Clone)]
pub struct Batched {
    shared: Arc<Shared>,
}

/// Stops the flusher and writes the remaining lines when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl Batched {
    /// How long an INFO line may wait in memory.
    pub const INTERVAL: Duration = Duration::from_millis(20);

    /// Batches to stdout.
    pub fn stdout() -> (Self, FlushGuard) {
        Self::to(Box::new(std::io::stdout()), Self::INTERVAL)
    }

    /// Batches to `sink`, writing at least every `interval`.
    pub fn to(sink: Sink, interval: Duration) -> (Self, FlushGuard) {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            sink: Mutex::new(Output {
                sink,
                spare: Vec::with_capacity(64 * 1024),
            }),
            stop: AtomicBool::new(false),
        });
        let worker = Arc::clone(&shared);
        let flusher = std::thread::Builder::new()
            .name("log-flusher".into())
            .spawn(move || {
                while !worker.stop.load(Ordering::Acquire) {
                    std::thread::park_timeout(interval);
                    if !lock(&worker.pending).is_empty() {
                        worker.write_out(&[]);
                    }
                }
            })
            .ok();
        if flusher.is_none() {
            // No thread to write batches: every line is written at once instead.
            shared.stop.store(true, Ordering::Release);
        }
        let guard = FlushGuard {
            shared: Arc::clone(&shared),
            flusher,
        };
        (Self { shared }, guard)
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(flusher) = self.flusher.take() {
            flusher.thread().unpark();
            let _ = flusher.join();
        }
        self.shared.write_out(&[]);
    }
}

/// One event's writer: the formatter writes the whole line through it.
pub struct Line<'a> {
    shared: &'a Shared,
    urgent: bool,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Without a flusher thread (it could not be spawned) every line is written at once.
        if self.urgent || self.shared.stop.load(Ordering::Acquire) {
            self.shared.write_out(buf);
            return Ok(buf.len());
        }
        let full = {
            let mut pending = lock(&self.shared.pending);
            pending.extend_from_slice(buf);
            pending.len() >= HIGH_WATER
        };
        if full {
            self.shared.write_out(&[]);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            shared: &self.shared,
            urgent: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line<'a> {
        Line {
            shared: &self.shared,
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(w: &Batched, urgent: bool, text: &str) {
        let mut l = Line {
            shared: &w.shared,
            urgent,
        };
        l.write_all(text.as_bytes()).expect("write");
    }

    #[test]
    fn info_lines_wait_and_a_warning_writes_them_first_in_order() {
        let sink = crate::telemetry::TestSink::default();
        let (w, guard) = Batched::to(Box::new(sink.clone()), Duration::from_secs(3600));
        line(&w, false, "a\n");
        line(&w, false, "b\n");
        assert_eq!(sink.text(), "", "held in memory");
        line(&w, true, "warn\n");
        assert_eq!(sink.text(), "a\nb\nwarn\n");
        line(&w, false, "c\n");
        drop(guard);
        assert_eq!(sink.text(), "a\nb\nwarn\nc\n", "the guard writes the rest");
    }

    #[test]
    fn the_flusher_writes_within_an_interval_and_a_full_buffer_at_once() {
        let sink = crate::telemetry::TestSink::default();
        let (w, _guard) = Batched::to(Box::new(sink.clone()), Duration::from_millis(5));
        line(&w, false, "tick\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.text().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.text(), "tick\n");

        let sink = crate::telemetry::TestSink::default();
        let (w, _guard) = Batched::to(Box::new(sink.clone()), Duration::from_secs(3600));
        let big = "x".repeat(HIGH_WATER);
        line(&w, false, &big);
        assert_eq!(sink.text().len(), HIGH_WATER, "written without waiting");
    }

    #[test]
    fn buffers_keep_their_capacity_across_batches() {
        let sink = crate::telemetry::TestSink::default();
        let (w, guard) = Batched::to(Box::new(sink.clone()), Duration::from_secs(3600));
        let grown = "x".repeat(100_000);
        line(&w, false, &grown);
        line(&w, true, "w1\n");
        line(&w, true, "w2\n");
        // The buffer that held the large batch is pending again, empty, with its capacity.
        let pending = lock(&w.shared.pending);
        assert!(pending.is_empty() && pending.capacity() >= grown.len());
        drop(pending);
        drop(guard);
        assert_eq!(sink.text(), format!("{grown}w1\nw2\n"));
    }

    #[test]
    fn the_subscriber_marks_warnings_urgent() {
        let sink = crate::telemetry::TestSink::default();
        let (w, guard) = Batched::to(Box::new(sink.clone()), Duration::from_secs(3600));
        let subscriber = tracing_subscriber::fmt()
            .with_writer(w)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("first");
            assert_eq!(sink.text(), "");
            tracing::warn!("second");
        });
        let text = sink.text();
        let (first, second) = (text.find("first"), text.find("second"));
        assert!(first.is_some() && first < second, "{text}");
        drop(guard);
    }
}
