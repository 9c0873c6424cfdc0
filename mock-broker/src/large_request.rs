//! A large Kafka request read into memory of its own, handed to the kernel ahead of the bytes.
//!
//! The batches a produce brings are kept as slices of the request they came in (no copy), so
//! the memory a request is read into is, for the log, fresh memory: the kernel has to hand it
//! out, zeroed, page by page. Read into an ordinary buffer, every 4 KiB page of it is a page
//! fault taken while the socket's bytes are copied in. A request at least [`LARGE_REQUEST`]
//! bytes long (a megabyte of records from librdkafka's defaults, say) is instead read into an
//! anonymous mapping of exactly its size, whose pages are asked for [`POPULATE_STEP`] at a time
//! just before the bytes that fill them arrive (`MADV_POPULATE_WRITE`): the same pages, given
//! in one call instead of one fault each, for about 30% less CPU per byte on the machine the
//! broker benchmark ran on (see the README). Populating only just ahead of the bytes keeps a
//! client that announces a large request and sends little from making the broker hold more than
//! it would hold for it in the read buffer.
//!
//! When the kernel cannot map or populate (no `MADV_POPULATE_WRITE` before Linux 5.14, another
//! system, the map count limit), the pages fault in as they would have, or the request is read
//! into the connection's buffer as any other: slower, never wrong.

use bytes::Bytes;
use memmap2::{Advice, MmapMut, MmapOptions};

/// Requests of at least this many bytes (after the size prefix) are read into memory of their
/// own. Below it, the mapping's system calls cost more than the faults they save.
pub(crate) const LARGE_REQUEST: usize = 256 * 1024;

/// How far ahead of the bytes read the memory is populated.
const POPULATE_STEP: usize = 256 * 1024;

/// The size of the request `buffer` begins, after its size prefix, when it is large and not
/// whole yet: what to read into a [`LargeRequest`]. The prefix was checked when the buffer was
/// last split (at least a header, at most `max_frame_bytes`).
pub(crate) fn announced(buffer: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buffer.get(..4)?.try_into().ok()?;
    let size = usize::try_from(i32::from_be_bytes(prefix)).ok()?;
    (size >= LARGE_REQUEST && buffer.len() - 4 < size).then_some(size)
}

/// A request being read into its own memory: full when every byte its size prefix announced
/// has arrived.
pub(crate) struct LargeRequest {
    memory: MmapMut,
    /// Bytes read so far.
    filled: usize,
    /// Bytes of `memory` populated so far (where populating works at all).
    populated: usize,
    populate: bool,
}

impl LargeRequest {
    /// Memory for a request of `size` bytes after its size prefix, holding `partial`, the bytes
    /// of it already read; `None` if the kernel would not map it (the caller reads the request
    /// into its buffer instead).
    pub(crate) fn start(size: usize, partial: &[u8]) -> Option<LargeRequest> {
        debug_assert!(partial.len() < size, "a whole request needs no reading");
        let memory = match MmapOptions::new().len(size).map_anon() {
            Ok(memory) => memory,
            Err(e) => {
                tracing::debug!(size, error = %e, "could not map memory for a large request; reading it into the connection's buffer");
                return None;
            }
        };
        let mut request = LargeRequest {
            memory,
            filled: 0,
            populated: 0,
            populate: true,
        };
        request.populate_up_to(partial.len());
        request.memory[..partial.len()].copy_from_slice(partial);
        request.filled = partial.len();
        Some(request)
    }

    /// Where the next bytes of the request go, populated; at most one populate step of it, so
    /// that a read never runs ahead of the populated memory.
    pub(crate) fn unfilled(&mut self) -> &mut [u8] {
        if self.populate && self.filled == self.populated {
            self.populate_up_to(self.filled + POPULATE_STEP);
        }
        let end = if self.populate {
            self.populated
        } else {
            self.memory.len()
        };
        &mut self.memory[self.filled..end]
    }

    /// Notes that `n` more bytes were read into [`unfilled`](Self::unfilled).
    pub(crate) fn filled(&mut self, n: usize) {
        self.filled += n;
        debug_assert!(self.filled <= self.memory.len());
    }

    /// Bytes of the request read so far.
    pub(crate) fn held(&self) -> usize {
        self.filled
    }

    /// Whether every byte of the request has arrived.
    pub(crate) fn is_complete(&self) -> bool {
        self.filled == self.memory.len()
    }

    /// The whole request (without its size prefix); the memory lives as long as any slice of it.
    pub(crate) fn into_bytes(self) -> Bytes {
        debug_assert!(self.is_complete());
        Bytes::from_owner(self.memory)
    }

    /// Populates the memory up to `end` (at most its length), if populating works here.
    fn populate_up_to(&mut self, end: usize) {
        let end = end.min(self.memory.len());
        if !self.populate || end <= self.populated {
            return;
        }
        let len = end - self.populated;
        if let Err(e) = self
            .memory
            .advise_range(Advice::PopulateWrite, self.populated, len)
        {
            // The pages will fault in one by one instead, as in any buffer.
            tracing::debug!(error = %e, "MADV_POPULATE_WRITE failed; large requests fault their memory in");
            self.populate = false;
            return;
        }
        self.populated = end;
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

    #[test]
    fn reads_a_request_whole_across_populate_steps() {
        let size = 3 * POPULATE_STEP + 123;
        let source: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        for chunk in [1000, 65_536, POPULATE_STEP, size] {
            let mut request = LargeRequest::start(size, &source[..100]).expect("mapped");
            assert_eq!(request.held(), 100);
            fill(&mut request, &source, chunk);
            let bytes = request.into_bytes();
            assert_eq!(&bytes[..], &source[..], "read in pieces of {chunk}");
        }
    }

    #[test]
    fn never_hands_out_more_than_a_step_past_what_was_read() {
        let size = 10 * POPULATE_STEP;
        let mut request = LargeRequest::start(size, &[]).expect("mapped");
        assert!(request.unfilled().len() <= POPULATE_STEP);
        request.filled(10);
        assert!(request.unfilled().len() <= POPULATE_STEP);
        assert!(request.populated <= POPULATE_STEP || !request.populate);
    }

    #[test]
    fn only_large_requests_not_yet_whole_are_announced() {
        let prefix = |size: i32| size.to_be_bytes().to_vec();
        assert_eq!(
            announced(&prefix(LARGE_REQUEST as i32)),
            Some(LARGE_REQUEST)
        );
        assert_eq!(announced(&prefix(LARGE_REQUEST as i32 - 1)), None);
        assert_eq!(announced(&prefix(-1)), None);
        assert_eq!(announced(&[0, 4]), None, "no whole prefix yet");
        let mut whole = prefix(LARGE_REQUEST as i32);
        whole.resize(4 + LARGE_REQUEST, 0);
        assert_eq!(
            announced(&whole),
            None,
            "a whole request is split as any other"
        );
    }

    #[test]
    fn slices_of_the_request_outlive_it() {
        let size = LARGE_REQUEST;
        let source = vec![42u8; size];
        let mut request = LargeRequest::start(size, &source[..10]).expect("mapped");
        fill(&mut request, &source, size);
        let batch = request.into_bytes().slice(1000..2000);
        assert_eq!(&batch[..], &source[1000..2000]);
    }
}
