//! Ingest of one request in one call: JSON body -> per-event rules of `ingest/validation.py` ->
//! clock-skew correction -> GDPR suppression -> one `EventBatch` per player -> Confluent-framed
//! Avro (the bytes `schemas.wire.AvroSerializer` writes), plus the per-event rejections with the
//! same texts as the Python reference.
//!
//! `ingest/validation.py` stays the reference: the rule tables (event types, countries,
//! currencies, texts) come from Python at construction, and the rare inputs this module does not
//! read itself go to the Python functions (`parse_time` for a time string in another form than
//! RFC 3339's usual one, `parse_uuid` for an id outside the hex/hyphen/brace alphabet, `repr()`
//! for quoting a value in a message that is not None, a bool, an int or printable ASCII text).
//! `ingest` returns None when the envelope is not one it reads (invalid JSON, no events array,
//! too many events, a bad sent_at, too large): the caller's Python path then gives the exact error.

mod json;
mod time;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::encode::write_long;
use json::J;
use time::{fast_rfc3339, iso_ms, MAX_TIME_MS};

const MAX_ID_LENGTH: usize = 128;
const MAX_PROPERTIES: usize = 64;
const MAX_PROPERTY_KEY: usize = 64;
const MAX_STRING_VALUE: usize = 1024;
const OPTIONAL_STRINGS: [&str; 4] = ["session_id", "platform", "app_version", "country"];
const KNOWN_FIELDS: [&str; 9] =
    ["event_id", "event_type", "player_id", "ts", "properties", "session_id", "platform", "app_version", "country"];
const CUSTOM_PREFIX: &str = "custom.";

enum Check {
    String,
    OneOf(Vec<String>),
    NonNegative,
    Level,
    Currency,
    Message,
}

struct Prop {
    name: String,
    check: Check,
    must_be: String,
}

/// The ingest rules, compiled once per process; `ingest(...)` per request.
///
/// `IngestRules(frame, future_ms, past_ms, max_events, max_body_bytes, countries, currencies,
/// event_types, suppressed_text, parse_time, parse_uuid)`: `frame` is the 5-byte Confluent header
/// of the EventBatch schema; `event_types` lists `(type, [(property, check, choices, must_be)])`
/// in the reference's order, `check` one of string, one_of, non_negative, level, currency, message.
#[pyclass(frozen, module = "gamemetrics_avro")]
pub struct IngestRules {
    frame: Vec<u8>,
    future_ms: i128,
    past_ms: i128,
    max_events: usize,
    max_body_bytes: usize,
    countries: HashSet<String>,
    currencies: HashSet<String>,
    types: HashMap<String, Vec<Prop>>,
    type_list: String,
    suppressed_text: String,
    parse_time: Py<PyAny>,
    parse_uuid: Py<PyAny>,
}

/// An accepted event, borrowing from the parsed body.
struct Event<'b, 'j> {
    index: usize,
    event_id: Cow<'b, str>,
    event_type: &'j str,
    player_id: &'j str,
    ts: i64,
    event_time: i64,
    optional: [Option<&'j str>; 4],
    properties: Vec<&'j (Cow<'b, str>, J<'b>)>,
}

type Rejection = (usize, Option<String>, Vec<String>);
/// `(type, [(property, check, choices, must_be)])` as Python hands them over.
type EventTypeTable = Vec<(String, Vec<(String, String, Vec<String>, String)>)>;

fn chars(s: &str) -> usize {
    if s.is_ascii() { s.len() } else { s.chars().count() }
}

fn truncate(s: String, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => s[..at].to_string(),
        None => s,
    }
}

/// Python's `repr()` of the value orjson makes of `value`.
fn py_repr(py: Python<'_>, value: Option<&J<'_>>) -> PyResult<String> {
    Ok(match value {
        None | Some(J::Null) => "None".into(),
        Some(J::Bool(true)) => "True".into(),
        Some(J::Bool(false)) => "False".into(),
        Some(J::Int(i)) => i.to_string(),
        Some(J::UInt(u)) => u.to_string(),
        Some(J::Str(s)) if s.bytes().all(|c| (0x20..0x7f).contains(&c)) => str_repr(s),
        Some(other) => other.to_py(py)?.repr()?.to_string(),
    })
}

/// `repr()` of printable ASCII text.
fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        if c == quote || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(quote);
    out
}

fn nul(at: &str) -> String {
    format!("{at}: contains a NUL character (\\u0000), which PostgreSQL cannot store")
}

