//! Start-up topic checks: every configured topic must exist with a compatible partition count
//! (changelog partitions == partitions of the topic history is kept from — the input, or with
//! `topics.rekey` the re-keyed topic — because its partition `p`'s state is restored from
//! changelog partition `p`; outputs ≥ 1). With `topics.create = true` missing topics are
//! created (the changelog with `cleanup.policy=compact` and the stateful topic's partition
//! count).
//! Every problem is reported in one [`RuntimeError::Topics`], each naming topic and setting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use super::RuntimeError;
use crate::config::{ClientKind, Settings};

/// Partition counts of the configured topics after the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicLayout {
    /// Input partitions.
    pub input_partitions: i32,
    /// Partitions of the re-keyed topic (`topics.rekey = true`).
    pub rekeyed_partitions: Option<i32>,
    /// Topics created by this check.
    pub created: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Input,
    /// The re-keyed topic: consumed, and the changelog partitions follow it.
    Rekeyed,
    Changelog,
    Output,
}

/// Every topic the service reads or writes: (setting that names it, topic, role). The alert
/// topic of each configured collaborative (`topics.alerts_prefix` + name) is an output too: a
/// missing one would otherwise surface only at the first alert, as a dead-lettered message.
fn specs(settings: &Settings) -> Vec<(String, String, Role)> {
    let t = &settings.topics;
    let named = |key: &str, topic: &str, role| (key.to_string(), topic.to_string(), role);
    let rekeyed = t
        .rekey
        .then(|| named("topics.rekeyed", &t.rekeyed, Role::Rekeyed));
    let collaboratives = settings
        .alerts
        .routing
        .collaboratives
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                format!("alerts.routing.collaboratives[{i}], topics.alerts_prefix + name"),
                format!("{}{}", t.alerts_prefix, c.name),
                Role::Output,
            )
        });
    vec![named("topics.input", &t.input, Role::Input)]
        .into_iter()
        .chain(rekeyed)
        .chain([
            named("topics.changelog", &t.changelog, Role::Changelog),
            named("topics.risk_scores", &t.risk_scores, Role::Output),
            named("topics.unrouted", &t.unrouted, Role::Output),
            named("topics.outcomes", &t.outcomes, Role::Output),
            named("topics.dlq", &t.dlq, Role::Output),
        ])
        .chain(collaboratives)
        .collect()
}

/// The topic whose partitions own the state: the re-keyed topic when re-keying, else the input.
pub fn stateful_topic(settings: &Settings) -> &str {
    let t = &settings.topics;
    if t.rekey {
        &t.rekeyed
    } else {
        &t.input
    }
}

/// Fetches partition counts of all topics the cluster knows (topics reporting an error,
/// such as unknown-topic, are left out).
async fn partition_counts(
    admin: &std::sync::Arc<AdminClient<DefaultClientContext>>,
    timeout: Duration,
) -> Result<BTreeMap<String, i32>, RuntimeError> {
    let admin = admin.clone();
    let metadata = tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(None, timeout))
        .await
        .map_err(|e| RuntimeError::Task(e.to_string()))?
        .map_err(|e| {
            RuntimeError::Topics(vec![format!(
                "cluster metadata could not be fetched from kafka.bootstrap_servers: {e}"
            )])
        })?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .map(|t| (t.name().to_string(), t.partitions().len() as i32))
        .collect())
}

/// How long [`broker_answers`] waits.
pub const REACHABLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Fetches cluster metadata once with `client`, blocking up to [`REACHABLE_TIMEOUT`]: Ok when a
/// broker answered. An operation against an unreachable cluster otherwise only times out (a
/// produce after `message.timeout.ms`, an admin call after its own timeout), without saying
/// that no broker answered.
pub fn broker_answers_blocking<C: rdkafka::client::ClientContext>(
    client: &rdkafka::client::Client<C>,
) -> Result<(), rdkafka::error::KafkaError> {
    client.fetch_metadata(None, REACHABLE_TIMEOUT).map(drop)
}

