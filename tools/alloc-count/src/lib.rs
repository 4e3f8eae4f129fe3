//! Counts a process's heap for framework-bench, with no change to the
//! program: loaded with `LD_PRELOAD`, it interposes `malloc`, `calloc`,
//! `realloc`, `reallocarray`, `free`, `memalign`, `posix_memalign`,
//! `aligned_alloc`, `valloc` and `pvalloc`, forwards each to glibc's own
//! (`__libc_malloc` and friends, so no `dlsym` and no recursion), and adds
//! what it did to counters in a shared page: the file named by
//! `FRAMEWORK_BENCH_HEAP_COUNTERS`, which the harness created and reads at
//! any moment, even after the process ended. Without that variable every
//! call is forwarded and nothing is counted.
//!
//! Bytes are the allocator's usable sizes (`malloc_usable_size`), taken
//! when a block is made and again when it is freed, so allocated minus
//! freed is exactly the bytes the program holds: its live heap.
//!
//! The page is [`SLOTS`] little-endian `u64`s; the harness's
//! `measure::heap` reads the same layout. Nothing here allocates.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU64, Ordering::Relaxed};

/// The page's slots, in order.
const MAGIC: usize = 0; // set to MAGIC_VALUE once the page is in use
const ALLOCATIONS: usize = 1; // blocks made: malloc, calloc, memalign..., realloc(NULL, n)
const FREES: usize = 2; // blocks freed: free(p), realloc(p, 0)
const REALLOCATIONS: usize = 3; // realloc of a block to a new size
const BYTES_ALLOCATED: usize = 4; // usable bytes of every block made, realloc's new block included
const BYTES_FREED: usize = 5; // usable bytes of every block freed, realloc's old block included
const PEAK_LIVE: usize = 6; // the most live bytes since the harness last set it
const PROCESSES: usize = 7; // processes that mapped the page (a fork keeps the mapping)
const SLOTS: usize = 8;

/// "fbheap01" in ASCII, little-endian.
const MAGIC_VALUE: u64 = u64::from_le_bytes(*b"fbheap01");
const PAGE_BYTES: usize = 4096;

const UNINIT: u8 = 0;
const INITIALISING: u8 = 1;
const READY: u8 = 2;
const OFF: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
static PAGE: AtomicPtr<AtomicU64> = AtomicPtr::new(std::ptr::null_mut());

unsafe extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_free(ptr: *mut c_void);
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    fn malloc_usable_size(ptr: *mut c_void) -> usize;
}

/// The counters, once the page is mapped; `None` when nothing is counted.
fn page() -> Option<&'static [AtomicU64; SLOTS]> {
    loop {
        match STATE.load(std::sync::atomic::Ordering::Acquire) {
            READY => {
                let page = PAGE.load(Relaxed);
                // SAFETY: set once to a shared mapping of PAGE_BYTES that is
                // never unmapped, aligned to a page.
                return Some(unsafe { &*page.cast::<[AtomicU64; SLOTS]>() });
            }
            OFF => return None,
            UNINIT => {
                if STATE
                    .compare_exchange(UNINIT, INITIALISING, Relaxed, Relaxed)
                    .is_ok()
                {
                    let next = match map_page() {
                        Some(page) => {
                            PAGE.store(page, Relaxed);
                            READY
                        }
                        None => OFF,
                    };
                    STATE.store(next, std::sync::atomic::Ordering::Release);
                }
            }
            // Another thread is mapping the page (which allocates nothing).
            _ => std::hint::spin_loop(),
        }
    }
}

