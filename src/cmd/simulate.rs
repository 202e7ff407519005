//! `readmit simulate`: UCI Diabetes-130 encounters → HL7 v2.5 ADT messages, to a file (plain or
//! MLLP-framed) or to a Kafka topic keyed by patient. The generation itself is
//! `readmit::simulate`; this module reads the data, writes, paces, reports.
//!
//! The output is synthetic (generated names, dates, addresses), so writing it is not a PHI
//! concern; diagnostics on stderr still only name files, counts and rates.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use readmit::simulate::{
    load_rows, Area, MalformedKind, ManifestBuilder, RecordKind, SimConfig, SimRecord, Simulator,
    SplitChoice,
};

/// Patient split (`test` = `patient_nbr % 5 == 0`, as in training).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// Patients with `patient_nbr % 5 != 0`.
    Train,
    /// Patients with `patient_nbr % 5 == 0`.
    Test,
    /// Every patient.
    All,
}

/// Arguments of `readmit simulate`.
///
/// Patients are emitted in ascending `patient_nbr` order, each patient's messages in time order;
/// `--patients N` keeps the first N patients of the split in that order. Same arguments →
/// byte-identical output.
#[derive(clap::Args, Debug)]
// Negative values reach the value checks, which name the option, instead of clap's
// "unexpected argument '-0'".
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// The Diabetes-130 CSV (gzip or plain).
    #[arg(long, default_value = "data/diabetes130/diabetic_data.csv.gz")]
    pub data: PathBuf,
    /// Which patients.
    #[arg(long, value_enum, default_value_t = Split::All)]
    pub split: Split,
    /// Only the first N patients (ascending patient_nbr) of the split (at least 1).
    #[arg(long, value_name = "N", value_parser = super::at_least_one::<usize>)]
    pub patients: Option<usize>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Messages per second (default: as fast as possible).
    #[arg(long, value_name = "MSG_PER_SEC")]
    pub rate: Option<f64>,
    /// Probability of a deliberately malformed extra record after each message. With an
    /// unframed --output file only kinds starting with an MSH line are used.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub malformed: f64,
    /// Probability per index encounter of each of: a repeated A08, a duplicate message, an
    /// A13 followed by a re-sent A03, an A40 merge of a duplicate patient record.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.0)]
    pub sprinkle: f64,
    /// Send ICD-10-CM for diagnoses with a clear equivalent (others stay ICD-9-CM).
    #[arg(long)]
    pub icd10: bool,
    /// PID-3.4 assigning authority of the MRN.
    #[arg(long, default_value = "READMIT_SIM")]
    pub assigning_authority: String,
    /// A sending facility (repeat for several; default SIM_NORTH, SIM_RIVER, SIM_LAKE,
    /// SIM_VALLEY). One per patient.
    #[arg(long = "facility", value_name = "NAME")]
    pub facilities: Vec<String>,
    /// A patient address area as ZIP,COUNTY_FIPS,CITY,STATE (repeat for several; default six
    /// pairs in Baltimore MD, Cleveland OH, Austin TX). One per patient.
    #[arg(long = "area", value_name = "ZIP,COUNTY,CITY,STATE")]
    pub areas: Vec<String>,
    /// Write messages to this file (`-` = stdout): CR segment terminators, a newline after
    /// each message (or MLLP frames with --mllp).
    #[arg(long, value_name = "FILE", conflicts_with = "topic")]
    pub output: Option<PathBuf>,
    /// Frame each message as MLLP (0x0B … 0x1C 0x0D) instead of ending it with a newline.
    #[arg(long, requires = "output")]
    pub mllp: bool,
    /// Produce to this Kafka topic, key = the patient's MRN (PID-3.1).
    #[arg(long, value_name = "NAME", requires = "bootstrap_servers")]
    pub topic: Option<String>,
    /// Kafka bootstrap servers.
    #[arg(long, value_name = "HOST:PORT")]
    pub bootstrap_servers: Option<String>,
    /// Write a JSON manifest (index discharges, malformed records, counts) to this file.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

fn parse_area(s: &str) -> anyhow::Result<Area> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [zip, county, city, state] if !zip.is_empty() && !county.is_empty() => {
            Ok(Area::new(zip, county, city, state))
        }
        _ => bail!("--area expects ZIP,COUNTY,CITY,STATE (4 comma-separated values, ZIP and COUNTY non-empty)"),
    }
}

