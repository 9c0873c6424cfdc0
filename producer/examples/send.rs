//! Sends one message and logs where the broker stored it: the original design's `main`.
//!
//! ```text
//! cargo run -p producer --example send -- --broker 127.0.0.1:9092 --topic demo "hello"
//! ```
//! Exits non-zero with a one-line reason when the message cannot be delivered.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use producer::{Acks, Config, Producer, Protocol, Record};
use tracing_subscriber::EnvFilter;

/// Send one message to a broker and print where it was stored.
#[derive(Debug, Parser)]
struct Args {
    /// Broker address, host:port.
    #[arg(long, default_value = "127.0.0.1:9092")]
    broker: String,
    /// Topic to send to.
    #[arg(long, default_value = "demo")]
    topic: String,
    /// Producer settings as TOML (see `producer::Config`); --broker and --topic override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Key of the message (picks the partition).
    #[arg(long)]
    key: Option<String>,
    /// A header as NAME=VALUE; repeatable.
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// Acknowledgements to wait for: 0, 1, -1 or all.
    #[arg(long)]
    acks: Option<Acks>,
    /// Wire protocol: kafka (default) or frame.
    #[arg(long, value_parser = parse_protocol)]
    protocol: Option<Protocol>,
    /// The message.
    message: String,
}

fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text {
        "kafka" => Ok(Protocol::Kafka),
        "frame" => Ok(Protocol::Frame),
        other => Err(format!("protocol {other:?} is not kafka or frame")),
    }
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("header {text:?} is not NAME=VALUE"))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime always builds");
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("send: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), producer::Error> {
    let mut config = match &args.config {
        Some(path) => Config::from_toml_file(path)?,
        None => Config::default(),
    };
    config.broker_address = args.broker;
    config.topic = args.topic;
    if let Some(acks) = args.acks {
        config.acks = acks;
    }
    if let Some(protocol) = args.protocol {
        config.protocol = protocol;
    }
    let producer = Producer::new(config).await?;
    let mut record = Record::new(args.message);
    if let Some(key) = args.key {
        record = record.with_key(key);
    }
    for (name, value) in args.headers {
        record = record.with_header(name, value);
    }
    let delivery = producer.send(record).await?.await?;
    match (delivery.partition, delivery.offset) {
        (Some(partition), Some(offset)) => {
            tracing::info!(topic = %producer.config().topic, partition, offset, "message delivered");
            println!(
                "delivered to {} partition {partition} offset {offset}",
                producer.config().topic
            );
        }
        _ => {
            tracing::info!(topic = %producer.config().topic, "message sent (acks=0: no acknowledgement)");
            println!(
                "sent to {} (acks=0: not acknowledged)",
                producer.config().topic
            );
        }
    }
    producer.close().await;
    Ok(())
}
