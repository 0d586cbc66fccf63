//! `gamemetrics_avro.landing`: the binary COPY payloads of the landing worker, in one call per group.
//!
//! `copy_events(items, dumps)`, `copy_keys(pairs)` and `aggregate(items, dumps)` give the same bytes
//! and rows as the worker's Python payloads and aggregates (the reference and the fallback; the
//! project's differential tests compare the two):
//! PostgreSQL's binary COPY format, uuid = 16 bytes, timestamptz = int64 µs since 2000-01-01 UTC
//! (the inputs are epoch milliseconds), jsonb = version byte 1 + the JSON text, numeric = base-10000
//! digits with display scale 6 from integer micro-units.

use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::intern;
use std::collections::{BTreeMap, BTreeSet};

use pyo3::types::{PyBytes, PyDict, PyFloat, PyList, PyString, PyTuple};

const PG_EPOCH_MS: i64 = 946_684_800_000;
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00";
const TRAILER: &[u8] = &[0xff, 0xff];
const EVENT_FIELDS: usize = 17; // the player_events columns landing writes

fn micros(ms: i64) -> PyResult<i64> {
    ms.checked_sub(PG_EPOCH_MS)
        .and_then(|v| v.checked_mul(1000))
        .ok_or_else(|| PyValueError::new_err(format!("time {ms} ms is out of range")))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn uuid_bytes(text: &str) -> PyResult<[u8; 16]> {
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut high: Option<u8> = None;
    for c in text.bytes() {
        if c == b'-' {
            continue;
        }
        let v = hex(c).ok_or_else(|| PyValueError::new_err(format!("not a UUID: {text:?}")))?;
        match high {
            None => high = Some(v),
            Some(h) => {
                if n == 16 {
                    return Err(PyValueError::new_err(format!("not a UUID: {text:?}")));
                }
                out[n] = (h << 4) | v;
                n += 1;
                high = None;
            }
        }
    }
    if n != 16 || high.is_some() {
        return Err(PyValueError::new_err(format!("not a UUID: {text:?}")));
    }
    Ok(out)
}

fn put_len(out: &mut Vec<u8>, n: i32) {
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_len(out, 8);
    out.extend_from_slice(&v.to_be_bytes());
}

fn string<'a>(item: &'a Bound<'_, PyAny>) -> PyResult<&'a str> {
    item.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("expected a str"))?
        .to_str()
}