/// [`broker_answers_blocking`] for an admin client, off the async executor.
pub async fn broker_answers(
    admin: &std::sync::Arc<AdminClient<DefaultClientContext>>,
) -> Result<(), rdkafka::error::KafkaError> {
    let admin = admin.clone();
    tokio::task::spawn_blocking(move || broker_answers_blocking(admin.inner()))
        .await
        .unwrap_or(Ok(()))
}

/// Checks (and, when allowed, creates) the configured topics.
pub async fn ensure_topics(settings: &Settings) -> Result<TopicLayout, RuntimeError> {
    let timeout = Duration::from_millis(settings.consumer.request_timeout_ms);
    let admin: AdminClient<DefaultClientContext> =
        super::consumer::base_config(settings, "admin", ClientKind::Admin)
            .create()
            .map_err(|source| RuntimeError::Client {
                client: "admin client",
                source,
            })?;
    let admin = std::sync::Arc::new(admin);
    let t = &settings.topics;
    let mut counts = partition_counts(&admin, timeout).await?;
    let mut problems = Vec::new();
    let mut created = Vec::new();

    let stateful = stateful_topic(settings);
    let stateful_partitions = match counts.get(stateful) {
        Some(&n) => Some(n),
        None if t.create => Some(t.partitions),
        None => None,
    };
    if t.create {
        let mut to_create: Vec<(String, i32, bool)> = Vec::new();
        for (_, name, role) in specs(settings) {
            if counts.contains_key(&name) || to_create.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            let partitions = match role {
                Role::Changelog => stateful_partitions.unwrap_or(t.partitions),
                _ => t.partitions,
            };
            to_create.push((name, partitions, role == Role::Changelog));
        }
        if !to_create.is_empty() {
            let new_topics: Vec<NewTopic<'_>> = to_create
                .iter()
                .map(|(name, partitions, compact)| {
                    let topic =
                        NewTopic::new(name, *partitions, TopicReplication::Fixed(t.replication));
                    if *compact {
                        topic.set("cleanup.policy", "compact")
                    } else {
                        topic
                    }
                })
                .collect();
            let opts = AdminOptions::new()
                .request_timeout(Some(timeout))
                .operation_timeout(Some(timeout));
            match admin.create_topics(new_topics.iter(), &opts).await {
                Ok(results) => {
                    for result in results {
                        match result {
                            Ok(name) => created.push(name),
                            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                            Err((name, code)) => problems.push(format!(
                                "topic {name} could not be created (topics.create = true): {code}"
                            )),
                        }
                    }
                }
                Err(e) => problems.push(format!("topics could not be created: {e}")),
            }
            // Wait until metadata shows the new topics.
            let start = Instant::now();
            loop {
                counts = partition_counts(&admin, timeout).await?;
                let missing = to_create.iter().any(|(n, _, _)| !counts.contains_key(n));
                if !missing || start.elapsed() > timeout {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !created.is_empty() {
                tracing::info!(topics = %created.join(", "), "Topics created.");
            }
        }
    }

    let input_count = counts.get(&t.input).copied();
    let stateful_count = counts.get(stateful).copied();
    for (key, name, role) in specs(settings) {
        let hint = if t.create {
            ""
        } else {
            "; create it or set topics.create = true"
        };
        match (counts.get(&name), role) {
            (None, _) => problems.push(format!("topic {name} ({key}) does not exist{hint}")),
            (Some(&n), Role::Changelog) => {
                if let Some(input) = stateful_count {
                    let setting = if t.rekey {
                        "topics.rekeyed"
                    } else {
                        "topics.input"
                    };
                    if n != input {
                        problems.push(format!(
                            "topic {name} ({key}) has {n} partitions but topic {stateful} ({setting}) has {input}; \
                             they must match because partition p of {setting} restores its state from changelog partition p"
                        ));
                    }
                }
            }
            (Some(_), _) => {}
        }
    }
    problems.dedup();
    // Destroying a client joins its threads: do it off the executor.
    let _ = tokio::task::spawn_blocking(move || drop(admin)).await;
    match (problems.is_empty(), input_count) {
        (true, Some(input_partitions)) => Ok(TopicLayout {
            input_partitions,
            rekeyed_partitions: if t.rekey { stateful_count } else { None },
            created,
        }),
        _ => Err(RuntimeError::Topics(problems)),
    }
}
