//! Avro binary -> Python values, as fastavro's `schemaless_reader` without a reader schema:
//! records become dicts (keys interned once per codec), arrays lists, maps dicts, enums their
//! symbol, fixed and bytes `bytes`. Bytes after the datum are ignored, as fastavro does.
//!
//! Every length and block count is checked against the bytes left before anything is allocated,
//! so corrupt input gives a ValueError, never a huge allocation or a crash.

use pyo3::ffi;
use pyo3::prelude::*;

use crate::encode::MAX_DEPTH;
use crate::error::{python_error, value_error, AtPath, Res};
use crate::schema::{Node, NodeId, Schema};

/// Block counts of zero-size items (arrays of nulls) above this are refused as implausible.
const MAX_ZERO_SIZE_ITEMS: usize = 1 << 24;

/// Short ASCII strings seen recently (event types, platforms, countries, player ids, property
/// names and values): decoding one again returns the same immutable str object instead of a new
/// one. Direct-mapped, fixed size: a miss costs a hash and replaces the slot.
pub struct StrCache {
    slots: Box<[Slot]>,
}

const CACHE_SLOTS: usize = 1024;
const CACHE_MAX_LEN: usize = 24;

struct Slot {
    len: usize,
    bytes: [u8; CACHE_MAX_LEN],
    obj: Option<Py<PyAny>>,
}

impl StrCache {
    pub fn new() -> Self {
        let slots = (0..CACHE_SLOTS).map(|_| Slot { len: 0, bytes: [0; CACHE_MAX_LEN], obj: None }).collect();
        Self { slots }
    }
}

#[inline]
fn slot_of(s: &[u8]) -> usize {
    // FNV-1a
    let mut h: u32 = 0x811c_9dc5;
    for &b in s {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    (h ^ (h >> 16)) as usize & (CACHE_SLOTS - 1)
}

pub struct Decoder<'a, 's, 'c, 'py> {
    py: Python<'py>,
    schema: &'s Schema,
    buf: &'a [u8],
    pub pos: usize,
    depth: u32,
    cache: Option<&'c mut StrCache>,
}

/// A compact str filled directly from ASCII bytes.
#[inline]
unsafe fn ascii_str<'py>(py: Python<'py>, s: &[u8]) -> Res<Bound<'py, PyAny>> {
    let ptr = ffi::PyUnicode_New(s.len() as ffi::Py_ssize_t, 127);
    if ptr.is_null() {
        return Err(python_error(py, ""));
    }
    std::ptr::copy_nonoverlapping(s.as_ptr(), ffi::PyUnicode_1BYTE_DATA(ptr), s.len());
    Ok(Bound::from_owned_ptr(py, ptr))
}

#[inline]
unsafe fn owned<'py>(py: Python<'py>, ptr: *mut ffi::PyObject, what: &str) -> Res<Bound<'py, PyAny>> {
    if ptr.is_null() {
        Err(python_error(py, what))
    } else {
        Ok(Bound::from_owned_ptr(py, ptr))
    }
}

impl<'a, 's, 'c, 'py> Decoder<'a, 's, 'c, 'py> {
    pub fn new(py: Python<'py>, schema: &'s Schema, buf: &'a [u8], pos: usize, cache: Option<&'c mut StrCache>) -> Self {
        Self { py, schema, buf, pos, depth: 0, cache }
    }

    fn truncated<T>(&self, what: &str) -> Res<T> {
        value_error(format!("truncated: the data ends at byte {} inside {what}", self.buf.len()))
    }

