//! Which CPU each worker thread runs on.
//!
//! A worker pinned to one CPU keeps that core's caches for its own event loop and its
//! inspection tables; left to the scheduler, a busy worker is moved between cores when the
//! client, the upstream and the kernel's network work wake on them, and refills both
//! cores' caches (through the proxy with CRS loaded on two cores: about 4% more requests a
//! second pinned, GET ahead in 10 of 12 alternating pairs, the form in 5 of 6).
//!
//! Workers are pinned only when there is one per CPU the process may run on (its affinity
//! mask: a cpuset of `taskset` or a container), as with the default worker count on a
//! dedicated machine. Fewer workers than allowed CPUs (a container whose CPU quota is
//! smaller than its cpuset, where every replica would pin to the same first CPUs) or more
//! are left to the scheduler. Threads a pinned worker starts (its runtime's blocking pool)
//! get the whole mask back.

/// The CPU for each of `workers` workers, from the CPUs the process may run on
/// (`allowed`, in order): worker `i` on the `i`-th when there is one worker per allowed
/// CPU; None for every worker otherwise, when pinning is off, or for a single CPU.
pub fn worker_cpus(allowed: &[usize], workers: usize, pin: bool) -> Vec<Option<usize>> {
    if !pin || allowed.len() < 2 || workers != allowed.len() {
        return vec![None; workers];
    }
    allowed.iter().copied().map(Some).collect()
}

/// The CPUs the calling thread may run on, in order (empty when the kernel does not say:
/// another system, or more CPUs than a `cpu_set_t` holds).
#[cfg(target_os = "linux")]
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

#[cfg(not(target_os = "linux"))]
pub fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

/// Lets the calling thread run on `cpus` alone.
#[cfg(target_os = "linux")]
pub fn run_current_thread_on(cpus: &[usize]) -> std::io::Result<()> {
    if let Some(&cpu) = cpus.iter().find(|&&c| c >= libc::CPU_SETSIZE as usize) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("CPU {cpu} is past the largest CPU set"),
        ));
    }
    if cpus.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no CPU to run on",
        ));
    }
    // SAFETY: as in `allowed_cpus`; `CPU_SET` writes bits below `CPU_SETSIZE` (checked
    // above), and `sched_setaffinity` reads `size_of::<cpu_set_t>()` bytes.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
pub fn run_current_thread_on(_cpus: &[usize]) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "CPU affinity is set on Linux only",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One worker per allowed CPU, in their order (a cpuset need not start at 0 nor be
    /// contiguous); nothing is pinned when pinning is off, for one CPU, or when the
    /// workers are fewer (a CPU quota below the cpuset) or more than the allowed CPUs.
    #[test]
    fn one_worker_per_allowed_cpu_is_pinned() {
        assert_eq!(
            worker_cpus(&[2, 5, 7], 3, true),
            [Some(2), Some(5), Some(7)]
        );
        assert_eq!(worker_cpus(&[0, 1], 2, true), [Some(0), Some(1)]);
        assert_eq!(worker_cpus(&[0, 1], 2, false), [None, None]);
        assert_eq!(worker_cpus(&[3], 1, true), [None]);
        assert_eq!(worker_cpus(&[0, 1, 2, 3], 2, true), [None, None]);
        assert_eq!(worker_cpus(&[0, 1], 3, true), [None, None, None]);
        assert_eq!(worker_cpus(&[], 1, true), [None]);
    }

    /// A thread pinned to one of its allowed CPUs may then run on that CPU alone, and given
    /// the whole set back runs on all of them again; a CPU past the largest set, or none,
    /// is refused with an error, not a panic.
    #[test]
    fn a_pinned_thread_runs_on_its_cpu_alone() {
        let allowed = allowed_cpus();
        assert!(!allowed.is_empty(), "the kernel reports this thread's CPUs");
        let last = *allowed.last().expect("a CPU");
        let whole = allowed.clone();
        let (pinned, restored) = std::thread::spawn(move || {
            run_current_thread_on(&[last]).expect("pinned");
            let pinned = allowed_cpus();
            run_current_thread_on(&whole).expect("restored");
            (pinned, allowed_cpus())
        })
        .join()
        .expect("thread");
        assert_eq!(pinned, [last]);
        assert_eq!(restored, allowed);
        // (the test thread itself is not pinned)
        assert_eq!(allowed_cpus(), allowed);
        assert!(run_current_thread_on(&[libc::CPU_SETSIZE as usize]).is_err());
        assert!(run_current_thread_on(&[]).is_err());
    }
}
