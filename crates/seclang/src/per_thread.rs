//! One value per thread that uses it: the lazy DFAs' caches of the prefilter, the worker
//! threads' remembered scan verdicts ([`crate::scan_memo`]) and head-rule outcomes
//! (`transaction::head_memo`).
//!
//! `regex_automata`'s `Pool` serves one thread (its first) without locking and every other
//! thread through a mutex: with the proxy's two workers, one of them locked and unlocked a
//! mutex twice per lazy-DFA scan and memo lookup, ~2% of its time under load. Here each
//! thread that uses any `PerThread` holds a small index while it lives, and a `PerThread`
//! keeps one slot per index: a thread reaches its value by its index, with no atomic
//! operation and no lock. An exiting thread gives its index back, and the next new thread
//! takes it with the values in its slots (tokio's blocking pool, where inspection runs
//! beside a transformer, makes and ends threads as load comes and goes: fresh indexes
//! would each keep a lazy DFA's cache of megabytes). Threads past the slots share a locked
//! stack of values instead.

use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

type Make<T> = Box<dyn Fn() -> T + Send + Sync>;

/// Slots per `PerThread`: the proxy's workers (one per core), the loading thread and a
/// few others take the first indexes.
const SLOTS: usize = 64;

static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

/// Indexes of threads that ended, for the next threads to take.
static FREE_INDEXES: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// A thread's index, given back when the thread ends.
struct ThreadIndex(usize);

impl ThreadIndex {
    fn take() -> ThreadIndex {
        let free = FREE_INDEXES.lock().ok().and_then(|mut f| f.pop());
        ThreadIndex(free.unwrap_or_else(|| NEXT_INDEX.fetch_add(1, Ordering::Relaxed)))
    }
}

impl Drop for ThreadIndex {
    fn drop(&mut self) {
        // (the mutex hands the slots' contents over to the thread that takes the index)
        if let Ok(mut free) = FREE_INDEXES.lock() {
            free.push(self.0);
        }
    }
}

thread_local! {
    /// This thread's index, taken on its first use of any `PerThread`; no other live
    /// thread holds it.
    static INDEX: ThreadIndex = ThreadIndex::take();
}

/// A slot, alone in its cache line: two threads' slots side by side would make each
/// thread's writes evict the other's line.
#[repr(align(64))]
struct Slot<T> {
    /// Whether a guard holds the value (a thread asking twice before the first guard is
    /// dropped gets a value from the shared stack for the second).
    busy: Cell<bool>,
    value: UnsafeCell<Option<Box<T>>>,
}

/// A `T` per thread, each made by the `PerThread`'s maker on the thread's first use.
pub struct PerThread<T> {
    slots: Box<[Slot<T>]>,
    /// Values of threads without a slot of their own.
    shared: Mutex<Vec<Box<T>>>,
    make: Make<T>,
}

// SAFETY: slot `i` is only read or written by the live thread whose `INDEX` is `i`,
// through a guard that cannot leave that thread; an index passes to another thread only
// after its holder ended, through `FREE_INDEXES`' mutex (which orders the two threads'
// accesses). So the slots' cells are never accessed from two threads at once. The values
// may be made on one thread and used or dropped on another, hence `T: Send`.
unsafe impl<T: Send> Sync for PerThread<T> {}

impl<T: Default + Send + 'static> Default for PerThread<T> {
    fn default() -> Self {
        PerThread::new(Box::new(T::default))
    }
}

impl<T: Send> PerThread<T> {
    /// A `PerThread` whose values `make` makes.
    pub fn new(make: Make<T>) -> Self {
        PerThread {
            slots: (0..SLOTS)
                .map(|_| Slot {
                    busy: Cell::new(false),
                    value: UnsafeCell::new(None),
                })
                .collect(),
            shared: Mutex::new(Vec::new()),
            make,
        }
    }

