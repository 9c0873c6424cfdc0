//! Bytes on their way to a client: what encoders wrote, with shared payloads
//! (stored record batches) spliced in between without a copy.
//!
//! Encoders write into [`Outgoing::writer`]; Fetch hands its stored batches to
//! [`Outgoing::splice`], which keeps them as they are, so a response goes to
//! the socket as one vectored write of the encoded parts and the batches'
//! own memory.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Payloads shorter than this are copied in: a copy is cheaper than a piece of their own.
const COPY_BELOW: usize = 1024;

/// A sequence of bytes to send, made of whole pieces followed by a writable tail.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    /// Finished pieces, in order, before `tail`.
    pieces: VecDeque<Bytes>,
    /// The bytes in `pieces`.
    pieces_len: usize,
    /// Where encoders write; always after every piece.
    tail: BytesMut,
}

impl Outgoing {
    /// How many bytes there are to send.
    pub(crate) fn len(&self) -> usize {
        self.pieces_len + self.tail.len()
    }

    /// Whether there is nothing to send.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where an encoder appends bytes of its own.
    pub(crate) fn writer(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Appends `bytes` without copying them (unless they are short).
    pub(crate) fn splice(&mut self, bytes: Bytes) {
        if bytes.len() < COPY_BELOW {
            self.tail.extend_from_slice(&bytes);
            return;
        }
        self.seal_tail();
        self.pieces_len += bytes.len();
        self.pieces.push_back(bytes);
    }

    /// Appends everything `other` holds, its pieces without a copy.
    pub(crate) fn append(&mut self, mut other: Outgoing) {
        if !other.pieces.is_empty() {
            self.seal_tail();
            self.pieces_len += other.pieces_len;
            self.pieces.append(&mut other.pieces);
        }
        self.tail.extend_from_slice(&other.tail);
    }

    /// Splits off the bytes from `at` on (a position `len` once returned), leaving those before it.
    ///
    /// # Panics
    /// If `at` is past the end.
    pub(crate) fn split_off(&mut self, at: usize) -> Outgoing {
        assert!(at <= self.len(), "split at {at} of {} bytes", self.len());
        if at >= self.pieces_len {
            return Outgoing {
                tail: self.tail.split_off(at - self.pieces_len),
                ..Outgoing::default()
            };
        }
        let mut kept = 0;
        let mut index = 0;
        while kept + self.pieces[index].len() <= at {
            kept += self.pieces[index].len();
            index += 1;
        }
        let mut later: VecDeque<Bytes> = self.pieces.split_off(index);
        let first = later.front_mut().expect("`at` lies inside a piece");
        let before = first.split_to(at - kept);
        if !before.is_empty() {
            self.pieces.push_back(before);
        }
        let later_len = self.pieces_len - at;
        self.pieces_len = at;
        Outgoing {
            pieces: later,
            pieces_len: later_len,
            tail: std::mem::take(&mut self.tail),
        }
    }

    /// Turns what the tail holds into a piece, so that a spliced payload can follow it.
    fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            let sealed = self.tail.split().freeze();
            self.pieces_len += sealed.len();
            self.pieces.push_back(sealed);
        }
    }
}

impl Buf for Outgoing {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn chunk(&self) -> &[u8] {
        match self.pieces.front() {
            Some(piece) => piece,
            None => &self.tail,
        }
    }

    fn advance(&mut self, mut count: usize) {
        while count > 0 {
            let Some(piece) = self.pieces.front_mut() else {
                self.tail.advance(count);
                return;
            };
            let step = count.min(piece.len());
            piece.advance(step);
            self.pieces_len -= step;
            count -= step;
            if piece.is_empty() {
                self.pieces.pop_front();
            }
        }
    }

    fn chunks_vectored<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        let parts = self
            .pieces
            .iter()
            .map(|piece| &piece[..])
            .chain(std::iter::once(&self.tail[..]));
        for part in parts.filter(|part| !part.is_empty()) {
            let Some(slot) = slices.get_mut(filled) else {
                break;
            };
            *slot = IoSlice::new(part);
            filled += 1;
        }
        filled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pieces` as an `Outgoing`: short ones written, long ones spliced.
    fn outgoing(parts: &[Vec<u8>]) -> Outgoing {
        let mut out = Outgoing::default();
        for part in parts {
            if part.len() < 8 {
                out.writer().extend_from_slice(part);
            } else {
                out.splice(Bytes::from(part.clone()));
            }
        }
        out
    }

    fn drain(mut out: Outgoing) -> Vec<u8> {
        let mut all = Vec::new();
        while out.has_remaining() {
            let chunk = out.chunk().to_vec();
            out.advance(chunk.len());
            all.extend(chunk);
        }
        all
    }

    fn parts() -> Vec<Vec<u8>> {
        vec![
            b"head".to_vec(),
            vec![1; 2000],
            b"mid".to_vec(),
            vec![2; 1500],
            vec![3; 1200],
            b"end".to_vec(),
        ]
    }

    #[test]
    fn spliced_payloads_are_kept_as_they_are_and_read_back_in_order() {
        let payload = Bytes::from(vec![7u8; 4096]);
        let mut out = Outgoing::default();
        out.writer().extend_from_slice(b"header");
        out.splice(payload.clone());
        out.writer().extend_from_slice(b"trailer");
        let mut slices = [IoSlice::new(&[]); 8];
        let count = out.chunks_vectored(&mut slices);
        assert_eq!(count, 3);
        assert_eq!(
            slices[1].as_ptr(),
            payload.as_ptr(),
            "the payload is written from its own memory, not a copy"
        );
        let expected: Vec<u8> = [&b"header"[..], &payload, b"trailer"].concat();
        assert_eq!(drain(out), expected);
    }

    #[test]
    fn short_payloads_are_copied_into_the_tail() {
        let mut out = Outgoing::default();
        out.writer().extend_from_slice(b"a");
        out.splice(Bytes::from_static(b"bc"));
        assert_eq!(out.pieces.len(), 0);
        assert_eq!(drain(out), b"abc");
    }

    #[test]
    fn split_off_at_every_position_keeps_both_halves_in_order() {
        let all: Vec<u8> = parts().concat();
        for at in 0..=all.len() {
            let mut front = outgoing(&parts());
            let back = front.split_off(at);
            assert_eq!(front.len(), at);
            assert_eq!(drain(front), all[..at], "front of a split at {at}");
            assert_eq!(drain(back), all[at..], "back of a split at {at}");
        }
    }

    #[test]
    fn advancing_partway_through_pieces_keeps_the_rest() {
        let all: Vec<u8> = parts().concat();
        for step in [1, 3, 700, 1999, 2004, 5000] {
            let mut out = outgoing(&parts());
            let mut seen = Vec::new();
            while out.has_remaining() {
                let take = step.min(out.chunk().len());
                seen.extend_from_slice(&out.chunk()[..take]);
                out.advance(take);
                assert_eq!(out.len(), all.len() - seen.len());
            }
            assert_eq!(seen, all, "advancing {step} at a time");
        }
    }

    #[test]
    fn appending_moves_pieces_and_copies_the_tail() {
        let mut front = outgoing(&parts()[..2]);
        let back = outgoing(&parts()[2..]);
        front.append(back);
        assert_eq!(drain(front), parts().concat());
    }
}