fn put_text(out: &mut Vec<u8>, item: &Bound<'_, PyAny>) -> PyResult<()> {
    if item.is_none() {
        put_len(out, -1);
        return Ok(());
    }
    let s = string(item)?;
    put_len(out, s.len() as i32);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_uuid(out: &mut Vec<u8>, item: &Bound<'_, PyAny>) -> PyResult<()> {
    put_len(out, 16);
    out.extend_from_slice(&uuid_bytes(string(item)?)?);
    Ok(())
}

/// numeric's binary form of `micro` / 10**6, display scale 6 (length prefix included).
fn put_numeric_micro(out: &mut Vec<u8>, micro: i128) {
    let sign: u16 = if micro < 0 { 0x4000 } else { 0 };
    let mut n = micro.unsigned_abs() * 100; // 8 fractional decimal digits = 2 base-10000 digits
    let mut digits: Vec<i16> = Vec::new();
    while n > 0 {
        digits.push((n % 10_000) as i16);
        n /= 10_000;
    }
    digits.reverse();
    let mut weight = digits.len() as i16 - 3;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let sign = if digits.is_empty() {
        weight = 0;
        0
    } else {
        sign
    };
    put_len(out, 8 + 2 * digits.len() as i32);
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&6i16.to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

fn field<'py>(event: &Bound<'py, PyDict>, key: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
    event.get_item(key)?.ok_or_else(|| PyKeyError::new_err(key.to_string()))
}

/// `COPY player_events (PLAYER_EVENT_COLUMNS) FROM STDIN (FORMAT BINARY)` of `items`
/// (the worker's enriched events: their attributes and event dict are read here), in the given
/// order; `dumps` (orjson.dumps) turns each event's properties into its JSON bytes.
#[pyfunction]
pub fn copy_events<'py>(py: Python<'py>, items: &Bound<'py, PyList>, dumps: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(HEADER.len() + items.len() * 256 + 2);
    out.extend_from_slice(HEADER);
    for item in items.iter() {
        let event = item.getattr(intern!(py, "event"))?;
        let e = event.cast::<PyDict>().map_err(|_| PyTypeError::new_err("EnrichedEvent.event: expected a dict"))?;
        out.extend_from_slice(&(EVENT_FIELDS as i16).to_be_bytes());
        put_uuid(&mut out, &field(e, intern!(py, "event_id"))?)?;
        put_i64(&mut out, micros(field(e, intern!(py, "event_time"))?.extract()?)?);
        put_text(&mut out, &item.getattr(intern!(py, "game_id"))?)?;
        put_text(&mut out, &field(e, intern!(py, "player_id"))?)?;
        put_text(&mut out, &field(e, intern!(py, "event_type"))?)?;
        put_i64(&mut out, micros(field(e, intern!(py, "ts"))?.extract()?)?);
        put_i64(&mut out, micros(item.getattr(intern!(py, "received_at"))?.extract()?)?);
        put_text(&mut out, &field(e, intern!(py, "session_id"))?)?;
        put_text(&mut out, &item.getattr(intern!(py, "platform"))?)?;
        put_text(&mut out, &item.getattr(intern!(py, "app_version"))?)?;
        put_text(&mut out, &field(e, intern!(py, "country"))?)?;
        let json = dumps.call1((field(e, intern!(py, "properties"))?,))?;
        let json = json.cast::<PyBytes>().map_err(|_| PyTypeError::new_err("dumps() must return bytes"))?.as_bytes();
        put_len(&mut out, json.len() as i32 + 1);
        out.push(1);
        out.extend_from_slice(json);
        put_uuid(&mut out, &item.getattr(intern!(py, "batch_id"))?)?;
        let seq = item.getattr(intern!(py, "session_seq"))?;
        if seq.is_none() {
            put_len(&mut out, -1);
        } else {
            put_len(&mut out, 4);
            out.extend_from_slice(&seq.extract::<i32>()?.to_be_bytes());
        }
        put_len(&mut out, 1);
        out.push(item.getattr(intern!(py, "is_new_player"))?.is_truthy()? as u8);
        let revenue = item.getattr(intern!(py, "revenue_usd"))?;
        if revenue.is_none() {
            put_len(&mut out, -1);
        } else {
            // Python's round(): to the nearest, ties to even, as the Python payload rounds
            let micro = (revenue.extract::<f64>()? * 1_000_000.0).round_ties_even();
            if !micro.is_finite() || micro.abs() >= 9.2e18 {
                return Err(PyValueError::new_err(format!("revenue_usd {micro} is out of range")));
            }
            put_numeric_micro(&mut out, micro as i128);
        }
        put_i64(&mut out, item.getattr(intern!(py, "delay_ms"))?.extract()?);
    }
    out.extend_from_slice(TRAILER);
    Ok(PyBytes::new(py, &out))
}

