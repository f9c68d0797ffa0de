//! LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR/HISTOGRAM/HELP over `server::latency`, with
//! Redis's reply shapes and texts.

use std::fmt::Write as _;

use bytes::Bytes;

use super::args::help_reply;
use super::{cmd, container, Command, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;
use crate::server::latency::Series;

const ADMIN: &str = "admin noscript loading stale";
const DANGER: &str = "@admin @slow @dangerous";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[Command {
    subcommands: &[
        cmd("latency|history", 3, ADMIN, (0, 0, 0), DANGER, "server", "2.8.13", "Return timestamp-latency samples for the event.", history),
        cmd("latency|graph", 3, ADMIN, (0, 0, 0), DANGER, "server", "2.8.13", "Return a latency graph for the event.", graph),
        cmd("latency|histogram", -2, ADMIN, (0, 0, 0), DANGER, "server", "7.0.0", "Return the cumulative distribution of latencies of a subset of commands or all.", histogram),
        cmd("latency|reset", -2, ADMIN, (0, 0, 0), DANGER, "server", "2.8.13", "Reset latency data for one or more events.", reset),
        cmd("latency|help", 2, "loading stale", (0, 0, 0), "@slow", "server", "2.8.13", "Show helpful text about the different subcommands.", help),
        cmd("latency|doctor", 2, ADMIN, (0, 0, 0), DANGER, "server", "2.8.13", "Return a human readable latency analysis report.", doctor),
        cmd("latency|latest", 2, ADMIN, (0, 0, 0), DANGER, "server", "2.8.13", "Return the latest latency samples for all events.", latest),
    ],
    ..cmd("latency", -2, "", (0, 0, 0), "@slow", "server", "2.8.13", "A container for latency diagnostics commands", container)
}];

/// Per event: name, time of the latest sample, its latency, the all-time maximum.
fn latest(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(ctx.shared.latency.with_events(|events| {
        Reply::Array(
            events
                .iter()
                .filter_map(|(name, s)| {
                    let last = s.samples.back()?;
                    Some(Reply::Array(vec![
                        Reply::bulk_str(name),
                        Reply::Integer(last.time as i64),
                        Reply::Integer(last.ms as i64),
                        Reply::Integer(s.max as i64),
                    ]))
                })
                .collect(),
        )
    }))
}

/// `[time, latency]` pairs, oldest first; an unknown event has none.
fn history(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    Ok(ctx.shared.latency.with_events(|events| {
        let samples = events
            .iter()
            .find(|(name, _)| name.as_bytes() == &args[2][..])
            .map(|(_, s)| &s.samples);
        Reply::Array(
            samples
                .into_iter()
                .flatten()
                .map(|s| {
                    Reply::Array(vec![
                        Reply::Integer(s.time as i64),
                        Reply::Integer(s.ms as i64),
                    ])
                })
                .collect(),
        )
    }))
}

fn reset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let names: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    Ok(Reply::Integer(ctx.shared.latency.reset(&names) as i64))
}

/// An ASCII sparkline of the event's samples, as Redis's `latencyCommandGenSparkeline`.
fn graph(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    let event = String::from_utf8_lossy(&args[2]).into_owned();
    let now = crate::storage::now_ms() / 1000;
    let text = ctx.shared.latency.with_events(|events| {
        let (_, series) = events
            .iter()
            .find(|(name, s)| **name == event && !s.samples.is_empty())?;
        Some(sparkline(&event, series, now))
    });
    match text {
        Some(t) => Ok(Reply::Verbatim(Bytes::from(t))),
        None => Err(CmdError::err(format!(
            "No samples available for event '{event}'"
        ))),
    }
}

