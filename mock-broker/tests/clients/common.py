"""What every Python client script sends and reports, so the Rust tests can check the recordings.

Message i has key "k{i}", value "v{i}-" followed by PADDING (long enough that compression pays), and
the headers idx={i} and client={client name}. Keep this in step with `sent_messages` in
mock-broker/tests/real_clients.rs and with produce_kafkajs.js.
"""

import argparse
import json
import sys
import time

PADDING = "payload-" * 12

# A client that cannot deliver gives up well before the test harness kills it (120 s).
DELIVERY_TIMEOUT_S = 60
FLUSH_TIMEOUT_S = 90


def message(i, client):
    """The key, value and headers of message i, as UTF-8 bytes."""
    return (
        f"k{i}".encode(),
        f"v{i}-{PADDING}".encode(),
        [("idx", str(i).encode()), ("client", client.encode())],
    )


def parse_args(description):
    """BOOTSTRAP TOPIC COUNT [name=value ...] [--deliveries FILE]."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("bootstrap", help="host:port[,host:port...]")
    parser.add_argument("topic")
    parser.add_argument("count", type=int, help="messages to produce")
    parser.add_argument(
        "options", nargs="*", metavar="name=value", help="client configuration"
    )
    parser.add_argument(
        "--deliveries",
        metavar="FILE",
        help='write {"k0": [partition, offset], ...} as reported by the client',
    )
    args = parser.parse_args()
    options = {}
    for option in args.options:
        name, sep, value = option.partition("=")
        if not sep:
            parser.error(f"option {option!r} is not name=value")
        options[name] = value
    return args, options


def finish(client, args, deliveries, errors, started):
    """Writes the deliveries, prints the one-line summary and exits: 1 on any error."""
    if args.deliveries:
        with open(args.deliveries, "w") as f:
            json.dump(deliveries, f)
    seconds = time.monotonic() - started
    per_partition = {}
    for partition, _ in deliveries.values():
        per_partition[partition] = per_partition.get(partition, 0) + 1
    spread = ", ".join(f"{p}: {n}" for p, n in sorted(per_partition.items()))
    print(
        f"{client}: {len(deliveries)} of {args.count} messages delivered to "
        f"{args.topic} in {seconds:.2f} s, per partition {{{spread}}}, "
        f"{len(errors)} errors"
    )
    for error in errors[:10]:
        print(f"{client}: {error}", file=sys.stderr)
    if len(errors) > 10:
        print(f"{client}: … and {len(errors) - 10} more errors", file=sys.stderr)
    sys.exit(1 if errors or len(deliveries) != args.count else 0)