/// `COPY event_keys (client_ts, event_id) FROM STDIN (FORMAT BINARY)` of (event id, client ts ms)
/// pairs, sorted by (client ts, id bytes): the primary key's order.
#[pyfunction]
pub fn copy_keys<'py>(py: Python<'py>, pairs: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyBytes>> {
    let mut keys: Vec<(i64, [u8; 16])> = Vec::with_capacity(pairs.len());
    for pair in pairs.iter() {
        let (event_id, ts): (Bound<'py, PyAny>, i64) = pair.extract()?;
        keys.push((micros(ts)?, uuid_bytes(string(&event_id)?)?));
    }
    keys.sort_unstable();
    let mut out = Vec::with_capacity(HEADER.len() + keys.len() * 34 + 2);
    out.extend_from_slice(HEADER);
    for (ts, id) in keys {
        out.extend_from_slice(&2i16.to_be_bytes());
        put_i64(&mut out, ts);
        put_len(&mut out, 16);
        out.extend_from_slice(&id);
    }
    out.extend_from_slice(TRAILER);
    Ok(PyBytes::new(py, &out))
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

fn opt_string(item: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if item.is_none() {
        Ok(None)
    } else {
        Ok(Some(string(item)?.to_owned()))
    }
}

/// The newest non-null value by event time; a later event of the group wins a tie.
fn newest(current: &mut Option<(i64, String)>, at: i64, value: Option<String>) {
    if let Some(v) = value {
        if current.as_ref().map_or(true, |(t, _)| at >= *t) {
            *current = Some((at, v));
        }
    }
}

/// What PostgreSQL's `properties->>'key'` gives for a JSON value.
fn json_text(value: Option<Bound<'_, PyAny>>, dumps: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => {
            if let Ok(s) = v.cast::<PyString>() {
                return Ok(Some(s.to_str()?.to_owned()));
            }
            let json = dumps.call1((v,))?;
            let bytes = json.cast::<PyBytes>().map_err(|_| PyTypeError::new_err("dumps() must return bytes"))?;
            Ok(Some(String::from_utf8_lossy(bytes.as_bytes()).into_owned()))
        }
    }
}

struct PlayerAgg {
    first: i64,
    last: i64,
    events: i64,
    sessions: i64,
    revenue: i64,
    purchases: i64,
    platform: Option<(i64, String)>,
    country: Option<(i64, String)>,
    version: Option<(i64, String)>,
}

struct SessionAgg {
    player: String,
    first: i64,
    last: i64,
    ended: Option<i64>,
    duration: Option<f64>,
    events: i64,
}

fn micro_of(revenue: &Bound<'_, PyAny>) -> PyResult<i64> {
    if revenue.is_none() {
        return Ok(0);
    }
    let micro = (revenue.extract::<f64>()? * 1_000_000.0).round_ties_even();
    if !micro.is_finite() || micro.abs() >= 9.2e18 {
        return Err(PyValueError::new_err(format!("revenue_usd {micro} is out of range")));
    }
    Ok(micro as i64)
}