fn sparkline(event: &str, series: &Series, now: u64) -> String {
    const COLUMNS: usize = 80;
    const ROWS: i64 = 4;
    const FILL: &[u8] = b"_o#";
    let values: Vec<u64> = series.samples.iter().map(|s| s.ms).collect();
    let labels: Vec<String> = series
        .samples
        .iter()
        .map(|s| {
            let ago = now.saturating_sub(s.time);
            match ago {
                0..=59 => format!("{ago}s"),
                60..=3599 => format!("{}m", ago / 60),
                3600..=86399 => format!("{}h", ago / 3600),
                _ => format!("{}d", ago / 86400),
            }
        })
        .collect();
    let (min, max) = (
        values.iter().copied().min().unwrap_or(0),
        values.iter().copied().max().unwrap_or(0),
    );
    let mut out = format!(
        "{event} - high {max} ms, low {min} ms (all time high {} ms)\n{}\n",
        series.max,
        "-".repeat(COLUMNS)
    );
    let steps = FILL.len() as i64 * ROWS;
    let relmax = if max == min { 1.0 } else { (max - min) as f64 };
    for (chunk, (vals, labs)) in values
        .chunks(COLUMNS)
        .zip(labels.chunks(COLUMNS))
        .enumerate()
    {
        if chunk > 0 {
            out.push('\n');
        }
        let step = |v: u64| {
            (((v - min) as f64 * steps as f64) / relmax).clamp(0.0, (steps - 1) as f64) as i64
        };
        for row in 0..ROWS {
            for &v in vals {
                let idx = step(v) - (ROWS - row - 1) * FILL.len() as i64;
                out.push(match idx {
                    i if i >= FILL.len() as i64 => '|',
                    i if i >= 0 => FILL[i as usize] as char,
                    _ => ' ',
                });
            }
            out.push('\n');
        }
        // One blank row, then the labels written vertically.
        out.push_str(&" ".repeat(vals.len()));
        out.push('\n');
        let tallest = labs.iter().map(String::len).max().unwrap_or(0);
        for i in 0..tallest {
            for l in labs {
                out.push(l.as_bytes().get(i).map_or(' ', |&c| c as char));
            }
            out.push('\n');
        }
    }
    out
}

/// The human report: Redis's texts for a disabled monitor, no spikes, or spikes per event.
fn doctor(ctx: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    let enabled = ctx.shared.config.latency_threshold() > 0;
    let now = crate::storage::now_ms() / 1000;
    let text = ctx.shared.latency.with_events(|events| {
        if events.is_empty() {
            return if enabled {
                "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".to_string()
            } else {
                "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string()
            };
        }
        let mut out = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n".to_string();
        for (n, (name, s)) in events.iter().enumerate() {
            let count = s.samples.len().max(1) as u64;
            let avg = s.samples.iter().map(|x| x.ms).sum::<u64>() / count;
            let mad = s.samples.iter().map(|x| x.ms.abs_diff(avg)).sum::<u64>() / count;
            let first = s.samples.front().map_or(now, |x| x.time);
            let period = now.saturating_sub(first).max(1) as f64 / count as f64;
            let _ = writeln!(
                out,
                "{}. {name}: {} latency spikes (average {avg}ms, mean deviation {mad}ms, period {period:.2} sec). Worst all time event {}ms.",
                n + 1,
                s.samples.len(),
                s.max
            );
        }
        out.push_str("\nI have a few advices for you:\n\n");
        out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        out
    });
    Ok(Reply::Verbatim(Bytes::from(text)))
}

/// Per command with calls: `calls` and `histogram_usec`, the cumulative count of calls up to
/// each power-of-two bucket where the count grows (Redis's shape; see `stats::latency_bucket`).
fn histogram(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult<Reply> {
    use crate::server::stats::{latency_bucket_micros, LATENCY_BUCKETS};
    use std::sync::atomic::Ordering::Relaxed;
    let table = super::table();
    let wanted = |name: &str| {
        args.len() == 2
            || args[2..]
                .iter()
                .any(|a| a.eq_ignore_ascii_case(name.as_bytes()))
    };
    let mut out = Vec::new();
    for (c, stat) in table.all.iter().zip(&ctx.shared.stats.commands) {
        let calls = stat.calls.load(Relaxed);
        if calls == 0 || !wanted(c.name) {
            continue;
        }
        let mut buckets = Vec::new();
        let mut total = 0;
        for i in 0..LATENCY_BUCKETS {
            let n = stat.histogram[i].load(Relaxed);
            if n > 0 {
                total += n;
                buckets.push((
                    Reply::Integer(latency_bucket_micros(i) as i64),
                    Reply::Integer(total as i64),
                ));
            }
        }
        out.push((
            Reply::bulk_str(c.name),
            Reply::Map(vec![
                (Reply::bulk_str("calls"), Reply::Integer(calls as i64)),
                (Reply::bulk_str("histogram_usec"), Reply::Map(buckets)),
            ]),
        ));
    }
    Ok(Reply::Map(out))
}

fn help(_: &mut Ctx, _: &[Bytes]) -> CmdResult<Reply> {
    Ok(help_reply(
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    ))
}
