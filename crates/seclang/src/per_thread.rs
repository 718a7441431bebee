//! One value per thread that uses it: the worker threads' remembered scan verdicts
//! ([`crate::scan_memo`]) and head-rule outcomes (`transaction::head_memo`), read and
//! written without locking.

use regex_automata::util::pool::{Pool, PoolGuard};

type Make<T> = Box<dyn Fn() -> T + Send + Sync>;

/// A `T` per thread, each made with `T::default()` on the thread's first use.
pub struct PerThread<T>(Pool<T, Make<T>>);

impl<T: Default + Send + 'static> Default for PerThread<T> {
    fn default() -> Self {
        PerThread(Pool::new(Box::new(T::default)))
    }
}

impl<T: Send> PerThread<T> {
    /// This thread's value.
    #[inline]
    pub fn get(&self) -> PoolGuard<'_, T, Make<T>> {
        self.0.get()
    }
}

impl<T> std::fmt::Debug for PerThread<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PerThread")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_has_its_own_value() {
        let values: PerThread<Vec<u32>> = PerThread::default();
        values.get().push(1);
        assert_eq!(*values.get(), [1]);
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(values.get().is_empty());
                values.get().push(2);
                assert_eq!(*values.get(), [2]);
            });
        });
        assert_eq!(*values.get(), [1]);
    }
}
