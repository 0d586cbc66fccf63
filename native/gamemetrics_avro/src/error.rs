//! Errors of encode and decode: what was wrong and where (a path like `events[3].properties.x`).
//!
//! The path is collected while the error travels back up the recursion, so the successful path
//! costs nothing.

use std::ffi::CStr;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::{ffi, PyErr};

pub enum Kind {
    Type,
    Value,
    /// A Python exception raised by a value's own methods (`__index__`, `__float__`, ...).
    Python(PyErr),
}

pub enum Seg {
    Field(String),
    Index(usize),
    Key(String),
}

pub struct CodecError {
    pub kind: Kind,
    pub msg: String,
    /// Innermost first.
    pub path: Vec<Seg>,
}

pub type Res<T> = Result<T, Box<CodecError>>;

pub fn type_error<T>(msg: String) -> Res<T> {
    Err(Box::new(CodecError { kind: Kind::Type, msg, path: Vec::new() }))
}

pub fn value_error<T>(msg: String) -> Res<T> {
    Err(Box::new(CodecError { kind: Kind::Value, msg, path: Vec::new() }))
}

/// The pending Python exception (after a C API call failed) as a CodecError.
pub fn python_error(py: Python<'_>, context: &str) -> Box<CodecError> {
    let err = PyErr::fetch(py);
    let msg = format!("{context}{}: {}", exc_type_name(py, &err), err.value(py));
    Box::new(CodecError { kind: Kind::Python(err), msg, path: Vec::new() })
}

fn exc_type_name(py: Python<'_>, err: &PyErr) -> String {
    err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into())
}

pub trait AtPath<T> {
    fn at_field(self, name: &str) -> Res<T>;
    fn at_index(self, index: usize) -> Res<T>;
    fn at_key(self, key: &str) -> Res<T>;
}

impl<T> AtPath<T> for Res<T> {
    #[inline]
    fn at_field(self, name: &str) -> Res<T> {
        self.map_err(|mut e| {
            e.path.push(Seg::Field(name.to_string()));
            e
        })
    }
    #[inline]
    fn at_index(self, index: usize) -> Res<T> {
        self.map_err(|mut e| {
            e.path.push(Seg::Index(index));
            e
        })
    }
    #[inline]
    fn at_key(self, key: &str) -> Res<T> {
        self.map_err(|mut e| {
            e.path.push(Seg::Key(key.to_string()));
            e
        })
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl CodecError {
    pub fn path_text(&self) -> String {
        let mut out = String::new();
        for seg in self.path.iter().rev() {
            match seg {
                Seg::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
                Seg::Key(k) if is_identifier(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Key(k) => out.push_str(&format!("[{k:?}]")),
            }
        }
        out
    }

    /// The Python exception to raise: TypeError or ValueError with the path in front of the
    /// message; a Python exception that is neither (MemoryError, KeyboardInterrupt, ...) is
    /// raised as it is.
    pub fn into_pyerr(self, py: Python<'_>, prefix: &str) -> PyErr {
        let path = self.path_text();
        let text = match (prefix.is_empty(), path.is_empty()) {
            (true, true) => self.msg.clone(),
            (true, false) => format!("{path}: {}", self.msg),
            (false, true) => format!("{prefix}: {}", self.msg),
            (false, false) => format!("{prefix}: {path}: {}", self.msg),
        };
        match self.kind {
            Kind::Type => PyTypeError::new_err(text),
            Kind::Value => PyValueError::new_err(text),
            Kind::Python(err) => {
                let new = if err.is_instance_of::<PyTypeError>(py) {
                    PyTypeError::new_err(text)
                } else if err.is_instance_of::<PyValueError>(py)
                    || err.is_instance_of::<pyo3::exceptions::PyArithmeticError>(py)
                    || err.is_instance_of::<pyo3::exceptions::PyLookupError>(py)
                    || err.is_instance_of::<pyo3::exceptions::PyAttributeError>(py)
                    || err.is_instance_of::<pyo3::exceptions::PyBufferError>(py)
                {
                    PyValueError::new_err(text)
                } else {
                    return err;
                };
                new.set_cause(py, Some(err));
                new
            }
        }
    }
}

/// `type(obj).__name__` for messages.
pub fn type_name(obj: *mut ffi::PyObject) -> String {
    // SAFETY: obj is a live object; tp_name is a NUL-terminated C string owned by the type.
    unsafe {
        let tp = ffi::Py_TYPE(obj);
        let name = CStr::from_ptr((*tp).tp_name).to_string_lossy();
        name.rsplit('.').next().unwrap_or("?").to_string()
    }
}

/// `repr(obj)`, shortened, for messages; never fails.
pub fn short_repr(py: Python<'_>, obj: *mut ffi::PyObject) -> String {
    // SAFETY: obj is a live object borrowed by the caller.
    let bound = unsafe { Bound::from_borrowed_ptr(py, obj) };
    let text = match bound.repr() {
        Ok(r) => r.to_string(),
        Err(_) => format!("<{} object>", type_name(obj)),
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}
