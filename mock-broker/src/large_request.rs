//! A large Kafka request read into memory of its own, handed to the kernel ahead of the bytes,
//! and recycled when the log lets go of it.
//!
//! The batches a produce brings are kept as slices of the request they came in (no copy), so
//! the memory a request is read into is, for the log, fresh memory: the kernel has to hand it
//! out, zeroed, page by page. Read into an ordinary buffer, every 4 KiB page of it is a page
//! fault taken while the socket's bytes are copied in. A request at least [`LARGE_REQUEST`]
//! bytes long (a megabyte of records from librdkafka's defaults, say) is instead read into an
//! anonymous mapping, whose pages are asked for [`POPULATE_STEP`] at a time just before the
//! bytes that fill them arrive (`MADV_POPULATE_WRITE`): the same pages, given in one call
//! instead of one fault each, for about a third less CPU per byte on the machine the broker
//! benchmark ran on (see the README). Populating only just ahead of the bytes keeps a client
//! that announces a large request and sends little from making the broker hold more than it
//! would hold for it in the read buffer.
//!
//! When the last batch of a request leaves the log (retention, the memory cap, a deleted
//! topic), its mapping goes back to the broker's [`MappingPool`], pages and all, and the next
//! large request of about its size is read into it without asking the kernel for anything: a
//! broker with a bounded log reads into the same memory over and over, as one that reuses its
//! buffers does. The pool keeps at most [`POOLED_BYTES`]; past that, mappings are unmapped.
//!
//! When the kernel cannot map or populate (no `MADV_POPULATE_WRITE` before Linux 5.14, another
//! system, the map count limit), the pages fault in as they would have, or the request is read
//! into the connection's buffer as any other: slower, never wrong.

use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use memmap2::{Advice, MmapMut, MmapOptions};

/// Requests of at least this many bytes (after the size prefix) are read into memory of their
/// own. Below it, the mapping's system calls cost more than the faults they save.
pub(crate) const LARGE_REQUEST: usize = 256 * 1024;

/// How far ahead of the bytes read the memory is populated; mappings are sized in multiples
/// of it, so that requests of about the same size can share them.
const POPULATE_STEP: usize = 256 * 1024;

/// The most memory the pool keeps for later requests: 32 MiB, enough to cycle the requests of
/// dozens of connections through a bounded log.
const POOLED_BYTES: usize = 32 << 20;

/// The size of the Kafka request `buffer` begins, after its size prefix, when it is large,
/// within `max_frame_bytes` (prefix included) and not whole yet: what to read into a
/// [`LargeRequest`] instead of the buffer. A size past the limit is not announced: splitting
/// the buffer refuses it.
pub(crate) fn announced(buffer: &[u8], max_frame_bytes: u32) -> Option<usize> {
    let prefix: [u8; 4] = buffer.get(..4)?.try_into().ok()?;
    let size = usize::try_from(i32::from_be_bytes(prefix)).ok()?;
    let within = size as u64 + 4 <= u64::from(max_frame_bytes);
    (size >= LARGE_REQUEST && within && buffer.len() - 4 < size).then_some(size)
}

/// Mappings whose requests the log no longer holds, populated as far as they were, for the
/// next large requests of the broker.
#[derive(Debug, Default)]
pub(crate) struct MappingPool {
    free: Mutex<Vec<Mapping>>,
}

/// An anonymous mapping and how much of it is populated (from its start).
#[derive(Debug)]
struct Mapping {
    memory: MmapMut,
    populated: usize,
}

impl MappingPool {
    /// A mapping for a request of `size` bytes: a pooled one of the same size class if there
    /// is one, else a new one (`None` if the kernel would not map it).
    fn take(&self, size: usize) -> Option<Mapping> {
        let len = size.div_ceil(POPULATE_STEP) * POPULATE_STEP;
        {
            let mut free = self.free.lock().expect("mapping pool lock");
            if let Some(at) = free.iter().position(|m| m.memory.len() == len) {
                return Some(free.swap_remove(at));
            }
        }
        match MmapOptions::new().len(len).map_anon() {
            Ok(memory) => Some(Mapping {
                memory,
                populated: 0,
            }),
            Err(e) => {
                tracing::debug!(size, error = %e, "could not map memory for a large request; reading it into the connection's buffer");
                None
            }
        }
    }

