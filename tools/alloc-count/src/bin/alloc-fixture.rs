//! A program with known allocations, for the tests of the counts:
//! `alloc-fixture N K M` makes N blocks of K bytes with `malloc` and frees M
//! of them, between two handshakes on stdin and stdout, so that the page
//! read around them holds exactly those calls. Reads and writes go through
//! the system calls, which allocate nothing.

use std::ffi::c_void;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("alloc-fixture N K M: numbers"))
        .collect();
    let [n, k, m] = args[..] else {
        panic!("alloc-fixture N K M");
    };
    let mut blocks: Vec<*mut c_void> = Vec::with_capacity(n);
    handshake(b"ready\n");
    for _ in 0..n {
        // SAFETY: malloc of K bytes; freed below or at exit.
        let block = unsafe { libc::malloc(k) };
        blocks.push(std::hint::black_box(block));
    }
    for &block in blocks.iter().take(m) {
        // SAFETY: a block malloc gave, freed once.
        unsafe { libc::free(std::hint::black_box(block)) };
    }
    handshake(b"done\n");
}

/// Says `line` on stdout, then waits for one byte on stdin.
fn handshake(line: &[u8]) {
    let mut byte = [0u8; 1];
    // SAFETY: plain reads and writes of the process's own buffers.
    unsafe {
        libc::write(1, line.as_ptr().cast(), line.len());
        libc::read(0, byte.as_mut_ptr().cast(), 1);
    }
}
