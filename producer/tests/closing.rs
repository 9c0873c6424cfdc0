//! Closing and dropping a Kafka producer end every connection it opened,
//! seen through a TCP relay in front of the mock broker that every
//! connection goes through (the broker advertises the relay's address).

use std::time::Duration;

use mock_broker::{BrokerConfig, MockBroker};
use producer::{Config, Producer, Record};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the relay saw of one connection from the producer.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Opened,
    /// The producer's side reached end of stream (or broke).
    Ended,
}

/// A mock broker reached only through a relay; the relay reports each
/// connection the producer opens and each it ends.
async fn relayed_broker() -> (MockBroker, String, mpsc::UnboundedReceiver<Seen>) {
    let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_address = relay.local_addr().unwrap().to_string();
    let mut config = BrokerConfig::ephemeral();
    config.advertise = Some(relay_address.clone());
    let broker = MockBroker::start(config).await.expect("broker starts");
    let broker_address = broker.local_addr();
    let (seen, events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (client, _) = relay.accept().await.unwrap();
            let upstream = TcpStream::connect(broker_address).await.unwrap();
            let seen = seen.clone();
            let _ = seen.send(Seen::Opened);
            tokio::spawn(async move {
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_broker, mut to_broker) = upstream.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_broker, &mut to_client).await;
                });
                // Returns at the producer's end of stream.
                let _ = tokio::io::copy(&mut from_client, &mut to_broker).await;
                let _ = seen.send(Seen::Ended);
            });
        }
    });
    (broker, relay_address, events)
}

/// Takes the relay's reports so far: how many connections are open.
fn open_now(events: &mut mpsc::UnboundedReceiver<Seen>, open: &mut usize) {
    while let Ok(event) = events.try_recv() {
        match event {
            Seen::Opened => *open += 1,
            Seen::Ended => *open -= 1,
        }
    }
}

/// Waits, up to a generous timeout, until every connection the relay saw has ended.
async fn all_ended(events: &mut mpsc::UnboundedReceiver<Seen>, open: &mut usize) {
    open_now(events, open);
    tokio::time::timeout(Duration::from_secs(10), async {
        while *open > 0 {
            match events.recv().await.expect("the relay runs") {
                Seen::Opened => *open += 1,
                Seen::Ended => *open -= 1,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{open} connection(s) still open"));
}

async fn producer_with_a_record_sent(address: &str) -> Producer {
    let mut config = Config::new(address, "closing");
    config.idempotent = Some(true);
    let producer = Producer::new(config).await.expect("producer connects");
    producer
        .send(Record::new("hello"))
        .await
        .unwrap()
        .await
        .expect("delivered");
    producer
}

#[tokio::test]
async fn close_returns_once_every_kafka_connection_is_closed() {
    let (_broker, address, mut events) = relayed_broker().await;
    let producer = producer_with_a_record_sent(&address).await;
    let mut open = 0;
    open_now(&mut events, &mut open);
    assert!(open >= 1, "the producer holds its leader's connection");
    producer.close().await;
    // The handle is still alive: only `close` can have ended the connections.
    all_ended(&mut events, &mut open).await;
    drop(producer);
}

#[tokio::test]
async fn dropping_a_producer_without_close_ends_its_connections() {
    let (_broker, address, mut events) = relayed_broker().await;
    let producer = producer_with_a_record_sent(&address).await;
    let second = producer.clone();
    drop(producer);
    let mut open = 0;
    open_now(&mut events, &mut open);
    assert!(open >= 1, "a clone still holds the producer open");
    drop(second);
    all_ended(&mut events, &mut open).await;
}
