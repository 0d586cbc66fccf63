//! gamemetrics_avro: a schema-driven Avro binary codec for GameMetrics, compiled with Rust.
//!
//! `Codec(schema_json)` compiles a self-contained Avro schema once; `encode(record, prefix)` and
//! `decode(data, offset)` then give the same bytes and values as fastavro's `schemaless_writer`
//! and `schemaless_reader` (without a reader schema), several times faster. Logical types are
//! ignored: timestamps are ints, UUIDs strings. fastavro stays the reference (the tests compare
//! against it) and the fallback when this module is not built.

mod decode;
mod encode;
mod error;
mod ingest;
mod landing;
mod schema;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::decode::{Decoder, StrCache};
use crate::encode::{Encoder, PyTypes};

/// An Avro schema compiled for encoding and decoding.
///
/// `Codec(schema_json)`: `schema_json` is the JSON text of a self-contained schema (named types
/// defined inline on first use, referenced by name afterwards). Raises ValueError for a schema
/// it cannot compile.
#[pyclass(frozen, module = "gamemetrics_avro")]
struct Codec {
    schema: schema::Schema,
    types: PyTypes,
    /// Size of the last encoded body: the next output buffer starts at that capacity.
    size_hint: AtomicUsize,
    /// Recently decoded short strings, shared by the decode calls of this codec.
    strings: Mutex<StrCache>,
}

/// A read-only view of the bytes to decode, released when dropped.
enum Input {
    Bytes(*const u8, usize),
    Buffer(Box<ffi::Py_buffer>),
}

impl Input {
    fn get(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let ptr = data.as_ptr();
        // SAFETY: ptr is a live object; for bytes the pointer stays valid while `data` is alive
        // (bytes are immutable); other objects are pinned by a buffer export until drop.
        unsafe {
            if ffi::PyBytes_Check(ptr) != 0 {
                return Ok(Input::Bytes(ffi::PyBytes_AsString(ptr) as *const u8, ffi::PyBytes_Size(ptr) as usize));
            }
            if ffi::PyObject_CheckBuffer(ptr) == 0 {
                return Err(PyTypeError::new_err(format!(
                    "decode() needs bytes, bytearray or memoryview, not {}",
                    error::type_name(ptr)
                )));
            }
            let mut view: Box<ffi::Py_buffer> = Box::new(std::mem::zeroed());
            if ffi::PyObject_GetBuffer(ptr, &mut *view, ffi::PyBUF_SIMPLE) != 0 {
                return Err(PyErr::fetch(py));
            }
            Ok(Input::Buffer(view))
        }
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: see `get`; a zero-length buffer may have a null pointer.
        unsafe {
            match self {
                Input::Bytes(p, n) => std::slice::from_raw_parts(*p, *n),
                Input::Buffer(view) if view.len > 0 => {
                    std::slice::from_raw_parts(view.buf as *const u8, view.len as usize)
                }
                Input::Buffer(_) => &[],
            }
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        if let Input::Buffer(view) = self {
            // SAFETY: the view was filled by PyObject_GetBuffer and is released once; Input is
            // only created and dropped while the GIL is held (inside a method call).
            unsafe { ffi::PyBuffer_Release(&mut **view) };
        }
    }
}

#[pymethods]
impl Codec {
    #[new]
    fn new(py: Python<'_>, schema_json: &str) -> PyResult<Self> {
        let schema = schema::compile(py, schema_json).map_err(|e| PyValueError::new_err(format!("Avro schema: {e}")))?;
        Ok(Codec {
            schema,
            types: PyTypes::new(py)?,
            size_hint: AtomicUsize::new(256),
            strings: Mutex::new(StrCache::new()),
        })
    }

    /// `prefix` (e.g. the 5-byte Confluent frame) followed by the Avro binary encoding of
    /// `record`. Raises TypeError/ValueError naming the field path of a value that does not fit.
    #[pyo3(signature = (record, prefix = None))]
    fn encode<'py>(&self, py: Python<'py>, record: &Bound<'py, PyAny>, prefix: Option<&[u8]>) -> PyResult<Bound<'py, PyBytes>> {
        let prefix = prefix.unwrap_or(&[]);
        let hint = self.size_hint.load(Ordering::Relaxed);
        let mut out = Vec::with_capacity(prefix.len() + hint + hint / 8);
        out.extend_from_slice(prefix);
        let mut enc = Encoder::new(py, &self.schema, &self.types, out);
        enc.write(record.as_ptr(), self.schema.root).map_err(|e| e.into_pyerr(py, ""))?;
        let out = enc.out;
        self.size_hint.store(out.len() - prefix.len(), Ordering::Relaxed);
        Ok(PyBytes::new(py, &out))
    }

    /// Decodes one datum starting at byte `offset` of `data` (bytes, bytearray or memoryview);
    /// bytes after it are ignored, as fastavro does. Raises ValueError for truncated or invalid
    /// data, saying where.
    #[pyo3(signature = (data, offset = 0))]
    fn decode<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>, offset: isize) -> PyResult<Bound<'py, PyAny>> {
        let input = Input::get(py, data)?;
        let buf = input.as_slice();
        if offset < 0 || offset as usize > buf.len() {
            return Err(PyValueError::new_err(format!("offset {offset} is outside the {} bytes of data", buf.len())));
        }
        // Never blocks: a nested call (from a finalizer run by the GC mid-decode) or another
        // thread simply decodes without the cache.
        let mut strings = self.strings.try_lock().ok();
        let mut dec = Decoder::new(py, &self.schema, buf, offset as usize, strings.as_deref_mut());
        let result = dec.read(self.schema.root).map_err(|e| e.into_pyerr(py, ""));
        drop(input);
        result
    }

    fn __repr__(&self) -> String {
        format!("<gamemetrics_avro.Codec {}>", self.schema.describe(self.schema.root))
    }
}

/// Schema-driven Avro binary codec (Rust); see `Codec`.
#[pymodule(gil_used = true)]
mod gamemetrics_avro {
    #[pymodule_export]
    use super::Codec;
    #[pymodule_export]
    use crate::ingest::IngestRules;
    #[pymodule_export]
    use crate::landing::landing;
}
