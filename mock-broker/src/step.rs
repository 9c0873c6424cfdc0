//! What a protocol's session did with the next request in a connection's
//! buffer: the connection reads more, sends, or closes accordingly.

use std::time::Duration;

/// The outcome of one request, `E` being why the connection must close.
#[derive(Debug)]
pub(crate) enum Step<E> {
    /// No whole request in the buffer yet: read more.
    Incomplete,
    /// A request was handled; its response, if it has one, was appended to
    /// the output, to be held back this long (a `latency` fault), if at all.
    Answered(Option<Duration>),
    /// Close the connection once the output (held back as for `Answered`) is sent.
    Close(E, Option<Duration>),
}

impl<E> Step<E> {
    /// The same step, its reason to close turned into `F`.
    pub(crate) fn map_close<F>(self, f: impl FnOnce(E) -> F) -> Step<F> {
        match self {
            Step::Incomplete => Step::Incomplete,
            Step::Answered(hold) => Step::Answered(hold),
            Step::Close(reason, hold) => Step::Close(f(reason), hold),
        }
    }
}