    /// This thread's value.
    #[inline]
    pub fn get(&self) -> Guard<'_, T> {
        // (none while the thread's locals are being destroyed: the shared stack then)
        let index = INDEX.try_with(|i| i.0).unwrap_or(usize::MAX);
        if let Some(slot) = self.slots.get(index) {
            if !slot.busy.replace(true) {
                // SAFETY: only this thread reaches slot `index` (see the `Sync` impl), and
                // `busy` says no guard of this thread holds its value.
                let value = unsafe { &mut *slot.value.get() };
                let value: *mut T = &mut **value.get_or_insert_with(|| Box::new((self.make)()));
                return Guard {
                    value,
                    home: Home::Slot(&slot.busy),
                    _not_send: PhantomData,
                };
            }
        }
        self.get_shared()
    }

    #[cold]
    fn get_shared(&self) -> Guard<'_, T> {
        let popped = self.shared.lock().ok().and_then(|mut s| s.pop());
        let value = Box::into_raw(popped.unwrap_or_else(|| Box::new((self.make)())));
        Guard {
            value,
            home: Home::Shared(&self.shared),
            _not_send: PhantomData,
        }
    }
}

enum Home<'p, T> {
    /// The value lives in this thread's slot; the flag marks it held.
    Slot(&'p Cell<bool>),
    /// The value was taken from the shared stack (a raw `Box`), and goes back to it.
    Shared(&'p Mutex<Vec<Box<T>>>),
}

/// A thread's value, held until dropped.
pub struct Guard<'p, T> {
    value: *mut T,
    home: Home<'p, T>,
    /// (a slot's value may only be reached from its own thread)
    _not_send: PhantomData<*mut T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard is the value's only holder until dropped (see `get`).
        unsafe { &*self.value }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`.
        unsafe { &mut *self.value }
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        match self.home {
            Home::Slot(busy) => busy.set(false),
            Home::Shared(shared) => {
                // SAFETY: `value` came from `Box::into_raw` in `get_shared` and is not used
                // after this.
                let value = unsafe { Box::from_raw(self.value) };
                if let Ok(mut s) = shared.lock() {
                    s.push(value);
                }
            }
        }
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

    /// Threads that come and go one after another (tokio's blocking pool) take the
    /// indexes of those that ended, with their values: a few indexes serve them all (the
    /// other tests' threads come and go meanwhile and take some), and every value made is
    /// still there to be used.
    #[test]
    fn ended_threads_pass_their_indexes_and_values_on() {
        let values: PerThread<Vec<u8>> = PerThread::default();
        let mut indexes = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let index = std::thread::scope(|s| {
                s.spawn(|| {
                    values.get().push(1);
                    INDEX.with(|i| i.0)
                })
                .join()
                .expect("thread")
            });
            indexes.insert(index);
        }
        assert!(
            indexes.len() <= 20,
            "{} indexes for 200 threads in turn",
            indexes.len()
        );
        // SAFETY: every thread that used `values` has ended: no slot is held.
        let in_slots: usize = (values.slots.iter())
            .map(|s| unsafe { &*s.value.get() }.as_ref().map_or(0, |v| v.len()))
            .sum();
        let shared: usize = values
            .shared
            .lock()
            .map_or(0, |s| s.iter().map(|v| v.len()).sum());
        assert_eq!(in_slots + shared, 200, "no value was lost");
    }

    #[test]
    fn a_second_hold_on_one_thread_gets_another_value() {
        let values: PerThread<Vec<u32>> = PerThread::default();
        let mut first = values.get();
        first.push(1);
        {
            let mut second = values.get();
            assert!(second.is_empty(), "the held value was handed out twice");
            second.push(2);
        }
        drop(first);
        assert_eq!(*values.get(), [1]);
        // the second value went to the shared stack and is handed out from there
        let held = values.get();
        assert_eq!(*values.get(), [2]);
        drop(held);
    }

    #[test]
    fn threads_past_the_slots_keep_their_values_apart() {
        let values: PerThread<Vec<usize>> = PerThread::default();
        // more threads than slots, each adding its own number while holding the value
        std::thread::scope(|s| {
            for n in 0..SLOTS * 2 {
                let values = &values;
                s.spawn(move || {
                    let mut v = values.get();
                    v.clear();
                    v.push(n);
                    std::thread::yield_now();
                    assert_eq!(*v, [n], "two threads held one value");
                });
            }
        });
    }
}