    #[inline]
    fn read_long(&mut self) -> Res<i64> {
        let mut n: u64 = 0;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return self.truncated("a varint");
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return value_error(format!("varint at byte {} does not fit in 64 bits", self.pos - 1));
            }
            n |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7; // at most 63: the 10th byte is 0 or 1 (checked above)
        }
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    #[inline]
    fn take(&mut self, len: usize, what: &str) -> Res<&'a [u8]> {
        let left = self.buf.len() - self.pos;
        if len > left {
            return value_error(format!(
                "{what} of {len} bytes at byte {} is longer than the {left} bytes left",
                self.pos
            ));
        }
        let s = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(s)
    }

    #[inline]
    fn read_len(&mut self, what: &str) -> Res<usize> {
        let at = self.pos;
        let n = self.read_long()?;
        if n < 0 {
            return value_error(format!("negative {what} length {n} at byte {at}"));
        }
        Ok(n as usize)
    }

    #[inline]
    fn read_str(&mut self) -> Res<Bound<'py, PyAny>> {
        let len = self.read_len("string")?;
        let at = self.pos;
        let s = self.take(len, "a string")?;
        // SAFETY: s is a valid slice; PyUnicode_DecodeUTF8 validates it.
        unsafe {
            if s.is_ascii() {
                if s.len() <= CACHE_MAX_LEN {
                    if let Some(cache) = self.cache.as_deref_mut() {
                        let slot = &mut cache.slots[slot_of(s)];
                        if slot.len == s.len() && &slot.bytes[..s.len()] == s {
                            if let Some(obj) = &slot.obj {
                                return Ok(obj.bind(self.py).clone());
                            }
                        }
                        let new = ascii_str(self.py, s)?;
                        slot.len = s.len();
                        slot.bytes[..s.len()].copy_from_slice(s);
                        slot.obj = Some(new.clone().unbind());
                        return Ok(new);
                    }
                }
                return ascii_str(self.py, s);
            }
            let ptr = ffi::PyUnicode_DecodeUTF8(s.as_ptr() as *const _, s.len() as ffi::Py_ssize_t, c"strict".as_ptr());
            if ptr.is_null() {
                return Err(python_error(self.py, &format!("string at byte {at} is not UTF-8: ")));
            }
            Ok(Bound::from_owned_ptr(self.py, ptr))
        }
    }

    /// Block count of an array or map, checked against the bytes left.
    fn block_count(&mut self, item_min: usize, total: usize) -> Res<usize> {
        let at = self.pos;
        let mut count = self.read_long()?;
        if count < 0 {
            if count == i64::MIN {
                return value_error(format!("invalid block count at byte {at}"));
            }
            count = -count;
            let size = self.read_long()?; // block size in bytes: unused, as fastavro
            if size < 0 {
                return value_error(format!("negative block size {size} at byte {at}"));
            }
        }
        let count = count as u64;
        let left = (self.buf.len() - self.pos) as u64;
        let fits = if item_min > 0 {
            count <= left / item_min as u64
        } else {
            count + total as u64 <= MAX_ZERO_SIZE_ITEMS as u64
        };
        if !fits {
            return value_error(format!(
                "block of {count} items at byte {at} cannot fit in the {left} bytes left"
            ));
        }
        Ok(count as usize)
    }

    pub fn read(&mut self, id: NodeId) -> Res<Bound<'py, PyAny>> {
        let py = self.py;
        let schema = self.schema;
        // SAFETY (whole function): the GIL is held; every pointer returned by the C API is checked
        // for NULL and owned by a Bound right away.
        unsafe {
            match &schema.nodes[id] {
                Node::Null => Ok(py.None().into_bound(py)),
                Node::Boolean => {
                    let Some(&b) = self.buf.get(self.pos) else {
                        return self.truncated("a boolean");
                    };
                    self.pos += 1;
                    Ok(Bound::from_borrowed_ptr(py, if b != 0 { ffi::Py_True() } else { ffi::Py_False() }))
                }
                Node::Int | Node::Long => {
                    let v = self.read_long()?;
                    owned(py, ffi::PyLong_FromLongLong(v), "")
                }
                Node::Float => {
                    let b = self.take(4, "a float")?;
                    let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    owned(py, ffi::PyFloat_FromDouble(v as f64), "")
                }
                Node::Double => {
                    let b = self.take(8, "a double")?;
                    let v = f64::from_le_bytes(b.try_into().expect("8 bytes"));
                    owned(py, ffi::PyFloat_FromDouble(v), "")
                }
                Node::String => self.read_str(),
                Node::Bytes => {
                    let len = self.read_len("bytes")?;
                    let b = self.take(len, "bytes")?;
                    owned(py, ffi::PyBytes_FromStringAndSize(b.as_ptr() as *const _, b.len() as ffi::Py_ssize_t), "")
                }
                Node::Fixed { size, .. } => {
                    let b = self.take(*size, "a fixed")?;
                    owned(py, ffi::PyBytes_FromStringAndSize(b.as_ptr() as *const _, b.len() as ffi::Py_ssize_t), "")
                }
                Node::Enum { py_symbols, fullname, .. } => {
                    let at = self.pos;
                    let i = self.read_long()?;
                    match usize::try_from(i).ok().and_then(|i| py_symbols.get(i)) {
                        Some(sym) => Ok(sym.bind(py).clone().into_any()),
                        None => value_error(format!(
                            "enum index {i} at byte {at} is out of range for {fullname} ({} symbols)",
                            py_symbols.len()
                        )),
                    }
                }
                Node::Array { items } => {
                    let items = *items;
                    let item_min = schema.min_size[items];
                    let mut list: Option<Bound<'py, PyAny>> = None;
                    let mut total = 0usize;
                    loop {
                        let count = self.block_count(item_min, total)?;
                        if count == 0 {
                            break;
                        }
                        match &list {
                            None => {
                                // First block: a list of the exact size, filled in place (a
                                // list with unfilled slots is safe to drop on error).
                                let sized = owned(py, ffi::PyList_New(count as ffi::Py_ssize_t), "")?;
                                for i in 0..count {
                                    let v = self.nested(items).at_index(i)?;
                                    ffi::PyList_SET_ITEM(sized.as_ptr(), i as ffi::Py_ssize_t, v.into_ptr());
                                }
                                list = Some(sized);
                            }
                            Some(l) => {
                                for i in 0..count {
                                    let v = self.nested(items).at_index(total + i)?;
                                    if ffi::PyList_Append(l.as_ptr(), v.as_ptr()) != 0 {
                                        return Err(python_error(py, ""));
                                    }
                                }
                            }
                        }
                        total += count;
                    }
                    match list {
                        Some(l) => Ok(l),
                        None => owned(py, ffi::PyList_New(0), ""),
                    }
                }
                Node::Map { values } => {
                    let values = *values;
                    let entry_min = 1 + schema.min_size[values];
                    let dict = owned(py, ffi::PyDict_New(), "")?;
                    let mut total = 0usize;
                    loop {
                        let count = self.block_count(entry_min, total)?;
                        if count == 0 {
                            break;
                        }
                        for _ in 0..count {
                            let key = self.read_str().map_err(|mut e| {
                                e.msg = format!("map key: {}", e.msg);
                                e
                            })?;
                            let value = match self.nested(values) {
                                Ok(v) => v,
                                Err(e) => return Err(e).at_key(&key.to_string()),
                            };
                            if ffi::PyDict_SetItem(dict.as_ptr(), key.as_ptr(), value.as_ptr()) != 0 {
                                return Err(python_error(py, ""));
                            }
                        }
                        total += count;
                    }
                    Ok(dict)
                }
                Node::Union { branches } => {
                    let at = self.pos;
                    let i = self.read_long()?;
                    match usize::try_from(i).ok().and_then(|i| branches.get(i)) {
                        Some(branch) => self.nested(branch.node),
                        None => value_error(format!(
                            "union branch {i} at byte {at} is out of range (the union has {})",
                            branches.len()
                        )),
                    }
                }
                Node::Record(record) => {
                    let dict = owned(py, ffi::PyDict_New(), "")?;
                    for field in &record.fields {
                        let value = self.nested(field.node).at_field(&field.name)?;
                        if ffi::PyDict_SetItem(dict.as_ptr(), field.py_name.as_ptr(), value.as_ptr()) != 0 {
                            return Err(python_error(py, "")).at_field(&field.name);
                        }
                    }
                    Ok(dict)
                }
                Node::Pending => value_error("schema node was never completed".into()),
            }
        }
    }

    #[inline]
    fn nested(&mut self, id: NodeId) -> Res<Bound<'py, PyAny>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return value_error(format!("data nested deeper than {MAX_DEPTH} levels"));
        }
        let r = self.read(id);
        self.depth -= 1;
        r
    }
}
