//! Which CPU each worker thread runs on.
//!
//! A worker pinned to one CPU keeps that core's caches for its own event loop and its
//! inspection tables; left to the scheduler, a busy worker is moved between cores when the
//! client, the upstream and the kernel's network work wake on them, and refills both
//! cores' caches (through the proxy with CRS loaded on two cores: about 4% more requests a
//! second pinned, every one of eight alternating runs). Workers are pinned only to the
//! CPUs the process may already run on (its affinity mask: a container's or `taskset`'s
//! cpuset), round robin.

/// The CPU for each of `workers` workers, from the CPUs the process may run on
/// (`allowed`, in order): worker `i` on the `i`-th, round robin. None for every worker
/// when pinning is off or there is a single CPU (nothing to choose).
pub fn worker_cpus(allowed: &[usize], workers: usize, pin: bool) -> Vec<Option<usize>> {
    if !pin || allowed.len() < 2 {
        return vec![None; workers];
    }
    (0..workers)
        .map(|i| allowed.get(i % allowed.len()).copied())
        .collect()
}

/// The CPUs the calling thread may run on, in order (empty when the kernel does not say).
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: `cpu_set_t` is a plain bit array, valid zeroed; `sched_getaffinity` writes at
    // most `size_of::<cpu_set_t>()` bytes into it, and `CPU_ISSET` reads a bit below
    // `CPU_SETSIZE` of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

/// Pins the calling thread to `cpu`.
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("CPU {cpu} is past the largest CPU set"),
        ));
    }
    // SAFETY: as in `allowed_cpus`; `CPU_SET` writes a bit below `CPU_SETSIZE` (checked
    // above), and `sched_setaffinity` reads `size_of::<cpu_set_t>()` bytes.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Workers go round robin over the allowed CPUs, in their order (a cpuset need not
    /// start at 0 nor be contiguous); nothing is pinned when pinning is off or there is
    /// one CPU.
    #[test]
    fn workers_take_the_allowed_cpus_round_robin() {
        assert_eq!(
            worker_cpus(&[2, 5, 7], 4, true),
            [Some(2), Some(5), Some(7), Some(2)]
        );
        assert_eq!(worker_cpus(&[0, 1], 2, true), [Some(0), Some(1)]);
        assert_eq!(worker_cpus(&[0, 1], 2, false), [None, None]);
        assert_eq!(worker_cpus(&[3], 2, true), [None, None]);
        assert_eq!(worker_cpus(&[], 1, true), [None]);
    }

    /// A thread pinned to one of its allowed CPUs may then run on that CPU alone; a CPU
    /// past the largest set is refused with an error, not a panic.
    #[test]
    fn a_pinned_thread_runs_on_its_cpu_alone() {
        let allowed = allowed_cpus();
        assert!(!allowed.is_empty(), "the kernel reports this thread's CPUs");
        let last = *allowed.last().expect("a CPU");
        let seen = std::thread::spawn(move || {
            pin_current_thread(last).expect("pinned");
            allowed_cpus()
        })
        .join()
        .expect("thread");
        assert_eq!(seen, [last]);
        // (the test thread itself is not pinned)
        assert_eq!(allowed_cpus(), allowed);
        assert!(pin_current_thread(libc::CPU_SETSIZE as usize).is_err());
    }
}