    /// Keeps `mapping` for a later request, unless the pool is full.
    fn give(&self, mapping: Mapping) {
        let mut free = self.free.lock().expect("mapping pool lock");
        let pooled: usize = free.iter().map(|m| m.memory.len()).sum();
        if pooled + mapping.memory.len() <= POOLED_BYTES {
            free.push(mapping);
        }
    }

    /// Bytes of mappings kept for later requests.
    #[cfg(test)]
    fn pooled(&self) -> usize {
        let free = self.free.lock().expect("mapping pool lock");
        free.iter().map(|m| m.memory.len()).sum()
    }
}

/// A request being read into its own memory: full when every byte its size prefix announced
/// has arrived.
pub(crate) struct LargeRequest {
    mapping: Mapping,
    /// The request's size, after its size prefix (the mapping may be larger).
    size: usize,
    /// Bytes read so far.
    filled: usize,
    /// Whether populating works here.
    populate: bool,
    pool: Weak<MappingPool>,
}

impl LargeRequest {
    /// Memory for a request of `size` bytes after its size prefix, holding `partial`, the bytes
    /// of it already read; `None` if the kernel would not map it (the caller reads the request
    /// into its buffer instead).
    pub(crate) fn start(
        size: usize,
        partial: &[u8],
        pool: &Arc<MappingPool>,
    ) -> Option<LargeRequest> {
        debug_assert!(partial.len() < size, "a whole request needs no reading");
        let mut request = LargeRequest {
            mapping: pool.take(size)?,
            size,
            filled: 0,
            populate: true,
            pool: Arc::downgrade(pool),
        };
        request.populate_up_to(partial.len());
        request.mapping.memory[..partial.len()].copy_from_slice(partial);
        request.filled = partial.len();
        Some(request)
    }

    /// Where the next bytes of the request go: memory already populated, at least one byte
    /// of it, and never past the request's end.
    pub(crate) fn unfilled(&mut self) -> &mut [u8] {
        if self.filled == self.mapping.populated {
            self.populate_up_to(self.filled + POPULATE_STEP);
        }
        let end = if self.populate {
            self.mapping.populated.min(self.size)
        } else {
            self.size
        };
        &mut self.mapping.memory[self.filled..end]
    }

    /// Notes that `n` more bytes were read into [`unfilled`](Self::unfilled).
    pub(crate) fn filled(&mut self, n: usize) {
        self.filled += n;
        debug_assert!(self.filled <= self.size);
        // Bytes written past the populated part (where populating failed) are populated too.
        self.mapping.populated = self.mapping.populated.max(self.filled);
    }

    /// Bytes of the request read so far.
    pub(crate) fn held(&self) -> usize {
        self.filled
    }

    /// Whether every byte of the request has arrived.
    pub(crate) fn is_complete(&self) -> bool {
        self.filled == self.size
    }

    /// The whole request (without its size prefix). Its memory lives as long as any slice of
    /// it, then goes back to the pool.
    pub(crate) fn into_bytes(self) -> Bytes {
        debug_assert!(self.is_complete());
        let size = self.size;
        let owner = Recycled {
            mapping: Some(self.mapping),
            pool: self.pool,
        };
        Bytes::from_owner(owner).slice(..size)
    }

    /// Populates the memory up to `end` (at most the request's end), if populating works here.
    fn populate_up_to(&mut self, end: usize) {
        let end = end.min(self.size);
        let from = self.mapping.populated;
        if !self.populate || end <= from {
            return;
        }
        if let Err(e) = self
            .mapping
            .memory
            .advise_range(Advice::PopulateWrite, from, end - from)
        {
            // The pages will fault in one by one instead, as in any buffer.
            tracing::debug!(error = %e, "MADV_POPULATE_WRITE failed; large requests fault their memory in");
            self.populate = false;
            return;
        }
        self.mapping.populated = end;
    }
}

