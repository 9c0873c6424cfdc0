//! Bounds-checked reads of big-endian fields from a frame body.

use bytes::{Buf, Bytes};

use super::error::FrameError;

/// Reads the fields of one frame body, turning every short read into a
/// [`FrameError::Malformed`] that names the field.
///
/// Byte fields are returned as slices of the frame (`Bytes`), never copied.
pub(crate) struct FieldReader {
    body: Bytes,
    correlation_id: u32,
}

impl FieldReader {
    pub(crate) fn new(body: Bytes, correlation_id: u32) -> Self {
        FieldReader {
            body,
            correlation_id,
        }
    }

    /// An error for this frame with the given reason.
    pub(crate) fn malformed(&self, reason: impl Into<String>) -> FrameError {
        FrameError::Malformed {
            correlation_id: Some(self.correlation_id),
            reason: reason.into(),
        }
    }

    /// The correlation id of the frame being read.
    pub(crate) fn correlation_id(&self) -> u32 {
        self.correlation_id
    }

    pub(crate) fn remaining(&self) -> usize {
        self.body.remaining()
    }

    fn need(&self, n: usize, field: &dyn std::fmt::Display) -> Result<(), FrameError> {
        if self.body.remaining() < n {
            return Err(self.malformed(format!(
                "{field} needs {n} bytes but only {} remain in the frame",
                self.body.remaining()
            )));
        }
        Ok(())
    }

    pub(crate) fn u8(&mut self, field: &dyn std::fmt::Display) -> Result<u8, FrameError> {
        self.need(1, field)?;
        Ok(self.body.get_u8())
    }

    pub(crate) fn u16(&mut self, field: &dyn std::fmt::Display) -> Result<u16, FrameError> {
        self.need(2, field)?;
        Ok(self.body.get_u16())
    }

    pub(crate) fn u32(&mut self, field: &dyn std::fmt::Display) -> Result<u32, FrameError> {
        self.need(4, field)?;
        Ok(self.body.get_u32())
    }

    pub(crate) fn i32(&mut self, field: &dyn std::fmt::Display) -> Result<i32, FrameError> {
        self.need(4, field)?;
        Ok(self.body.get_i32())
    }

    pub(crate) fn i64(&mut self, field: &dyn std::fmt::Display) -> Result<i64, FrameError> {
        self.need(8, field)?;
        Ok(self.body.get_i64())
    }

    pub(crate) fn bytes(
        &mut self,
        len: usize,
        field: &dyn std::fmt::Display,
    ) -> Result<Bytes, FrameError> {
        self.need(len, field)?;
        Ok(self.body.split_to(len))
    }

    /// A string with a `u16` length prefix, which must be valid UTF-8.
    pub(crate) fn string16(&mut self, field: &dyn std::fmt::Display) -> Result<String, FrameError> {
        let len = self.u16(&format_args!("{field} length"))? as usize;
        let raw = self.bytes(len, field)?;
        String::from_utf8(raw.to_vec())
            .map_err(|e| self.malformed(format!("{field} is not valid UTF-8: {e}")))
    }

    /// Fails unless every byte of the body was read.
    pub(crate) fn finish(self, what: &str) -> Result<(), FrameError> {
        if self.body.has_remaining() {
            return Err(self.malformed(format!(
                "{} bytes left over after the {what}",
                self.body.remaining()
            )));
        }
        Ok(())
    }
}
