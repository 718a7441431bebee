//! The audit log writer: JSON lines appended by a background task, so a slow disk never
//! stalls request handling. Lines are dropped (and counted) if the queue is full.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
}

impl AuditLog {
    /// Opens (creating, appending) `path` and starts the writer task.
    pub async fn open(path: &Path) -> std::io::Result<AuditLog> {
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        let (tx, mut rx) = mpsc::channel::<String>(8192);
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(64 * 1024);
            while let Some(line) = rx.recv().await {
                buf.clear();
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                // batch whatever else is already queued
                while buf.len() < 60 * 1024 {
                    match rx.try_recv() {
                        Ok(more) => {
                            buf.extend_from_slice(more.as_bytes());
                            buf.push(b'\n');
                        }
                        Err(_) => break,
                    }
                }
                if let Err(e) = file.write_all(&buf).await {
                    tracing::error!("audit log write failed: {e}");
                }
                let _ = file.flush().await;
            }
        });
        Ok(AuditLog {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn write(&self, line: String) {
        if self.tx.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
