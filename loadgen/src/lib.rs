//! A load generator for the producer and the mock broker.
//!
//! A [`Scenario`](scenario::Scenario) (read from TOML by [`scenario`], adjusted by
//! command-line [`cli`] flags) says what to send, where and how fast; the
//! [`runner`] drives its phases through [`producer::Producer`]s against a
//! [`target`] broker, each producer instance's sends measured by a
//! [`recorder`], and hands back a [`run_result`]; [`verdict`] checks the
//! scenario's thresholds against it, [`report`] turns it into the printed
//! summary, and [`json_report`] is the same report for machines; [`hgrm`]
//! writes a latency histogram for HdrHistogram's plotter.
//! [`schedule`], [`payload`] and [`value_size`] are the pure pieces: when each
//! message is due, what it carries (a [`message_id`] first) and how big its
//! value is, drawn by [`random`] generators; [`pacer`] waits for due times to
//! within microseconds. After the run, [`audit`] checks by message id what the
//! broker recorded, read in-process or, for an external mock broker, through
//! its [`admin`] API; [`faults`] puts the scenario's fault rules in force.
//!
//! Second by second, each stream of sends keeps an [`interval`] recorder; an
//! [`interval_collector`] task merges them into an [`interval_series`] and,
//! from the [`live`] counters, drives the [`progress`] display. [`hlog`]
//! writes the seconds as an HdrHistogram interval log, and [`html_report`]
//! the whole report as one HTML page with the [`run_charts`], drawn by
//! [`svg_chart`]. [`stop`] is
//! the switch Ctrl-C pulls. Numbers and durations are written by
//! [`format`](mod@format); [`run_metadata`] is what the reports say about
//! how a run was made (version, scenario file, duration scale, machine).
//!
//! Across machines: a [`shard`] is the part of a scenario one of N loadgen
//! processes runs; [`shard_report`] is what each writes into its JSON report
//! (the histograms as [`histogram_text`]) for [`merge`] to add up exactly, and
//! [`compare`] holds two reports against each other as a regression gate.
//!
//! The modules form layers; a module uses only its own layer and those below:
//! 1. [`format`](mod@format), [`message_id`], [`random`], [`recorder`],
//!    [`run_metadata`], [`stop`], [`shard`], [`histogram_text`], and the scenario's types in
//!    [`scenario`] (its `[thresholds]` limits included);
//! 2. what runs a scenario: [`schedule`], [`pacer`], [`payload`],
//!    [`value_size`], [`audit`], [`admin`], [`target`], [`faults`], the
//!    [`interval`] recorders and their collector, [`live`], [`progress`], and
//!    the [`runner`], which fills in a [`run_result`];
//! 3. what reads a run's result: [`verdict`], then the report writers
//!    ([`report`], [`json_report`], [`html_report`] with [`run_charts`] and [`svg_chart`],
//!    [`hgrm`], [`hlog`]), [`shard_report`], [`merge`] and [`compare`];
//! 4. [`cli`] and the `loadgen` binary.

// Helpers and the scenario's types.
pub mod format;
pub mod histogram_text;
pub mod message_id;
pub mod random;
pub mod recorder;
pub mod run_metadata;
pub mod scenario;
pub mod shard;
pub mod stop;

// Running a scenario, and its result.
pub mod admin;
pub mod audit;
pub mod faults;
pub mod interval;
pub mod interval_collector;
pub mod interval_series;
pub mod live;
pub mod live_audit;
pub mod pacer;
pub mod payload;
pub mod progress;
pub mod run_result;
pub mod runner;
pub mod schedule;
pub mod target;
pub mod value_size;

// Reading a run's result: threshold verdicts and the report writers.
pub mod compare;
pub mod hgrm;
pub mod hlog;
pub mod html_report;
pub mod json_report;
pub mod merge;
pub mod report;
pub mod run_charts;
pub mod shard_report;
pub mod svg_chart;
pub mod verdict;

// The command line.
pub mod cli;