/// A request's mapping while the log holds slices of it; back to the pool when it lets go.
struct Recycled {
    mapping: Option<Mapping>,
    pool: Weak<MappingPool>,
}

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        self.mapping.as_ref().map_or(&[], |m| &m.memory[..])
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        if let (Some(mapping), Some(pool)) = (self.mapping.take(), self.pool.upgrade()) {
            pool.give(mapping);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills `request` as reads would, `chunk` bytes at most per read, from `source`.
    fn fill(request: &mut LargeRequest, source: &[u8], chunk: usize) {
        while !request.is_complete() {
            let at = request.held();
            let into = request.unfilled();
            assert!(!into.is_empty(), "an unfinished request has room");
            let n = into.len().min(chunk).min(source.len() - at);
            into[..n].copy_from_slice(&source[at..at + n]);
            request.filled(n);
        }
    }

    fn source(size: usize, seed: usize) -> Vec<u8> {
        (0..size).map(|i| ((i + seed) * 7 % 251) as u8).collect()
    }

    #[test]
    fn only_large_requests_not_yet_whole_are_announced() {
        let prefix = |size: i32| size.to_be_bytes().to_vec();
        let max = 1 << 20;
        let large = LARGE_REQUEST as i32;
        assert_eq!(announced(&prefix(large), max), Some(LARGE_REQUEST));
        assert_eq!(announced(&prefix(large - 1), max), None);
        assert_eq!(announced(&prefix(-1), max), None);
        assert_eq!(announced(&[0, 4], max), None, "no whole prefix yet");
        let mut whole = prefix(large);
        whole.resize(4 + LARGE_REQUEST, 0);
        assert_eq!(announced(&whole, max), None, "a whole request is split");
        assert_eq!(
            announced(&prefix(max as i32 - 4), max),
            Some(max as usize - 4)
        );
        assert_eq!(
            announced(&prefix(max as i32 - 3), max),
            None,
            "the split refuses it"
        );
        assert_eq!(announced(&prefix(i32::MAX), max), None);
    }

    #[test]
    fn reads_a_request_whole_across_populate_steps() {
        let pool = Arc::new(MappingPool::default());
        let size = 3 * POPULATE_STEP + 123;
        let source = source(size, 0);
        for chunk in [1000, 65_536, POPULATE_STEP, size] {
            let mut request = LargeRequest::start(size, &source[..100], &pool).expect("mapped");
            assert_eq!(request.held(), 100);
            fill(&mut request, &source, chunk);
            let bytes = request.into_bytes();
            assert_eq!(&bytes[..], &source[..], "read in pieces of {chunk}");
        }
    }

    #[test]
    fn never_hands_out_more_than_a_step_past_what_was_read() {
        let pool = Arc::new(MappingPool::default());
        let size = 10 * POPULATE_STEP;
        let mut request = LargeRequest::start(size, &[], &pool).expect("mapped");
        let handed_out = request.unfilled().len();
        request.filled(10);
        let then = request.unfilled().len();
        if request.populate {
            assert!(handed_out <= POPULATE_STEP && then <= POPULATE_STEP);
            assert_eq!(request.mapping.populated, POPULATE_STEP);
        } else {
            // Without MADV_POPULATE_WRITE (before Linux 5.14) nothing is populated ahead: pages
            // fault in only where bytes land, so the whole rest may be handed out.
            assert_eq!(then, size - 10);
        }
    }

    #[test]
    fn memory_goes_back_to_the_pool_when_the_last_slice_goes_and_is_read_into_again() {
        let pool = Arc::new(MappingPool::default());
        let size = LARGE_REQUEST + 5000;
        let first = source(size, 1);
        let mut request = LargeRequest::start(size, &first[..10], &pool).expect("mapped");
        fill(&mut request, &first, size);
        let batch = request.into_bytes().slice(1000..2000);
        assert_eq!(pool.pooled(), 0, "held while a slice lives");
        assert_eq!(&batch[..], &first[1000..2000]);
        drop(batch);
        assert_eq!(pool.pooled(), 2 * POPULATE_STEP, "back in the pool");

        // A request of the same size class reuses it; its bytes are its own, not the last one's.
        let second = source(size - 3000, 2);
        let mut request = LargeRequest::start(second.len(), &[], &pool).expect("pooled");
        assert_eq!(pool.pooled(), 0, "taken from the pool");
        fill(&mut request, &second, 4096);
        let bytes = request.into_bytes();
        assert_eq!(bytes.len(), second.len());
        assert_eq!(&bytes[..], &second[..]);
    }

    #[test]
    fn the_pool_keeps_at_most_its_bound() {
        let pool = Arc::new(MappingPool::default());
        let size = 4 * POPULATE_STEP;
        let requests: Vec<Bytes> = (0..POOLED_BYTES / size + 3)
            .map(|i| {
                let data = source(size, i);
                let mut request = LargeRequest::start(size, &[], &pool).expect("mapped");
                fill(&mut request, &data, size);
                request.into_bytes()
            })
            .collect();
        drop(requests);
        assert_eq!(pool.pooled(), POOLED_BYTES);
    }
}