fn canonical_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

fn event_type_ok(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix(CUSTOM_PREFIX) {
        return (1..=64).contains(&rest.len())
            && rest.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-'));
    }
    let b = s.as_bytes();
    (1..=64).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[1..].iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn non_negative(v: &J<'_>) -> bool {
    match v {
        J::Int(i) => *i >= 0,
        J::UInt(_) => true,
        J::Float(f) => *f >= 0.0,
        _ => false,
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    write_long(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

fn write_optional_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(2);
            write_str(out, s);
        }
    }
}

fn random_bytes(n: usize) -> PyResult<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        // SAFETY: writes at most n - filled bytes into the owned buffer from `filled` on.
        let got = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), n - filled, 0) };
        if got < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(PyOSError::new_err(format!("getrandom: {err}")));
        }
        filled += got as usize;
    }
    Ok(buf)
}

/// `str(uuid.uuid4())` from 16 random bytes.
fn uuid4(b: &[u8]) -> String {
    let mut b: [u8; 16] = b.try_into().expect("16 bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

impl IngestRules {
    fn time_ms(&self, py: Python<'_>, value: Option<&J<'_>>) -> PyResult<Option<i64>> {
        Ok(match value {
            Some(J::Int(i)) => (0..=MAX_TIME_MS).contains(i).then_some(*i),
            Some(J::Float(f)) if f.fract() == 0.0 => (*f >= 0.0 && *f <= MAX_TIME_MS as f64).then_some(*f as i64),
            Some(J::Str(s)) => match fast_rfc3339(s) {
                Some(verdict) => verdict,
                None => self.parse_time.bind(py).call1((s.as_ref(),))?.extract()?,
            },
            _ => None,
        })
    }

    fn event_id<'b>(&self, py: Python<'_>, raw: &Cow<'b, str>) -> PyResult<Option<Cow<'b, str>>> {
        if canonical_uuid(raw) {
            return Ok(Some(raw.clone()));
        }
        if raw.bytes().all(|c| c.is_ascii_hexdigit() || matches!(c, b'-' | b'{' | b'}')) {
            // uuid.UUID: strip braces at both ends, drop hyphens, 32 hex digits
            let hex: Vec<u8> = raw.trim_matches(|c| c == '{' || c == '}').bytes().filter(|&c| c != b'-').collect();
            if hex.len() != 32 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return Ok(None);
            }
            let h = String::from_utf8(hex).expect("ascii").to_ascii_lowercase();
            return Ok(Some(Cow::Owned(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))));
        }
        let normal: Option<String> = self.parse_uuid.bind(py).call1((raw.as_ref(),))?.extract()?;
        Ok(normal.map(Cow::Owned))
    }

    fn check_prop(&self, check: &Check, v: &J<'_>) -> bool {
        match (check, v) {
            (Check::String, J::Str(s)) => (1..=MAX_ID_LENGTH).contains(&chars(s)),
            (Check::OneOf(choices), J::Str(s)) => choices.iter().any(|c| c == s),
            (Check::NonNegative, v) => non_negative(v),
            (Check::Level, J::Str(s)) => (1..=MAX_ID_LENGTH).contains(&chars(s)),
            (Check::Level, J::Int(i)) => *i >= 0,
            (Check::Level, J::UInt(_)) => true,
            (Check::Currency, J::Str(s)) => self.currencies.contains(s.as_ref()),
            (Check::Message, J::Str(s)) => (1..=MAX_STRING_VALUE).contains(&chars(s)),
            _ => false,
        }
    }

    /// `validate_event` of ingest/validation.py.
    fn validate<'b, 'j>(
        &self, py: Python<'_>, index: usize, raw: &'j J<'b>, received_at_ms: i64, skew_ms: i64,
    ) -> PyResult<Result<Event<'b, 'j>, Rejection>> {
        let prefix = format!("events[{index}]");
        let J::Obj(pairs) = raw else {
            return Ok(Err((index, None, vec![format!("{prefix}: must be a JSON object, got {}", raw.type_name())])));
        };
        let mut errors: Vec<String> = Vec::new();
        let event_id_raw = raw.get("event_id");
        let event_id = match event_id_raw {
            Some(J::Str(s)) => self.event_id(py, s)?,
            _ => None,
        };
        if event_id.is_none() {
            errors.push(format!(
                "{prefix}.event_id: required, a UUID string (got {})",
                truncate(py_repr(py, event_id_raw)?, 60)
            ));
        }
        let event_type = match raw.get("event_type") {
            Some(J::Str(s)) if event_type_ok(s) => Some(s.as_ref()),
            other => {
                errors.push(format!(
                    "{prefix}.event_type: required, lower_snake_case or custom.<name> (got {})",
                    truncate(py_repr(py, other)?, 60)
                ));
                None
            }
        };
        let player_id = match raw.get("player_id") {
            Some(J::Str(s)) if (1..=MAX_ID_LENGTH).contains(&chars(s)) => {
                if s.contains('\0') {
                    errors.push(nul(&format!("{prefix}.player_id")));
                }
                s.as_ref()
            }
            _ => {
                errors.push(format!("{prefix}.player_id: required, a string of 1 to {MAX_ID_LENGTH} characters"));
                ""
            }
        };
        let ts_raw = raw.get("ts");
        let ts = self.time_ms(py, ts_raw)?;
        match ts {
            None => errors.push(format!(
                "{prefix}.ts: required, an RFC 3339 time with offset or epoch milliseconds (got {})",
                truncate(py_repr(py, ts_raw)?, 60)
            )),
            Some(ts) => {
                let (corrected, now) = (ts as i128 + skew_ms as i128, received_at_ms as i128);
                if corrected > now + self.future_ms {
                    errors.push(format!(
                        "{prefix}.ts: {} (after clock-skew correction) is more than {}h in the future (server time {})",
                        iso_ms(corrected as i64), self.future_ms.div_euclid(3_600_000), iso_ms(received_at_ms)
                    ));
                } else if corrected < now - self.past_ms {
                    errors.push(format!(
                        "{prefix}.ts: {} (after clock-skew correction) is older than the {}-day horizon (server time {})",
                        iso_ms(corrected as i64), self.past_ms.div_euclid(86_400_000), iso_ms(received_at_ms)
                    ));
                }
            }
        }
        let mut optional: [Option<&'j str>; 4] = [None; 4];
        for (slot, name) in OPTIONAL_STRINGS.iter().enumerate() {
            match raw.get(name) {
                None | Some(J::Null) => {}
                Some(J::Str(s)) => {
                    if chars(s) > MAX_ID_LENGTH {
                        errors.push(format!("{prefix}.{name}: must be a string of at most {MAX_ID_LENGTH} characters"));
                    } else if s.contains('\0') {
                        errors.push(nul(&format!("{prefix}.{name}")));
                    }
                    optional[slot] = Some(s.as_ref());
                }
                Some(_) => errors.push(format!("{prefix}.{name}: must be a string of at most {MAX_ID_LENGTH} characters")),
            }
        }
        if let Some(country) = optional[3] {
            if !self.countries.contains(country) {
                let quoted = py_repr(py, raw.get("country"))?;
                errors.push(format!("{prefix}.country: {quoted} is not an ISO 3166-1 alpha-2 code such as DE"));
            }
        }
        let mut unknown: Vec<&str> =
            pairs.iter().map(|(k, _)| k.as_ref()).filter(|k| !KNOWN_FIELDS.contains(k)).collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            errors.push(format!("{prefix}: unknown fields {}; put custom data in properties", unknown.join(", ")));
        }
        // _check_properties
        let props_raw = raw.get("properties");
        let mut properties: Vec<&'j (Cow<'b, str>, J<'b>)> = Vec::new();
        let props_shape_ok = matches!(props_raw, None | Some(J::Null) | Some(J::Obj(_)));
        match props_raw {
            None | Some(J::Null) => {}
            Some(J::Obj(props)) if props.len() > MAX_PROPERTIES => errors.push(format!(
                "{prefix}.properties: {} keys, at most {MAX_PROPERTIES} allowed", props.len()
            )),
            Some(J::Obj(props)) => {
                for pair in props {
                    let (key, value) = (pair.0.as_ref(), &pair.1);
                    if chars(key) > MAX_PROPERTY_KEY {
                        let head: String = key.chars().take(20).collect();
                        let quoted = py_repr(py, Some(&J::Str(Cow::Borrowed(&head))))?;
                        errors.push(format!("{prefix}.properties: key {quoted}... is longer than {MAX_PROPERTY_KEY}"));
                    } else if key.contains('\0') {
                        errors.push(nul(&format!("{prefix}.properties")));
                    } else {
                        match value {
                            J::Str(s) if s.contains('\0') => errors.push(nul(&format!("{prefix}.properties.{key}"))),
                            J::Str(s) if chars(s) > MAX_STRING_VALUE => errors.push(format!(
                                "{prefix}.properties.{key}: string longer than {MAX_STRING_VALUE} characters"
                            )),
                            J::UInt(_) => errors.push(format!("{prefix}.properties.{key}: integer out of the 64-bit range")),
                            J::Bool(_) | J::Int(_) | J::Float(_) | J::Str(_) => properties.push(pair),
                            other => errors.push(format!(
                                "{prefix}.properties.{key}: {} is not allowed; values are flat strings, numbers or booleans",
                                other.type_name()
                            )),
                        }
                    }
                }
            }
            Some(_) => errors.push(format!("{prefix}.properties: must be an object of string/number/bool values")),
        }
        // check_event_type
        if let (Some(event_type), true) = (event_type, props_shape_ok) {
            if !event_type.starts_with(CUSTOM_PREFIX) {
                match self.types.get(event_type) {
                    None => errors.push(format!(
                        "{prefix}.event_type: {} is not a standard type ({}); name free types custom.<name>",
                        str_repr(event_type), self.type_list
                    )),
                    Some(props) => {
                        for prop in props {
                            match properties.iter().find(|p| p.0 == prop.name.as_str()) {
                                None => errors.push(format!(
                                    "{prefix}.properties.{}: required for {event_type}, {}", prop.name, prop.must_be
                                )),
                                Some(p) if !self.check_prop(&prop.check, &p.1) => errors.push(format!(
                                    "{prefix}.properties.{}: {} is not {}",
                                    prop.name, truncate(py_repr(py, Some(&p.1))?, 40), prop.must_be
                                )),
                                Some(_) => {}
                            }
                        }
                    }
                }
            }
        }
        if !errors.is_empty() {
            let shown = match (&event_id, event_id_raw) {
                (Some(id), _) => Some(id.to_string()),
                (None, Some(J::Str(s))) => Some(s.to_string()),
                _ => None,
            };
            return Ok(Err((index, shown, errors)));
        }
        let ts = ts.expect("no errors, so ts parsed");
        Ok(Ok(Event {
            index,
            event_id: event_id.expect("no errors"),
            event_type: event_type.expect("no errors"),
            player_id,
            ts,
            event_time: ts + skew_ms,
            optional,
            properties,
        }))
    }

    fn write_event(out: &mut Vec<u8>, e: &Event<'_, '_>, default_country: Option<&str>) {
        write_str(out, &e.event_id);
        write_str(out, e.event_type);
        write_str(out, e.player_id);
        write_long(out, e.ts);
        write_long(out, e.event_time);
        for slot in 0..3 {
            write_optional_str(out, e.optional[slot]);
        }
        write_optional_str(out, e.optional[3].or(default_country));
        if !e.properties.is_empty() {
            write_long(out, e.properties.len() as i64);
            for (key, value) in e.properties.iter().map(|p| (&p.0, &p.1)) {
                write_str(out, key);
                match value {
                    J::Bool(b) => out.extend_from_slice(&[0, *b as u8]),
                    J::Int(i) => {
                        out.push(2);
                        write_long(out, *i);
                    }
                    J::Float(f) => {
                        out.push(4);
                        out.extend_from_slice(&f.to_le_bytes());
                    }
                    J::Str(s) => {
                        out.push(6);
                        write_str(out, s);
                    }
                    _ => unreachable!("only flat values are kept"),
                }
            }
        }
        out.push(0);
    }
}

