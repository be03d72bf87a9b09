"""The store's tables (SQLAlchemy Core). Alembic migrations (migrations/) build exactly
this schema; tests/core/test_store.py checks that they do."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# every status a device, component, topology node or load went through
transitions = Table(
    "status_transitions", metadata,
    Column("id", Integer, primary_key=True),
    Column("ts", Float, nullable=False),
    Column("kind", String(16), nullable=False),  # device | component | node | load
    Column("subject", String(255), nullable=False),  # device id, "device/component", node id
    Column("subsystem", String(32)),
    Column("old", String(16)),
    Column("new", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("conditions", Text, nullable=False, default="[]"),  # JSON list
    Index("ix_transitions_subject_ts", "kind", "subject", "ts"),
    Index("ix_transitions_ts", "ts"),
)

# a load (or a device) not served: from `start_ts` until `end_ts` (NULL while open)
outages = Table(
    "outages", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # load | device
    Column("subject", String(255), nullable=False),
    Column("subsystem", String(32)),
    Column("start_ts", Float, nullable=False),
    Column("end_ts", Float),
    Column("cause", Text, nullable=False, default=""),
    Column("planned", Boolean, nullable=False, default=False),
    Column("affected", Text, nullable=False, default="[]"),  # JSON list of load ids
    Column("maintenance_id", Integer),
    Index("ix_outages_subject", "kind", "subject", "start_ts"),
    Index("ix_outages_open", "end_ts"),
)

# time exposed without being down: on battery, on bypass, a SPOF present, N instead of N+1
exposures = Table(
    "exposures", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),  # on_battery | bypass | spof | no_spare ...
    Column("subject", String(255), nullable=False),
    Column("subsystem", String(32)),
    Column("start_ts", Float, nullable=False),
    Column("end_ts", Float),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_exposures_subject", "kind", "subject", "start_ts"),
)

# time nobody was watching: tierwatch was down (from the last heartbeat to the next start)
unmonitored = Table(
    "unmonitored", metadata,
    Column("id", Integer, primary_key=True),
    Column("start_ts", Float, nullable=False),
    Column("end_ts", Float, nullable=False),
    Column("reason", Text, nullable=False, default=""),
)

# the instance's last sign of life; the gap to the next start is unmonitored time
heartbeats = Table(
    "heartbeats", metadata,
    Column("instance", String(64), primary_key=True),
    Column("started_ts", Float, nullable=False),
    Column("ts", Float, nullable=False),
)

# the latest status of every device and component, as the instance polling it last saw it:
# what a `--tier-only` instance scores when shards do the polling (tierwatch/core/storefeed.py)
current_status = Table(
    "current_status", metadata,
    Column("device", String(255), primary_key=True),
    Column("component", String(255), primary_key=True),  # "device": the device itself
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("conditions", Text, nullable=False, default="[]"),  # JSON list
    Column("reachable", Boolean),  # device rows: False once unreachable
    Column("ts", Float, nullable=False),  # when the status took effect
    Column("writer", String(64), nullable=False),  # the instance (heartbeats.instance)
)

# the latest samples that feed measured demands (a load's `demand_metric`), per device
current_readings = Table(
    "current_readings", metadata,
    Column("device", String(255), primary_key=True),
    Column("samples", Text, nullable=False, default="[]"),  # JSON [[name, labels, value]]
    Column("ts", Float, nullable=False),
    Column("writer", String(64), nullable=False),
)

maintenance_windows = Table(
    "maintenance_windows", metadata,
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("start_ts", Float, nullable=False),
    Column("end_ts", Float, nullable=False),
    # none | daily | weekly | monthly: the window repeats from start_ts, same length
    Column("recurrence", String(16), nullable=False, default="none"),
    Column("until_ts", Float),  # last possible start of a recurring window
    Column("scope", Text, nullable=False, default="{}"),  # JSON: devices, components, ...
    Column("created_by", String(128), nullable=False, default=""),
    Column("created_ts", Float, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("silence_id", String(64)),  # Alertmanager silence created for it, if any
    Column("deleted_ts", Float),
)

# ---- alerting (migration 0004): alerts, their history, the delivery outbox, silences, traps

# one row per alert incident: from pending (or firing) until resolved; a new row when the
# same labels fire again later. `fingerprint` identifies the label set.
alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(32), nullable=False),
    Column("alertname", String(128), nullable=False),
    Column("severity", String(16), nullable=False, default=""),
    Column("labels", Text, nullable=False, default="{}"),  # JSON
    Column("annotations", Text, nullable=False, default="{}"),  # JSON
    Column("state", String(16), nullable=False),  # pending | firing | resolved
    Column("value", Float),
    Column("active_since", Float, nullable=False),  # when the condition first held
    Column("fired_ts", Float),
    Column("resolved_ts", Float),
    Column("notified_ts", Float),  # last firing notification queued (None: never)
    Column("escalated_ts", Float),
    Column("muted", String(64)),  # why notifications are held: maintenance:<id> | inhibited
    Column("acked_ts", Float),
    Column("acked_by", String(128)),
    Column("ack_comment", Text),
    Column("ack_until", Float),  # an acknowledgement lapses (re-notifies) after this
    Column("silence_id", String(64)),  # Alertmanager silence made for the acknowledgement
    Index("ix_alerts_fingerprint", "fingerprint", "state"),
    Index("ix_alerts_state", "state"),
)

# what happened to alerts, for people and for the report: pending, firing, resolved,
# acknowledged, escalated, suppressed (by maintenance: a planned event), notified
alert_events = Table(
    "alert_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("ts", Float, nullable=False),
    Column("alert_id", Integer),
    Column("fingerprint", String(32), nullable=False, default=""),
    Column("alertname", String(128), nullable=False, default=""),
    Column("kind", String(16), nullable=False),
    Column("actor", String(128), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("maintenance_id", Integer),
    Index("ix_alert_events_ts", "ts"),
    Index("ix_alert_events_alert", "alert_id"),
)

# notifications waiting to be delivered (and delivered ones, for a while). Queued in the
# same transaction as the alert change that caused them; marked sent after the receiver
# accepted them; `key` goes out as the Idempotency-Key so a receiver can drop a repeat.
notification_outbox = Table(
    "notification_outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("created_ts", Float, nullable=False),
    Column("alert_id", Integer),
    Column("channel", String(16), nullable=False),  # alertmanager | webhook | email
    Column("receiver", String(64), nullable=False, default=""),
    Column("kind", String(16), nullable=False),  # firing | resolved | repeat | escalation
    Column("payload", Text, nullable=False),  # JSON, exactly what is sent
    Column("state", String(16), nullable=False, default="pending"),  # pending | sent | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_ts", Float, nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    Column("sent_ts", Float),
    Index("ix_outbox_due", "state", "next_ts"),
)

# Alertmanager silences made for maintenance windows: one per occurrence and matcher set
maintenance_silences = Table(
    "maintenance_silences", metadata,
    Column("id", Integer, primary_key=True),
    Column("window_id", Integer, nullable=False),
    Column("occurrence_start", Float, nullable=False),
    Column("matchers", String(255), nullable=False),
    Column("silence_id", String(64), nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("expired_ts", Float),
    Index("ix_maintenance_silences_key", "window_id", "occurrence_start", "matchers",
          unique=True),
)

# traps received from known devices (rejected ones are only counted and logged)
trap_events = Table(
    "trap_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("ts", Float, nullable=False),
    Column("device", String(128)),
    Column("source", String(64), nullable=False),
    Column("trap_oid", String(255), nullable=False),
    Column("name", String(64), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_trap_events_ts", "ts"),
)

# API bearer tokens (api/tokens.py): only a SHA-256 of each token is kept, never the token
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(16), nullable=False, unique=True),  # public part, shown in lists
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),  # viewer | operator | admin
    Column("digest", String(64), nullable=False),  # hex SHA-256 of the whole token
    Column("created_ts", Float, nullable=False),
    Column("expires_ts", Float),
    Column("last_used_ts", Float),
    Column("revoked_ts", Float),
)

# monthly readiness reports written to the reports directory (report/monthly.py)
reports = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("lang", String(8), nullable=False),
    Column("format", String(8), nullable=False),  # json | html | pdf
    Column("path", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("trigger", String(16), nullable=False),  # schedule | api | cli
    Column("complete", Boolean, nullable=False),  # the month was over when it was made
    Index("ix_reports_month", "month", "created_ts"),
)

# ---- services (migration 0006): every TLS certificate a service check saw
# (services/recorder.py); service and agency outages use `outages` (kinds service, agency),
# time at risk uses `exposures` (kind service_at_risk)
certificates = Table(
    "certificates", metadata,
    Column("id", Integer, primary_key=True),
    Column("service", String(128), nullable=False),
    Column("endpoint", String(255), nullable=False),  # host:port it was seen at
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of the DER, hex
    Column("check_name", String(255), nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("issuer", Text, nullable=False, default=""),
    Column("not_before", Float, nullable=False),
    Column("not_after", Float, nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("error", Text, nullable=False, default=""),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Index("ix_certificates_key", "service", "endpoint", "fingerprint", unique=True),
    Index("ix_certificates_not_after", "not_after"),
)

# the power room's readings (power/component.py), one row per figure per interval: facility
# and IT power (PUE by day and month), fuel per generator, capacity group demand (forecast)
power_readings = Table(
    "power_readings", metadata,
    Column("id", Integer, primary_key=True),
    Column("ts", Float, nullable=False),
    Column("kind", String(32), nullable=False),  # facility_w | it_w | fuel_l | fuel_h | demand
    Column("subject", String(255), nullable=False),  # site, a generator node, a group
    Column("value", Float, nullable=False),
    Index("ix_power_readings", "kind", "subject", "ts"),
)

# ---- network health (migration 0008): LLDP verdicts over time (nethealth/). One row per
# declared link and verdict, from when it began until it changed (end_ts NULL while it
# holds), written by the instance that polls the link's device; the monthly report reads
# the history, a `--tier-only` instance the open rows (tierwatch/core/store/nethealth.py)
lldp_verdicts = Table(
    "lldp_verdicts", metadata,
    Column("id", Integer, primary_key=True),
    Column("subsystem", String(32), nullable=False),
    Column("feeder", String(255), nullable=False),  # the link: `node` fed from `feeder`
    Column("node", String(255), nullable=False),
    Column("device", String(255), nullable=False),  # the feeder's device and its port
    Column("port", String(255), nullable=False),
    Column("verdict", String(16), nullable=False),  # ok | missing | moved | unknown
    Column("expected", String(255), nullable=False, default=""),
    Column("seen_on", Text, nullable=False, default="[]"),  # moved: JSON list of ports
    Column("start_ts", Float, nullable=False),
    Column("end_ts", Float),
    Column("writer", String(64), nullable=False),  # the instance (heartbeats.instance)
    Index("ix_lldp_verdicts_link", "feeder", "node", "port", "start_ts"),
    Index("ix_lldp_verdicts_open", "end_ts"),
)

# neighbours nothing declares where they were seen, from first to last sighting. The names
# are the network's words: bounded and printable (nethealth/lldp.py refuses the rest),
# shown only escaped
lldp_unexpected = Table(
    "lldp_unexpected", metadata,
    Column("id", Integer, primary_key=True),
    Column("device", String(255), nullable=False),
    Column("port", String(255), nullable=False),  # the local port, as the device names it
    Column("declared_port", String(255)),  # the declared link's `port` it is seen on, if any
    Column("chassis_id", String(255), nullable=False),
    Column("sys_name", String(255), nullable=False, default=""),
    Column("neighbour_port", String(255), nullable=False, default=""),
    Column("neighbour_device", String(255)),  # the tierwatch device it is, when it is one
    Column("start_ts", Float, nullable=False),
    Column("end_ts", Float),
    Column("writer", String(64), nullable=False),
    Index("ix_lldp_unexpected_port", "device", "port", "start_ts"),
    Index("ix_lldp_unexpected_open", "end_ts"),
)

# the active/standby pair's lease (tierwatch/core/ha.py): one row per instance name ("main",
# "tier"); `token` grows on every takeover and fences the writes of an older holder
# (store/fencing.py). Times are the database's clock (epoch seconds), never an instance's
ha_lease = Table(
    "ha_lease", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("acquired_ts", Float, nullable=False),  # when this holder's term began
    Column("expires_ts", Float, nullable=False),
)
