//! One value per thread that uses it: the lazy DFAs' caches of the prefilter, the worker
//! threads' remembered scan verdicts ([`crate::scan_memo`]) and head-rule outcomes
//! (`transaction::head_memo`).
//!
//! `regex_automata`'s `Pool` serves one thread (its first) without locking and every other
//! thread through a mutex: with the proxy's two workers, one of them locked and unlocked a
//! mutex twice per lazy-DFA scan and memo lookup, ~2% of its time under load. Here each
//! thread that uses any `PerThread` gets a small index of its own for life, and a
//! `PerThread` keeps one slot per index: a thread reaches its value by its index, with
//! no atomic operation and no lock. Threads past the slots (short-lived ones, in tests)
//! share a locked stack of values instead.

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

thread_local! {
    /// This thread's index, taken on its first use of any `PerThread` and never given to
    /// another thread.
    static INDEX: usize = NEXT_INDEX.fetch_add(1, Ordering::Relaxed);
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

// SAFETY: slot `i` is only ever read or written by the one thread whose `INDEX` is `i`
// (indexes are never reused), through a guard that cannot leave that thread, so the
// slots' cells are never accessed from two threads. The values may be made on one thread
// and dropped on another (with the `PerThread`), hence `T: Send`.
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
        let index = INDEX.with(|i| *i);
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
