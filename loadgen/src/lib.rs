//! A load generator for the producer and the mock broker.
//!
//! A [`Scenario`](scenario::Scenario) (read from TOML by [`scenario`], adjusted by
//! command-line [`cli`] flags) says what to send, where and how fast; the
//! [`runner`] drives its phases through [`producer::Producer`]s against a
//! [`target`] broker, each producer instance's sends measured by a
//! [`recorder`], and [`report`] turns the result into the printed summary;
//! [`thresholds`] decides whether the run passed, and [`json_report`] is the
//! same report for machines; [`hgrm`] writes a latency histogram for HdrHistogram's plotter.
//! [`schedule`], [`payload`] and [`value_size`] are the pure pieces: when each
//! message is due, what it carries and how big its value is, drawn by [`random`]
//! generators; [`pacer`] waits for due times to within microseconds.
//! After the run, [`audit`] checks by message id what the broker recorded,
//! read in-process or, for an external mock broker, through its [`admin`] API.
//!
//! Second by second, each stream of sends keeps an [`interval`] recorder; an
//! [`interval_collector`] task merges them into an [`interval_series`] and,
//! from the [`live`] counters, drives the [`progress`] display. [`hlog`]
//! writes the seconds as an HdrHistogram interval log, and [`html_report`]
//! the whole report as one HTML page with [`svg_chart`] charts. [`stop`] is
//! the switch Ctrl-C pulls.

pub mod admin;
pub mod audit;
pub mod cli;
pub mod faults;
pub mod format;
pub mod hgrm;
pub mod hlog;
pub mod html_report;
pub mod interval;
pub mod interval_collector;
pub mod interval_series;
pub mod json_report;
pub mod live;
pub mod message_id;
pub mod pacer;
pub mod payload;
pub mod progress;
pub mod random;
pub mod recorder;
pub mod report;
pub mod run_result;
pub mod runner;
pub mod scenario;
pub mod schedule;
pub mod stop;
pub mod svg_chart;
pub mod target;
pub mod value_size;
pub mod verdict;
