//! The inference worker: one thread owns the model and runs it on batches gathered from
//! concurrent requests.
//!
//! A request's texts go to the worker as one job; the caller then blocks on its own reply
//! channel (so the engine runs detectors that use it off the async executor, see
//! [`Detector::blocks`](palisade_engine::Detector::blocks)). The worker takes the first
//! job, then keeps gathering jobs until `max_batch` texts are waiting or `max_wait` has
//! passed since the first one, runs them — sorted by length, `max_batch` texts per forward
//! pass, so padding stays small — and answers every job. Under load, jobs queue while a
//! pass runs and go together into the next one; alone, a request waits at most `max_wait`.
//! candle spreads each pass's matrix products over the CPU cores.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::Classifier;

/// How texts are batched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Most texts in one forward pass.
    pub max_batch: usize,
    /// How long the worker waits for more requests after the first one of a batch.
    pub max_wait: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_batch: 32,
            max_wait: Duration::from_millis(1),
        }
    }
}

/// Probabilities per text, or why there are none.
pub type Answer = Result<Vec<Vec<f32>>, String>;

struct Job {
    texts: Vec<String>,
    reply: mpsc::SyncSender<Answer>,
}

/// Handle to the inference worker; the worker stops when the last handle is dropped.
pub struct Batcher {
    jobs: Sender<Job>,
    classifier: Arc<Classifier>,
    stats: Arc<Stats>,
}

/// Counters of the worker.
#[derive(Debug, Default)]
pub struct Stats {
    /// Jobs (requests) answered.
    pub jobs: AtomicU64,
    /// Forward passes run.
    pub passes: AtomicU64,
    /// Texts scored.
    pub texts: AtomicU64,
}

impl Batcher {
    /// Starts the worker thread for `classifier`.
    pub fn start(classifier: Arc<Classifier>, options: BatchOptions) -> Batcher {
        let (jobs, rx) = mpsc::channel();
        let model = classifier.clone();
        let stats = Arc::new(Stats::default());
        let counters = stats.clone();
        let options = BatchOptions {
            max_batch: options.max_batch.max(1),
            ..options
        };
        let spawned = std::thread::Builder::new()
            .name("palisade-transformer".into())
            .spawn(move || run(&model, rx, options, &counters));
        if let Err(e) = spawned {
            // Without a worker every job is answered with an error (the sender sees the
            // channel closed); the detector logs it.
            tracing::error!("cannot start the transformer inference thread: {e}");
        }
        Batcher {
            jobs,
            classifier,
            stats,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Class probabilities of `texts`, from the worker (blocks until it answers).
    pub fn classify(&self, texts: Vec<String>) -> Answer {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(texts)?
            .recv()
            .map_err(|_| "the inference worker stopped".to_string())?
    }

    /// Queues `texts` as one job without waiting; the answer arrives on the returned
    /// channel.
    pub fn submit(&self, texts: Vec<String>) -> Result<Receiver<Answer>, String> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send(Job { texts, reply })
            .map_err(|_| "the inference worker is not running".to_string())?;
        Ok(answer)
    }
}

fn run(classifier: &Classifier, rx: Receiver<Job>, options: BatchOptions, stats: &Stats) {
    while let Ok(first) = rx.recv() {
        let deadline = Instant::now() + options.max_wait;
        let mut waiting = first.texts.len();
        let mut jobs = vec![first];
        while waiting < options.max_batch {
            let next = match rx.try_recv() {
                Ok(job) => Some(job),
                Err(TryRecvError::Disconnected) => None,
                Err(TryRecvError::Empty) => {
                    let now = Instant::now();
                    if now >= deadline {
                        None
                    } else {
                        rx.recv_timeout(deadline - now).ok()
                    }
                }
            };
            match next {
                Some(job) => {
                    waiting += job.texts.len();
                    jobs.push(job);
                }
                None => break,
            }
        }
        let answers = score_jobs(classifier, &jobs, options.max_batch, stats);
        stats.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        for (job, answer) in jobs.into_iter().zip(answers) {
            // A caller that went away no longer needs its answer.
            let _ = job.reply.send(answer);
        }
    }
}

/// Scores every text of `jobs`, `max_batch` at a time in order of length, and splits the
/// results back per job.
fn score_jobs(
    classifier: &Classifier,
    jobs: &[Job],
    max_batch: usize,
    stats: &Stats,
) -> Vec<Answer> {
    let texts: Vec<(usize, usize, &str)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(j, job)| {
            job.texts
                .iter()
                .enumerate()
                .map(move |(t, s)| (j, t, s.as_str()))
        })
        .collect();
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].2.len());
    let mut out: Vec<Answer> = jobs
        .iter()
        .map(|j| Ok(vec![Vec::new(); j.texts.len()]))
        .collect();
    for chunk in order.chunks(max_batch) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].2).collect();
        stats.passes.fetch_add(1, Ordering::Relaxed);
        stats.texts.fetch_add(batch.len() as u64, Ordering::Relaxed);
        // A panic inside the model must not take the worker (and every later request's
        // answer) down with it.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            classifier.probabilities(&batch)
        }))
        .unwrap_or_else(|_| Err("the model panicked".to_string()));
        match result {
            Ok(probs) => {
                for (&i, p) in chunk.iter().zip(probs) {
                    let (j, t, _) = texts[i];
                    if let Ok(v) = &mut out[j] {
                        v[t] = p;
                    }
                }
            }
            Err(e) => {
                for &i in chunk {
                    out[texts[i].0] = Err(e.clone());
                }
            }
        }
    }
    out
}