fn config(args: &Args) -> anyhow::Result<SimConfig> {
    let mut config = SimConfig {
        seed: args.seed,
        split: match args.split {
            Split::Train => SplitChoice::Train,
            Split::Test => SplitChoice::Test,
            Split::All => SplitChoice::All,
        },
        max_patients: args.patients,
        assigning_authority: args.assigning_authority.clone(),
        icd10: args.icd10,
        sprinkle: args.sprinkle,
        malformed: args.malformed,
        ..SimConfig::default()
    };
    if !args.facilities.is_empty() {
        config.facilities = args.facilities.clone();
    }
    if !args.areas.is_empty() {
        config.areas = args
            .areas
            .iter()
            .map(|a| parse_area(a))
            .collect::<anyhow::Result<_>>()?;
    }
    if args.output.is_some() && !args.mllp {
        config.malformed_kinds = MalformedKind::MSH_LED.to_vec();
    }
    Ok(config)
}

/// Keeps to `rate` records per second.
struct Pacer {
    rate: Option<f64>,
    start: Instant,
    sent: u64,
}

impl Pacer {
    /// How long to wait before the next record.
    fn delay(&mut self) -> Option<Duration> {
        let rate = self.rate?;
        self.sent += 1;
        let due = Duration::from_secs_f64(self.sent as f64 / rate);
        due.checked_sub(self.start.elapsed())
            .filter(|d| !d.is_zero())
    }
}