/// The group's rollup rows (the Python aggregate is the reference): a tuple of six lists
/// (minute_players, minutes, daily, players, sessions, matches), each sorted by its key.
#[pyfunction]
pub fn aggregate<'py>(py: Python<'py>, items: &Bound<'py, PyList>, dumps: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let mut minute_players: BTreeSet<(String, i64, String, String)> = BTreeSet::new();
    let mut minutes: BTreeMap<(String, i64, String), (i64, i64)> = BTreeMap::new();
    let mut daily: BTreeMap<(String, i64, String), (i64, i64, i64)> = BTreeMap::new();
    let mut players: BTreeMap<(String, String), PlayerAgg> = BTreeMap::new();
    let mut sessions: BTreeMap<(String, String), SessionAgg> = BTreeMap::new();
    let mut matches: BTreeMap<(String, i64, Option<String>, Option<String>), i64> = BTreeMap::new();
    let float_type = py.get_type::<PyFloat>();
    for item in items.iter() {
        let event = item.getattr(intern!(py, "event"))?;
        let e = event.cast::<PyDict>().map_err(|_| PyTypeError::new_err("EnrichedEvent.event: expected a dict"))?;
        let game = string(&item.getattr(intern!(py, "game_id"))?)?.to_owned();
        let player = string(&field(e, intern!(py, "player_id"))?)?.to_owned();
        let kind = string(&field(e, intern!(py, "event_type"))?)?.to_owned();
        let at: i64 = field(e, intern!(py, "event_time"))?.extract()?;
        let revenue = micro_of(&item.getattr(intern!(py, "revenue_usd"))?)?;
        let starts = (kind == "session_start") as i64;
        let minute = at - at.rem_euclid(MINUTE_MS);
        minute_players.insert((game.clone(), minute, kind.clone(), player.clone()));
        let m = minutes.entry((game.clone(), minute, kind.clone())).or_insert((0, 0));
        m.0 += 1;
        m.1 += revenue;
        let d = daily.entry((game.clone(), at.div_euclid(DAY_MS), player.clone())).or_insert((0, 0, 0));
        d.0 += 1;
        d.1 += starts;
        d.2 += revenue;
        let p = players.entry((game.clone(), player.clone())).or_insert(PlayerAgg {
            first: at, last: at, events: 0, sessions: 0, revenue: 0, purchases: 0, platform: None, country: None, version: None,
        });
        p.first = p.first.min(at);
        p.last = p.last.max(at);
        p.events += 1;
        p.sessions += starts;
        p.revenue += revenue;
        p.purchases += (kind == "purchase") as i64;
        newest(&mut p.platform, at, opt_string(&item.getattr(intern!(py, "platform"))?)?);
        newest(&mut p.country, at, opt_string(&field(e, intern!(py, "country"))?)?);
        newest(&mut p.version, at, opt_string(&item.getattr(intern!(py, "app_version"))?)?);
        let session = field(e, intern!(py, "session_id"))?;
        let props_obj = field(e, intern!(py, "properties"))?;
        let props = props_obj.cast::<PyDict>().map_err(|_| PyTypeError::new_err("properties: expected a dict"))?;
        if !session.is_none() {
            let s = sessions.entry((game.clone(), string(&session)?.to_owned())).or_insert(SessionAgg {
                player: player.clone(), first: at, last: at, ended: None, duration: None, events: 0,
            });
            if player < s.player {
                s.player = player.clone();
            }
            s.first = s.first.min(at);
            s.last = s.last.max(at);
            if kind == "session_end" {
                s.ended = Some(s.ended.map_or(at, |x| x.max(at)));
                if let Some(v) = props.get_item(intern!(py, "duration_s"))? {
                    if !v.is_none() {
                        let duration: f64 = float_type.call1((v,))?.extract()?;
                        s.duration = Some(s.duration.map_or(duration, |x| x.max(duration)));
                    }
                }
            }
            s.events += 1;
        }
        if kind == "match_result" {
            let mode = json_text(props.get_item(intern!(py, "mode"))?, dumps)?;
            let outcome = json_text(props.get_item(intern!(py, "outcome"))?, dumps)?;
            *matches.entry((game.clone(), at - at.rem_euclid(HOUR_MS), mode, outcome)).or_insert(0) += 1;
        }
    }
    let value = |(_, v): (i64, String)| v;
    let out = (
        PyList::new(py, minute_players)?,
        PyList::new(py, minutes.into_iter().map(|((g, b, t), (n, r))| (g, b, t, n, r)))?,
        PyList::new(py, daily.into_iter().map(|((g, d, p), (n, s, r))| (g, d, p, n, s, r)))?,
        PyList::new(py, players.into_iter().map(|((g, p), a)| {
            (g, p, a.first, a.last, a.events, a.sessions, a.revenue, a.purchases,
             a.platform.map(value), a.country.map(value), a.version.map(value))
        }))?,
        PyList::new(py, sessions.into_iter().map(|((g, s), a)| (g, s, a.player, a.first, a.last, a.ended, a.duration, a.events)))?,
        PyList::new(py, matches.into_iter().map(|((g, b, m, o), n)| (g, b, m, o, n)))?,
    );
    out.into_pyobject(py)
}

/// The landing worker's COPY payloads and rollup aggregates (the Python ones are the reference).
#[pymodule(submodule)]
pub mod landing {
    #[pymodule_export]
    use super::{aggregate, copy_events, copy_keys};
}