/// Maps the file `FRAMEWORK_BENCH_HEAP_COUNTERS` names, shared.
fn map_page() -> Option<*mut AtomicU64> {
    // SAFETY: libc calls with a NUL-terminated name; none of them allocates.
    unsafe {
        let path = libc::getenv(c"FRAMEWORK_BENCH_HEAP_COUNTERS".as_ptr());
        if path.is_null() {
            return None;
        }
        let fd = libc::open(path, libc::O_RDWR | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        let mapped = libc::mmap(
            std::ptr::null_mut(),
            PAGE_BYTES,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        libc::close(fd);
        if mapped == libc::MAP_FAILED {
            return None;
        }
        let page = mapped.cast::<AtomicU64>();
        let slots = &*page.cast::<[AtomicU64; SLOTS]>();
        slots[PROCESSES].fetch_add(1, Relaxed);
        slots[MAGIC].store(MAGIC_VALUE, Relaxed);
        Some(page)
    }
}

/// After a process forks, the child shares the parent's mapping, and so
/// its counters: the page counts the whole process tree.
fn made(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    if let Some(page) = page() {
        // SAFETY: a block glibc just returned.
        let bytes = unsafe { malloc_usable_size(ptr) } as u64;
        page[ALLOCATIONS].fetch_add(1, Relaxed);
        raise_live(page, bytes);
    }
}

fn raise_live(page: &[AtomicU64; SLOTS], bytes: u64) {
    let allocated = page[BYTES_ALLOCATED]
        .fetch_add(bytes, Relaxed)
        .wrapping_add(bytes);
    let live = allocated.wrapping_sub(page[BYTES_FREED].load(Relaxed));
    if (live as i64) > page[PEAK_LIVE].load(Relaxed) as i64 {
        page[PEAK_LIVE].fetch_max(live, Relaxed);
    }
}

/// The usable size of a block about to be freed; 0 for null.
fn usable(ptr: *mut c_void) -> u64 {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: a live block of this allocator.
    unsafe { malloc_usable_size(ptr) as u64 }
}

fn freed(page: &[AtomicU64; SLOTS], bytes: u64) {
    page[FREES].fetch_add(1, Relaxed);
    page[BYTES_FREED].fetch_add(bytes, Relaxed);
}

/// # Safety
/// As glibc's `malloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    let ptr = unsafe { __libc_malloc(size) };
    made(ptr);
    ptr
}

/// # Safety
/// As glibc's `calloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    let ptr = unsafe { __libc_calloc(n, size) };
    made(ptr);
    ptr
}

/// # Safety
/// As glibc's `free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if !ptr.is_null()
        && let Some(page) = page()
    {
        freed(page, usable(ptr));
    }
    unsafe { __libc_free(ptr) }
}

/// # Safety
/// As glibc's `realloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        return unsafe { malloc(size) };
    }
    let old = usable(ptr);
    let new = unsafe { __libc_realloc(ptr, size) };
    let Some(page) = page() else { return new };
    if size == 0 {
        // glibc frees the block and returns NULL.
        freed(page, old);
    } else if !new.is_null() {
        page[REALLOCATIONS].fetch_add(1, Relaxed);
        page[BYTES_FREED].fetch_add(old, Relaxed);
        raise_live(page, usable(new));
    }
    new
}

/// # Safety
/// As glibc's `reallocarray`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reallocarray(ptr: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(bytes) => unsafe { realloc(ptr, bytes) },
        None => {
            set_errno(libc::ENOMEM);
            std::ptr::null_mut()
        }
    }
}

/// # Safety
/// As glibc's `memalign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    let ptr = unsafe { __libc_memalign(align, size) };
    made(ptr);
    ptr
}

/// # Safety
/// As glibc's `aligned_alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    unsafe { memalign(align, size) }
}

/// # Safety
/// As glibc's `posix_memalign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_power_of_two() || !align.is_multiple_of(size_of::<*mut c_void>()) {
        return libc::EINVAL;
    }
    let ptr = unsafe { memalign(align, size) };
    if ptr.is_null() {
        return libc::ENOMEM;
    }
    unsafe { *out = ptr };
    0
}

/// # Safety
/// As glibc's `valloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    unsafe { memalign(page_size(), size) }
}

/// # Safety
/// As glibc's `pvalloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    let page = page_size();
    match size.checked_add(page - 1) {
        Some(rounded) => unsafe { memalign(page, rounded & !(page - 1)) },
        None => {
            set_errno(libc::ENOMEM);
            std::ptr::null_mut()
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(PAGE_BYTES)
}

fn set_errno(code: c_int) {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = code };
}