#[pymethods]
impl IngestRules {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        frame: Vec<u8>, future_ms: i64, past_ms: i64, max_events: usize, max_body_bytes: usize,
        countries: Vec<String>, currencies: Vec<String>, event_types: EventTypeTable,
        suppressed_text: String, parse_time: Py<PyAny>, parse_uuid: Py<PyAny>,
    ) -> PyResult<Self> {
        let type_list = event_types.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", ");
        let mut types = HashMap::new();
        for (name, props) in event_types {
            let mut compiled = Vec::new();
            for (prop, check, choices, must_be) in props {
                let check = match check.as_str() {
                    "string" => Check::String,
                    "one_of" => Check::OneOf(choices),
                    "non_negative" => Check::NonNegative,
                    "level" => Check::Level,
                    "currency" => Check::Currency,
                    "message" => Check::Message,
                    other => return Err(PyValueError::new_err(format!("{name}.{prop}: unknown check {other:?}"))),
                };
                compiled.push(Prop { name: prop, check, must_be });
            }
            types.insert(name, compiled);
        }
        Ok(IngestRules {
            frame,
            future_ms: future_ms as i128,
            past_ms: past_ms as i128,
            max_events,
            max_body_bytes,
            countries: countries.into_iter().collect(),
            currencies: currencies.into_iter().collect(),
            types,
            type_list,
            suppressed_text,
            parse_time,
            parse_uuid,
        })
    }

    /// One request: `body` (JSON, gunzipped) -> None when the envelope is not one this reads (the
    /// Python path then gives its error), else `(events, messages, rejected, suppressed)`:
    /// the number of events in the request, `[(key, framed EventBatch)]` one per player in
    /// first-seen order, `[(index, event_id or None, [reason, ...])]` in request order, and how
    /// many events `suppressed(player_id)` (called once per player with accepted events; None =
    /// nobody is suppressed) refused.
    #[pyo3(signature = (body, game_id, received_at_ms, client_ip_hash = None, default_country = None, suppressed = None))]
    #[allow(clippy::too_many_arguments)]
    fn ingest<'py>(
        &self, py: Python<'py>, body: &[u8], game_id: &str, received_at_ms: i64, client_ip_hash: Option<&str>,
        default_country: Option<&str>, suppressed: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        if body.len() > self.max_body_bytes {
            return Ok(None);
        }
        let Some(payload) = json::parse(body) else { return Ok(None) };
        let Some(J::Arr(events)) = payload.get("events") else { return Ok(None) };
        if events.len() > self.max_events {
            return Ok(None);
        }
        let sent_at_ms = match payload.get("sent_at") {
            None | Some(J::Null) => None,
            Some(value) => match self.time_ms(py, Some(value))? {
                Some(ms) => Some(ms),
                None => return Ok(None),
            },
        };
        let skew_ms = sent_at_ms.map_or(0, |sent| received_at_ms - sent);
        let mut rejected: Vec<Rejection> = Vec::new();
        let mut groups: Vec<(&str, Vec<Event>)> = Vec::new();
        let mut group_of: HashMap<&str, usize> = HashMap::new();
        for (index, raw) in events.iter().enumerate() {
            match self.validate(py, index, raw, received_at_ms, skew_ms)? {
                Err(rejection) => rejected.push(rejection),
                Ok(event) => {
                    let at = *group_of.entry(event.player_id).or_insert_with(|| {
                        groups.push((event.player_id, Vec::new()));
                        groups.len() - 1
                    });
                    groups[at].1.push(event);
                }
            }
        }
        let mut refused = 0usize;
        if let Some(suppressed) = suppressed.filter(|s| !s.is_none()) {
            let mut kept = Vec::with_capacity(groups.len());
            for (player, group) in groups {
                if suppressed.call1((player,))?.is_truthy()? {
                    refused += group.len();
                    for e in &group {
                        let reason = format!("events[{}].{}", e.index, self.suppressed_text);
                        rejected.push((e.index, Some(e.event_id.to_string()), vec![reason]));
                    }
                } else {
                    kept.push((player, group));
                }
            }
            groups = kept;
            if refused > 0 {
                rejected.sort_by_key(|r| r.0);
            }
        }
        let random = random_bytes(16 * groups.len())?;
        let messages = PyList::empty(py);
        let mut out: Vec<u8> = Vec::new();
        for (g, (player, group)) in groups.iter().enumerate() {
            out.clear();
            out.extend_from_slice(&self.frame);
            write_str(&mut out, &uuid4(&random[16 * g..16 * g + 16]));
            write_str(&mut out, game_id);
            write_str(&mut out, player);
            write_long(&mut out, received_at_ms);
            match sent_at_ms {
                None => out.push(0),
                Some(sent) => {
                    out.push(2);
                    write_long(&mut out, sent);
                }
            }
            write_optional_str(&mut out, client_ip_hash);
            write_long(&mut out, group.len() as i64);
            for event in group {
                Self::write_event(&mut out, event, default_country);
            }
            out.push(0);
            messages.append((PyBytes::new(py, player.as_bytes()), PyBytes::new(py, &out)))?;
        }
        let rejected = PyList::new(py, rejected)?;
        Ok(Some(PyTuple::new(py, [
            events.len().into_pyobject(py)?.into_any(),
            messages.into_any(),
            rejected.into_any(),
            refused.into_pyobject(py)?.into_any(),
        ])?))
    }
}