fn progress(total: usize, to_terminal: bool) -> ProgressBar {
    if !to_terminal || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} index encounters ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Runs `readmit simulate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.output.is_none() && args.topic.is_none() {
        bail!("give --output FILE or --topic NAME --bootstrap-servers HOST:PORT");
    }
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            bail!("--rate must be a positive number of messages per second");
        }
    }
    let config = config(&args)?;
    let load_start = Instant::now();
    let rows = load_rows(&args.data).with_context(|| format!("loading {}", args.data.display()))?;
    let sim = Simulator::new(config, &rows).context("invalid simulator settings or data")?;
    eprintln!(
        "simulate: {} rows read in {:.1} s; {} patients, {} index encounters selected",
        rows.len(),
        load_start.elapsed().as_secs_f64(),
        sim.patient_count(),
        sim.encounter_count()
    );
    let mut manifest = ManifestBuilder::new(args.seed, sim.patient_count(), sim.index_encounters());
    // Open the manifest before the run: an unwritable path used to fail only after every
    // record was written or, worse, delivered to Kafka (a re-run then duplicated them).
    let manifest_file = args
        .manifest
        .as_ref()
        .map(|path| {
            File::create(path)
                .map(|f| (path, f))
                .with_context(|| format!("creating {}", path.display()))
        })
        .transpose()?;
    let start = Instant::now();
    let mut pacer = Pacer {
        rate: args.rate,
        start,
        sent: 0,
    };
    let mut failed = 0u64;
    if let Some(path) = &args.output {
        let to_stdout = path.as_os_str() == "-";
        let sink: Box<dyn Write> = if to_stdout {
            Box::new(io::stdout().lock())
        } else {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        };
        let mut out = BufWriter::with_capacity(1 << 20, sink);
        let bar = progress(sim.encounter_count(), !to_stdout);
        for record in sim.records() {
            if let Some(d) = pacer.delay() {
                out.flush().context("writing output")?;
                std::thread::sleep(d);
            }
            write_record(&mut out, &record, args.mllp)
                .with_context(|| format!("writing {}", path.display()))?;
            if record.kind == RecordKind::IndexDischarge {
                bar.inc(1);
            }
            manifest.observe(&record);
        }
        out.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        bar.finish_and_clear();
    } else if let (Some(topic), Some(servers)) = (&args.topic, &args.bootstrap_servers) {
        failed = produce(&sim, topic, servers, &mut pacer, &mut manifest)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let m = manifest.finish();
    summary(&m, elapsed, failed);
    if let Some((path, file)) = manifest_file {
        let mut w = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, &m)
            .map_err(io::Error::from)
            .and_then(|()| w.flush())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if failed > 0 {
        bail!(
            "{failed} of {} records were not delivered to Kafka",
            m.records
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn write_record(out: &mut impl Write, record: &SimRecord, mllp: bool) -> io::Result<()> {
    if mllp {
        out.write_all(&[0x0B])?;
        out.write_all(&record.payload)?;
        out.write_all(&[0x1C, 0x0D])
    } else {
        out.write_all(&record.payload)?;
        out.write_all(b"\n")
    }
}

fn summary(m: &readmit::simulate::Manifest, elapsed: f64, failed: u64) {
    let rate = if elapsed > 0.0 {
        m.records as f64 / elapsed
    } else {
        0.0
    };
    let by_trigger: Vec<String> = m
        .messages_by_trigger
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    // The manifest lists every dataset encounter's discharge; only the eligible ones are index
    // discharges (death, hospice, transfers and still-a-patient are not, and are never scored).
    // The stream scores more discharges than these: the simulated prior inpatient stays too.
    let eligible = m
        .index_discharges
        .iter()
        .filter(|e| e.index_eligible)
        .count();
    eprintln!(
        "simulate: {} records in {elapsed:.2} s ({rate:.0} records/s): {} patients, {} dataset \
         discharges ({eligible} index discharges; the rest death, hospice or transfer, never \
         scored; the stream also scores the simulated prior inpatient stays), {} malformed{}",
        m.records,
        m.patients,
        m.index_discharges.len(),
        m.malformed.len(),
        if failed > 0 {
            format!(", {failed} NOT delivered")
        } else {
            String::new()
        }
    );
    eprintln!("simulate: messages by trigger: {}", by_trigger.join(", "));
}

/// Produces every record, awaiting every delivery; returns the number of failed deliveries.
fn produce(
    sim: &Simulator<'_>,
    topic: &str,
    servers: &str,
    pacer: &mut Pacer,
    manifest: &mut ManifestBuilder,
) -> anyhow::Result<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .set("enable.idempotence", "true")
        .set("queue.buffering.max.messages", "200000")
        // librdkafka's default (300 s) kept a run against a wrong address silent for five
        // minutes; a record not delivered within a minute is reported as failed.
        .set("message.timeout.ms", "60000")
        .create()
        .context("creating the Kafka producer")?;
    // Fail fast, naming the servers, when no broker answers (a typo, a closed port).
    readmit::runtime::topics::broker_answers_blocking(producer.client()).with_context(|| {
        format!(
            "no Kafka broker answered at {servers} within {} s (check --bootstrap-servers)",
            readmit::runtime::topics::REACHABLE_TIMEOUT.as_secs()
        )
    })?;
    const MAX_IN_FLIGHT: usize = 100_000;
    runtime.block_on(async {
        let mut pending = FuturesUnordered::new();
        let mut tally = Tally::default();
        let bar = progress(sim.encounter_count(), true);
        for record in sim.records() {
            if let Some(d) = pacer.delay() {
                tokio::time::sleep(d).await;
            }
            while pending.len() >= MAX_IN_FLIGHT {
                if let Some(r) = pending.next().await {
                    tally.add(r);
                }
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let mut fr = FutureRecord::to(topic)
                .key(&record.key[..])
                .payload(&record.payload[..])
                .timestamp(now);
            loop {
                match producer.send_result(fr) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        fr = back;
                        match pending.next().await {
                            Some(r) => tally.add(r),
                            None => tokio::time::sleep(Duration::from_millis(5)).await,
                        }
                    }
                    Err((e, _)) => {
                        eprintln!("simulate: a record could not be queued: {e}");
                        tally.failed += 1;
                        break;
                    }
                }
            }
            if record.kind == RecordKind::IndexDischarge {
                bar.inc(1);
            }
            manifest.observe(&record);
        }
        while let Some(r) = pending.next().await {
            tally.add(r);
        }
        bar.finish_and_clear();
        eprintln!(
            "simulate: {} records delivered to Kafka, {} failed",
            tally.delivered, tally.failed
        );
        if let Some(e) = &tally.first_error {
            // The error names a librdkafka code (e.g. MessageTimedOut), never record content.
            eprintln!("simulate: first delivery error: {e}");
        }
        Ok(tally.failed)
    })
}

type DeliveryOutcome = Result<
    rdkafka::producer::future_producer::OwnedDeliveryResult,
    futures::channel::oneshot::Canceled,
>;

/// Delivery counts, and the first failure's reason.
#[derive(Default)]
struct Tally {
    delivered: u64,
    failed: u64,
    first_error: Option<String>,
}

impl Tally {
    fn add(&mut self, result: DeliveryOutcome) {
        let error = match result {
            Ok(Ok(_)) => {
                self.delivered += 1;
                return;
            }
            Ok(Err((e, _))) => e.to_string(),
            Err(_) => "the producer dropped the delivery report".to_string(),
        };
        self.failed += 1;
        self.first_error.get_or_insert(error);
    }
}
