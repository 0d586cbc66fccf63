//! A request body as a JSON tree with Python's reading of it (orjson into dicts and lists).
//!
//! Objects keep their keys in first-seen order with the last value of a repeated key, as a Python
//! dict built from the text does; integers beyond 64 bits become floats, as orjson makes them.
//! Strings without escapes borrow from the body. Whatever serde_json refuses (including nesting
//! deeper than its 128 levels, which orjson may still read, and a negative zero) is left to the
//! Python path.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

pub enum J<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above i64::MAX (still below 2**64).
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Arr(Vec<J<'a>>),
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

/// Objects up to this many keys find a repeated key by scanning; larger ones through a hash map.
const SCAN_KEYS: usize = 16;

impl<'a> J<'a> {
    pub fn get(&self, key: &str) -> Option<&J<'a>> {
        match self {
            J::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Python's `type(value).__name__` for the value orjson makes of this JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            J::Null => "NoneType",
            J::Bool(_) => "bool",
            J::Int(_) | J::UInt(_) => "int",
            J::Float(_) => "float",
            J::Str(_) => "str",
            J::Arr(_) => "list",
            J::Obj(_) => "dict",
        }
    }

    /// The Python value orjson would have made.
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            J::Null => py.None().into_bound(py),
            J::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
            J::Int(i) => i.into_pyobject(py)?.into_any(),
            J::UInt(u) => u.into_pyobject(py)?.into_any(),
            J::Float(f) => f.into_pyobject(py)?.into_any(),
            J::Str(s) => PyString::new(py, s).into_any(),
            J::Arr(items) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(item.to_py(py)?)?;
                }
                list.into_any()
            }
            J::Obj(pairs) => {
                let dict = PyDict::new(py);
                for (k, v) in pairs {
                    dict.set_item(k.as_ref(), v.to_py(py)?)?;
                }
                dict.into_any()
            }
        })
    }
}

/// The tree of `body`, or None when serde_json does not read it.
pub fn parse(body: &[u8]) -> Option<J<'_>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = ValueSeed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = J<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<J<'de>, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = J<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<J<'de>, E> {
        Ok(J::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<J<'de>, E> {
        Ok(J::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<J<'de>, E> {
        Ok(J::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<J<'de>, E> {
        Ok(if v <= i64::MAX as u64 { J::Int(v as i64) } else { J::UInt(v) })
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<J<'de>, E> {
        if v == 0.0 && v.is_sign_negative() {
            // `-0` (an int 0 for orjson) and `-0.0` (a float) look alike here: the Python path decides
            return Err(E::custom("negative zero"));
        }
        Ok(J::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(ValueSeed)? {
            items.push(item);
        }
        Ok(J::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J<'de>, A::Error> {
        let mut pairs: Vec<(Cow<'de, str>, J<'de>)> = Vec::new();
        let mut index: Option<HashMap<String, usize>> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(ValueSeed)?;
            let seen = match &index {
                Some(index) => index.get(key.as_ref()).copied(),
                None => pairs.iter().position(|(k, _)| *k == key),
            };
            match seen {
                Some(at) => pairs[at].1 = value, // a dict keeps the first place and the last value
                None => {
                    if let Some(index) = &mut index {
                        index.insert(key.to_string(), pairs.len());
                    } else if pairs.len() + 1 > SCAN_KEYS {
                        let mut built: HashMap<String, usize> =
                            pairs.iter().enumerate().map(|(i, (k, _))| (k.to_string(), i)).collect();
                        built.insert(key.to_string(), pairs.len());
                        index = Some(built);
                    }
                    pairs.push((key, value));
                }
            }
        }
        Ok(J::Obj(pairs))
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}
