//! Rust's own allocations (the core's strings and lists; PHP values come from the engine) go to
//! mimalloc: glibc malloc was a third of a call (bench/README.md has the figures).
//!
//! Through `mi_malloc` rather than the `mimalloc` crate's `MiMalloc`, which asks for every
//! block with `mi_malloc_aligned(size, align)`. mimalloc 3 serves such a request from its fast
//! path only when the size class's page has a free block at the right alignment; a size whose
//! class is not a power of two (a `Vec` of 384 bytes, a 24-byte string) takes the
//! over-allocating path every time, so its page never gets one: two thirds of a `test`
//! webhook's allocations went that way (callgrind, ~160 instructions each instead of ~15).
//! Every mimalloc block is aligned to at least 8 bytes, so alignments up to 8 — all of ours
//! but SIMD and atomics' odd ones — need no aligned call.
//!
//! Release builds only: `cargo php stubs` loads the debug build and frees the description the
//! library hands it with its own allocator, which must then be the same one.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned};

/// The alignment every mimalloc block has whatever its size (its blocks are whole words).
const BLOCK_ALIGN: usize = 8;

/// mimalloc, asked plainly when the alignment is one every block has.
pub struct PlainMiMalloc;

// SAFETY: each call hands mimalloc's own answer back unchanged. A block from `mi_malloc` or
// `mi_zalloc` is aligned to `BLOCK_ALIGN`, enough for the layouts that take that path; any larger
// alignment goes through mimalloc's aligned calls. `mi_free` frees blocks of either kind, and
// `mi_realloc` keeps a block's alignment at `BLOCK_ALIGN`, as `mi_realloc_aligned` keeps its own.
unsafe impl GlobalAlloc for PlainMiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: see the impl.
            unsafe { mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: see the impl.
            unsafe { mi_malloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: see the impl.
            unsafe { mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: see the impl.
            unsafe { mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from one of the calls above (GlobalAlloc's contract).
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: `ptr` came from the calls above; see the impl.
            unsafe { mi_realloc(ptr.cast::<c_void>(), new_size).cast() }
        } else {
            // SAFETY: as above.
            unsafe { mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast() }
        }
    }
}

#[cfg(not(debug_assertions))]
#[global_allocator]
static ALLOCATOR: PlainMiMalloc = PlainMiMalloc;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every alignment up to a page, sizes around each: the block is aligned, holds what was
    /// written, keeps it through a reallocation, and zeroed memory is zero.
    #[test]
    fn blocks_are_aligned_and_keep_their_bytes() {
        let alloc = PlainMiMalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 7, 8, 12, 24, 40, 100, 384, 5000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size; each block is written within its size and freed once.
                unsafe {
                    let p = alloc.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xA5, size);
                    let q = alloc.realloc(p, layout, size * 3);
                    assert_eq!(q as usize % align, 0, "realloc: size {size} align {align}");
                    assert!((0..size).all(|i| *q.add(i) == 0xA5));
                    alloc.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = alloc.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    alloc.dealloc(z, layout);
                }
            }
        }
    }
}
