//! Python values -> Avro binary, following fastavro's `schemaless_writer` (1.13).
//!
//! Union branches are chosen exactly as fastavro's `write_union` does: a `(type name, value)`
//! tuple names its branch; otherwise the first branch the value validates against (fastavro's
//! `_validate` rules) wins, except that records compete on the number of matching field names and
//! a `float` branch gives way to a later `double` one. Outside unions this encoder is stricter
//! than fastavro where fastavro would write a silently wrong value: a float for an int/long
//! (fastavro truncates it), an int out of the 32-bit range for an int (fastavro writes it anyway),
//! a non-bool for a boolean (fastavro writes its truthiness), a string for a float/double
//! (fastavro parses it), a string or dict for an array (fastavro writes its characters/keys).

use pyo3::ffi;
use pyo3::prelude::*;

use crate::error::{python_error, short_repr, type_error, type_name, value_error, AtPath, Res};
use crate::schema::{Branch, Node, NodeId, Record, Schema};

/// The Python classes fastavro's validation checks against, imported once per codec.
pub struct PyTypes {
    pub integral: Py<PyAny>,
    pub real: Py<PyAny>,
    pub mapping: Py<PyAny>,
    /// `(collections.abc.Sequence, array.array)`
    pub sequence: Py<PyAny>,
    pub type_key: Py<PyAny>,
}

impl PyTypes {
    pub fn new(py: Python<'_>) -> PyResult<Self> {
        let numbers = py.import("numbers")?;
        let abc = py.import("collections.abc")?;
        let array = py.import("array")?.getattr("array")?;
        let sequence = pyo3::types::PyTuple::new(py, [abc.getattr("Sequence")?, array])?;
        Ok(Self {
            integral: numbers.getattr("Integral")?.unbind(),
            real: numbers.getattr("Real")?.unbind(),
            mapping: abc.getattr("Mapping")?.unbind(),
            sequence: sequence.into_any().unbind(),
            type_key: pyo3::types::PyString::intern(py, "-type").into_any().unbind(),
        })
    }
}

pub const MAX_DEPTH: u32 = 400;

/// Exact built-in types whose answers to the ABC checks are known without calling isinstance.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Builtin {
    None,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    ByteArray,
    List,
    Tuple,
    Dict,
    Other,
}

#[inline]
unsafe fn builtin(obj: *mut ffi::PyObject) -> Builtin {
    let tp = ffi::Py_TYPE(obj);
    if obj == ffi::Py_None() {
        Builtin::None
    } else if tp == std::ptr::addr_of_mut!(ffi::PyUnicode_Type) {
        Builtin::Str
    } else if tp == std::ptr::addr_of_mut!(ffi::PyLong_Type) {
        Builtin::Int
    } else if tp == std::ptr::addr_of_mut!(ffi::PyBool_Type) {
        Builtin::Bool
    } else if tp == std::ptr::addr_of_mut!(ffi::PyFloat_Type) {
        Builtin::Float
    } else if tp == std::ptr::addr_of_mut!(ffi::PyDict_Type) {
        Builtin::Dict
    } else if tp == std::ptr::addr_of_mut!(ffi::PyList_Type) {
        Builtin::List
    } else if tp == std::ptr::addr_of_mut!(ffi::PyTuple_Type) {
        Builtin::Tuple
    } else if tp == std::ptr::addr_of_mut!(ffi::PyBytes_Type) {
        Builtin::Bytes
    } else if tp == std::ptr::addr_of_mut!(ffi::PyByteArray_Type) {
        Builtin::ByteArray
    } else {
        Builtin::Other
    }
}

#[inline]
pub fn write_long(out: &mut Vec<u8>, value: i64) {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n & !0x7f != 0 {
        out.push(((n & 0x7f) | 0x80) as u8);
        n >>= 7;
    }
    out.push(n as u8);
}

pub struct Encoder<'s, 'py> {
    pub py: Python<'py>,
    pub schema: &'s Schema,
    pub types: &'s PyTypes,
    pub out: Vec<u8>,
    depth: u32,
}

/// A borrowed object kept alive while it is written (Python code it runs could drop it).
#[inline]
unsafe fn hold<'py>(py: Python<'py>, obj: *mut ffi::PyObject) -> Bound<'py, PyAny> {
    Bound::from_borrowed_ptr(py, obj)
}

impl<'s, 'py> Encoder<'s, 'py> {
    pub fn new(py: Python<'py>, schema: &'s Schema, types: &'s PyTypes, out: Vec<u8>) -> Self {
        Self { py, schema, types, out, depth: 0 }
    }

    fn isinstance(&self, obj: *mut ffi::PyObject, cls: &Py<PyAny>) -> Res<bool> {
        // SAFETY: both are live objects; the GIL is held.
        match unsafe { ffi::PyObject_IsInstance(obj, cls.as_ptr()) } {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(python_error(self.py, "isinstance check failed: ")),
        }
    }

    fn is_mapping(&self, obj: *mut ffi::PyObject) -> Res<bool> {
        // SAFETY: obj is live.
        match unsafe { builtin(obj) } {
            Builtin::Dict => Ok(true),
            Builtin::Other => {
                if unsafe { ffi::PyDict_Check(obj) } != 0 {
                    Ok(true)
                } else {
                    self.isinstance(obj, &self.types.mapping)
                }
            }
            _ => Ok(false),
        }
    }

    fn mismatch<T>(&self, expected: &str, obj: *mut ffi::PyObject) -> Res<T> {
        type_error(format!("expected {expected}, got {} {}", type_name(obj), short_repr(self.py, obj)))
    }

    pub fn write(&mut self, obj: *mut ffi::PyObject, id: NodeId) -> Res<()> {
        let schema = self.schema;
        // SAFETY (whole function): `obj` is a live object the caller keeps alive; the GIL is held.
        unsafe {
            match &schema.nodes[id] {
                Node::Null => {
                    if obj != ffi::Py_None() {
                        return self.mismatch("None", obj);
                    }
                }
                Node::Boolean => {
                    if obj == ffi::Py_True() {
                        self.out.push(1);
                    } else if obj == ffi::Py_False() {
                        self.out.push(0);
                    } else {
                        return self.mismatch("a bool", obj);
                    }
                }
                Node::Int => {
                    let v = self.int_value(obj)?;
                    if v < i32::MIN as i64 || v > i32::MAX as i64 {
                        return value_error(format!("{v} is out of the range of an Avro int (32 bits)"));
                    }
                    write_long(&mut self.out, v);
                }
                Node::Long => {
                    let v = self.int_value(obj)?;
                    write_long(&mut self.out, v);
                }
                Node::Float => {
                    let v = self.float_value(obj)?;
                    self.out.extend_from_slice(&(v as f32).to_le_bytes());
                }
                Node::Double => {
                    let v = self.float_value(obj)?;
                    self.out.extend_from_slice(&v.to_le_bytes());
                }
                Node::String => {
                    if ffi::PyUnicode_Check(obj) == 0 {
                        return self.mismatch("a str", obj);
                    }
                    let s = self.utf8(obj)?;
                    write_long(&mut self.out, s.len() as i64);
                    self.out.extend_from_slice(s);
                }
                Node::Bytes => {
                    let b = self.bytes_like(obj, "bytes")?;
                    write_long(&mut self.out, b.len() as i64);
                    self.out.extend_from_slice(&b);
                }
                Node::Fixed { size, fullname } => {
                    let b = self.bytes_like(obj, "bytes")?;
                    if b.len() != *size {
                        return value_error(format!("{} bytes do not fit fixed {fullname} of {size} bytes", b.len()));
                    }
                    self.out.extend_from_slice(&b);
                }
                Node::Enum { symbols, fullname, .. } => {
                    if ffi::PyUnicode_Check(obj) == 0 {
                        return self.mismatch("a str (an enum symbol)", obj);
                    }
                    let s = self.utf8(obj)?;
                    match symbols.iter().position(|sym| sym.as_bytes() == s) {
                        Some(i) => write_long(&mut self.out, i as i64),
                        None => {
                            return value_error(format!(
                                "{} is not a symbol of enum {fullname} ({})",
                                short_repr(self.py, obj),
                                symbols.join(", ")
                            ))
                        }
                    }
                }
                Node::Array { items } => self.write_array(obj, *items)?,
                Node::Map { values } => self.write_map(obj, *values)?,
                Node::Union { branches } => {
                    let (index, inner) = self.select(obj, branches)?;
                    write_long(&mut self.out, index as i64);
                    let node = branches[index].node;
                    match inner {
                        Some(value) => self.nested(value.as_ptr(), node)?,
                        None => self.nested(obj, node)?,
                    }
                }
                Node::Record(record) => self.write_record(obj, record)?,
                Node::Pending => return value_error("schema node was never completed".into()),
            }
        }
        Ok(())
    }

    #[inline]
    fn nested(&mut self, obj: *mut ffi::PyObject, id: NodeId) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return value_error(format!("value nested deeper than {MAX_DEPTH} levels (a cycle?)"));
        }
        let r = self.write(obj, id);
        self.depth -= 1;
        r
    }

    /// The UTF-8 of a str (cached inside the str object by CPython; no copy).
    #[inline]
    unsafe fn utf8(&self, obj: *mut ffi::PyObject) -> Res<&'static [u8]> {
        let mut size: ffi::Py_ssize_t = 0;
        let ptr = ffi::PyUnicode_AsUTF8AndSize(obj, &mut size);
        if ptr.is_null() {
            return Err(python_error(self.py, ""));
        }
        // The buffer lives as long as the str, which the caller keeps alive while it is used.
        Ok(std::slice::from_raw_parts(ptr as *const u8, size as usize))
    }

    unsafe fn int_value(&self, obj: *mut ffi::PyObject) -> Res<i64> {
        if ffi::PyLong_Check(obj) != 0 {
            return self.long_of(obj);
        }
        match builtin(obj) {
            Builtin::Float => {
                return type_error(format!(
                    "expected an int, got float {} (it would be truncated)",
                    short_repr(self.py, obj)
                ))
            }
            Builtin::Other => {}
            _ => return self.mismatch("an int", obj),
        }
        let index = ffi::PyNumber_Index(obj);
        if index.is_null() {
            ffi::PyErr_Clear();
            return self.mismatch("an int", obj);
        }
        let index = Bound::from_owned_ptr(self.py, index);
        self.long_of(index.as_ptr())
    }

    unsafe fn long_of(&self, obj: *mut ffi::PyObject) -> Res<i64> {
        let mut overflow: std::os::raw::c_int = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(obj, &mut overflow);
        if overflow != 0 {
            return value_error(format!("{} is out of the range of an Avro long (64 bits)", short_repr(self.py, obj)));
        }
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(python_error(self.py, ""));
        }
        Ok(v)
    }

    unsafe fn float_value(&self, obj: *mut ffi::PyObject) -> Res<f64> {
        if ffi::PyFloat_Check(obj) != 0 {
            return Ok(ffi::PyFloat_AS_DOUBLE(obj));
        }
        if ffi::PyLong_Check(obj) != 0 {
            let v = ffi::PyLong_AsDouble(obj);
            if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
                return Err(python_error(self.py, ""));
            }
            return Ok(v);
        }
        if builtin(obj) != Builtin::Other {
            return self.mismatch("a float", obj);
        }
        let v = ffi::PyFloat_AsDouble(obj);
        if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return self.mismatch("a float", obj);
        }
        Ok(v)
    }

    /// The bytes of a bytes, bytearray or memoryview (copied: the writer may run Python code).
    unsafe fn bytes_like(&self, obj: *mut ffi::PyObject, expected: &str) -> Res<std::borrow::Cow<'static, [u8]>> {
        if ffi::PyBytes_Check(obj) != 0 {
            let ptr = ffi::PyBytes_AsString(obj) as *const u8;
            let len = ffi::PyBytes_Size(obj) as usize;
            // Immutable and kept alive by the caller.
            return Ok(std::borrow::Cow::Borrowed(std::slice::from_raw_parts(ptr, len)));
        }
        if ffi::PyByteArray_Check(obj) != 0 || ffi::PyMemoryView_Check(obj) != 0 {
            let mut view: ffi::Py_buffer = std::mem::zeroed();
            if ffi::PyObject_GetBuffer(obj, &mut view, ffi::PyBUF_SIMPLE) != 0 {
                return Err(python_error(self.py, ""));
            }
            let data = if view.len > 0 {
                std::slice::from_raw_parts(view.buf as *const u8, view.len as usize).to_vec()
            } else {
                Vec::new()
            };
            ffi::PyBuffer_Release(&mut view);
            return Ok(std::borrow::Cow::Owned(data));
        }
        self.mismatch(expected, obj)
    }

    fn write_array(&mut self, obj: *mut ffi::PyObject, items: NodeId) -> Res<()> {
        // SAFETY: obj is live; list/tuple items are held while written.
        unsafe {
            let kind = builtin(obj);
            let list_owner;
            let seq = match kind {
                Builtin::List | Builtin::Tuple => obj,
                Builtin::Other if ffi::PyList_Check(obj) != 0 || ffi::PyTuple_Check(obj) != 0 => obj,
                Builtin::Bytes | Builtin::ByteArray | Builtin::Other
                    if ffi::PyUnicode_Check(obj) == 0 && !self.is_mapping(obj)? =>
                {
                    let list = ffi::PySequence_List(obj);
                    if list.is_null() {
                        ffi::PyErr_Clear();
                        return self.mismatch("a list", obj);
                    }
                    list_owner = Bound::from_owned_ptr(self.py, list);
                    list_owner.as_ptr()
                }
                _ => return self.mismatch("a list", obj),
            };
            let is_list = ffi::PyList_Check(seq) != 0;
            let n = if is_list { ffi::PyList_GET_SIZE(seq) } else { ffi::PyTuple_GET_SIZE(seq) };
            if n > 0 {
                write_long(&mut self.out, n as i64);
                for i in 0..n {
                    let item = if is_list {
                        if ffi::PyList_GET_SIZE(seq) != n {
                            return value_error("the list changed size while it was being written".into()).at_index(i as usize);
                        }
                        hold(self.py, ffi::PyList_GET_ITEM(seq, i))
                    } else {
                        hold(self.py, ffi::PyTuple_GET_ITEM(seq, i))
                    };
                    self.nested(item.as_ptr(), items).at_index(i as usize)?;
                }
            }
            self.out.push(0);
        }
        Ok(())
    }

    fn write_map(&mut self, obj: *mut ffi::PyObject, values: NodeId) -> Res<()> {
        // SAFETY: obj is live; keys and values are held while written.
        unsafe {
            if ffi::PyDict_Check(obj) != 0 {
                let n = ffi::PyDict_Size(obj);
                if n > 0 {
                    write_long(&mut self.out, n as i64);
                    let mut pos: ffi::Py_ssize_t = 0;
                    let mut key: *mut ffi::PyObject = std::ptr::null_mut();
                    let mut value: *mut ffi::PyObject = std::ptr::null_mut();
                    let mut written: ffi::Py_ssize_t = 0;
                    while ffi::PyDict_Next(obj, &mut pos, &mut key, &mut value) != 0 {
                        let key = hold(self.py, key);
                        let value = hold(self.py, value);
                        self.map_entry(key.as_ptr(), value.as_ptr(), values)?;
                        written += 1;
                        if ffi::PyDict_Size(obj) != n {
                            return value_error("the dict changed size while it was being written".into());
                        }
                    }
                    if written != n {
                        return value_error("the dict changed while it was being written".into());
                    }
                }
                self.out.push(0);
                return Ok(());
            }
            if !self.is_mapping(obj)? {
                return self.mismatch("a dict", obj);
            }
            let items = ffi::PyMapping_Items(obj);
            if items.is_null() {
                return Err(python_error(self.py, ""));
            }
            let items = Bound::from_owned_ptr(self.py, items);
            let n = ffi::PyList_GET_SIZE(items.as_ptr());
            if n > 0 {
                write_long(&mut self.out, n as i64);
                for i in 0..n {
                    let pair = hold(self.py, ffi::PyList_GET_ITEM(items.as_ptr(), i));
                    if ffi::PyTuple_Check(pair.as_ptr()) == 0 || ffi::PyTuple_GET_SIZE(pair.as_ptr()) != 2 {
                        return type_error("items() of the mapping must give (key, value) pairs".into());
                    }
                    let key = ffi::PyTuple_GET_ITEM(pair.as_ptr(), 0);
                    let value = ffi::PyTuple_GET_ITEM(pair.as_ptr(), 1);
                    self.map_entry(key, value, values)?;
                }
            }
            self.out.push(0);
        }
        Ok(())
    }

    unsafe fn map_entry(&mut self, key: *mut ffi::PyObject, value: *mut ffi::PyObject, values: NodeId) -> Res<()> {
        if ffi::PyUnicode_Check(key) == 0 {
            return type_error(format!("map keys must be str, got {} {}", type_name(key), short_repr(self.py, key)));
        }
        let k = self.utf8(key)?;
        write_long(&mut self.out, k.len() as i64);
        self.out.extend_from_slice(k);
        match self.nested(value, values) {
            Ok(()) => Ok(()),
            Err(e) => Err(e).at_key(&String::from_utf8_lossy(k)),
        }
    }

    fn write_record(&mut self, obj: *mut ffi::PyObject, record: &Record) -> Res<()> {
        // SAFETY: obj is live; field values are held while written.
        unsafe {
            let is_dict = ffi::PyDict_Check(obj) != 0;
            if !is_dict && !self.is_mapping(obj)? {
                return self.mismatch(&format!("a dict for record {}", record.fullname), obj);
            }
            for field in &record.fields {
                let found = if is_dict {
                    let v = ffi::PyDict_GetItemWithError(obj, field.py_name.as_ptr());
                    if v.is_null() {
                        if !ffi::PyErr_Occurred().is_null() {
                            return Err(python_error(self.py, "")).at_field(&field.name);
                        }
                        None
                    } else {
                        Some(hold(self.py, v))
                    }
                } else {
                    self.mapping_get(obj, field.py_name.as_ptr()).at_field(&field.name)?
                };
                let value = match found {
                    Some(v) => v,
                    None => match &field.default {
                        Some(default) => default.bind(self.py).clone(),
                        None if field.null_if_missing => self.py.None().into_bound(self.py),
                        None => {
                            return value_error(format!(
                                "no value and no default (a required field of {})",
                                record.fullname
                            ))
                            .at_field(&field.name)
                        }
                    },
                };
                self.nested(value.as_ptr(), field.node).at_field(&field.name)?;
            }
        }
        Ok(())
    }

    /// `mapping[key]` of a non-dict mapping; None when the key is missing.
    unsafe fn mapping_get(&self, obj: *mut ffi::PyObject, key: *mut ffi::PyObject) -> Res<Option<Bound<'py, PyAny>>> {
        match ffi::PySequence_Contains(obj, key) {
            1 => {}
            0 => return Ok(None),
            _ => return Err(python_error(self.py, "")),
        }
        let v = ffi::PyObject_GetItem(obj, key);
        if v.is_null() {
            return Err(python_error(self.py, ""));
        }
        Ok(Some(Bound::from_owned_ptr(self.py, v)))
    }

    /// fastavro's `write_union` branch choice: the branch index and, for a `(name, value)`
    /// tuple, the value to write.
    fn select(&mut self, obj: *mut ffi::PyObject, branches: &[Branch]) -> Res<(usize, Option<Bound<'py, PyAny>>)> {
        // SAFETY: obj is live; the GIL is held.
        unsafe {
            if ffi::PyTuple_Check(obj) != 0 {
                let (name, value) = self.tuple_pair(obj)?;
                if ffi::PyUnicode_Check(name.as_ptr()) != 0 {
                    let n = self.utf8(name.as_ptr())?;
                    if let Some(i) = branches.iter().position(|b| b.write_name.as_bytes() == n) {
                        return Ok((i, Some(value)));
                    }
                }
                return value_error(format!(
                    "provided union type name {} not found in {}",
                    short_repr(self.py, name.as_ptr()),
                    self.union_text(branches)
                ));
            }
            let mut best: Option<usize> = None;
            let mut most_fields: i64 = -1;
            let mut could_be_float = false;
            for (i, branch) in branches.iter().enumerate() {
                let node = &self.schema.nodes[branch.node];
                if could_be_float {
                    if matches!(node, Node::Double) {
                        best = Some(i);
                        break;
                    }
                    continue;
                }
                if !self.validate(obj, branch.node)? {
                    continue;
                }
                match node {
                    Node::Record(r) => {
                        let fields = self.count_fields(obj, r)?;
                        if fields > most_fields {
                            best = Some(i);
                            most_fields = fields;
                        }
                    }
                    Node::Float => {
                        best = Some(i);
                        could_be_float = true;
                    }
                    _ => {
                        best = Some(i);
                        break;
                    }
                }
            }
            match best {
                Some(i) => Ok((i, None)),
                None => value_error(format!(
                    "{} {} matches no branch of {}",
                    type_name(obj),
                    short_repr(self.py, obj),
                    self.union_text(branches)
                )),
            }
        }
    }

    fn union_text(&self, branches: &[Branch]) -> String {
        let names: Vec<&str> = branches.iter().map(|b| b.write_name.as_str()).collect();
        format!("union [{}]", names.join(", "))
    }

    unsafe fn tuple_pair(&self, obj: *mut ffi::PyObject) -> Res<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        if ffi::PyTuple_GET_SIZE(obj) != 2 {
            return value_error(format!(
                "a tuple in a union must be (type name, value), got {} items",
                ffi::PyTuple_GET_SIZE(obj)
            ));
        }
        Ok((hold(self.py, ffi::PyTuple_GET_ITEM(obj, 0)), hold(self.py, ffi::PyTuple_GET_ITEM(obj, 1))))
    }

    unsafe fn count_fields(&self, obj: *mut ffi::PyObject, record: &Record) -> Res<i64> {
        let mut n = 0;
        for field in &record.fields {
            match ffi::PySequence_Contains(obj, field.py_name.as_ptr()) {
                1 => n += 1,
                0 => {}
                _ => return Err(python_error(self.py, "")),
            }
        }
        Ok(n)
    }

    /// fastavro's `_validate(datum, schema)` without logical types (non-strict).
    pub fn validate(&mut self, obj: *mut ffi::PyObject, id: NodeId) -> Res<bool> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return value_error(format!("value nested deeper than {MAX_DEPTH} levels (a cycle?)"));
        }
        let r = unsafe { self.validate_inner(obj, id) };
        self.depth -= 1;
        r
    }

    unsafe fn validate_inner(&mut self, obj: *mut ffi::PyObject, id: NodeId) -> Res<bool> {
        let schema = self.schema;
        let kind = builtin(obj);
        Ok(match &schema.nodes[id] {
            Node::Null => kind == Builtin::None,
            Node::Boolean => kind == Builtin::Bool,
            Node::String => ffi::PyUnicode_Check(obj) != 0,
            Node::Int => self.integral_in(obj, kind, i32::MIN as i64, i32::MAX as i64)?,
            Node::Long => self.integral_in(obj, kind, i64::MIN, i64::MAX)?,
            Node::Float | Node::Double => match kind {
                Builtin::Int | Builtin::Float => true,
                Builtin::Other => {
                    ffi::PyBool_Check(obj) == 0
                        && (ffi::PyLong_Check(obj) != 0
                            || ffi::PyFloat_Check(obj) != 0
                            || self.isinstance(obj, &self.types.real)?)
                }
                _ => false,
            },
            Node::Bytes => ffi::PyBytes_Check(obj) != 0 || ffi::PyByteArray_Check(obj) != 0,
            Node::Fixed { size, .. } => {
                if ffi::PyBytes_Check(obj) != 0 {
                    ffi::PyBytes_Size(obj) as usize == *size
                } else if ffi::PyByteArray_Check(obj) != 0 {
                    ffi::PyByteArray_Size(obj) as usize == *size
                } else {
                    false
                }
            }
            Node::Enum { symbols, .. } => {
                if ffi::PyUnicode_Check(obj) == 0 {
                    false
                } else {
                    let mut size: ffi::Py_ssize_t = 0;
                    let ptr = ffi::PyUnicode_AsUTF8AndSize(obj, &mut size);
                    if ptr.is_null() {
                        ffi::PyErr_Clear(); // lone surrogates: equal to no symbol
                        false
                    } else {
                        let s = std::slice::from_raw_parts(ptr as *const u8, size as usize);
                        symbols.iter().any(|sym| sym.as_bytes() == s)
                    }
                }
            }
            Node::Array { items } => {
                let seq = match kind {
                    Builtin::List | Builtin::Tuple => hold(self.py, obj),
                    Builtin::Bytes | Builtin::ByteArray | Builtin::Other => {
                        if ffi::PyUnicode_Check(obj) != 0 || !self.isinstance(obj, &self.types.sequence)? {
                            return Ok(false);
                        }
                        let list = ffi::PySequence_List(obj);
                        if list.is_null() {
                            return Err(python_error(self.py, ""));
                        }
                        Bound::from_owned_ptr(self.py, list)
                    }
                    _ => return Ok(false),
                };
                let seq = seq.as_ptr();
                let is_list = ffi::PyList_Check(seq) != 0;
                let mut i = 0;
                loop {
                    let n = if is_list { ffi::PyList_GET_SIZE(seq) } else { ffi::PyTuple_GET_SIZE(seq) };
                    if i >= n {
                        break true;
                    }
                    let item = hold(
                        self.py,
                        if is_list { ffi::PyList_GET_ITEM(seq, i) } else { ffi::PyTuple_GET_ITEM(seq, i) },
                    );
                    if !self.validate(item.as_ptr(), *items)? {
                        break false;
                    }
                    i += 1;
                }
            }
            Node::Map { values } => {
                if !self.is_mapping(obj)? {
                    return Ok(false);
                }
                let items = ffi::PyMapping_Items(obj);
                if items.is_null() {
                    return Err(python_error(self.py, ""));
                }
                let items = Bound::from_owned_ptr(self.py, items);
                let n = ffi::PyList_GET_SIZE(items.as_ptr());
                // All keys first (as fastavro), then the values.
                for i in 0..n {
                    let pair = ffi::PyList_GET_ITEM(items.as_ptr(), i);
                    if ffi::PyTuple_Check(pair) == 0 || ffi::PyTuple_GET_SIZE(pair) != 2 {
                        return Ok(false);
                    }
                    if ffi::PyUnicode_Check(ffi::PyTuple_GET_ITEM(pair, 0)) == 0 {
                        return Ok(false);
                    }
                }
                for i in 0..n {
                    let pair = ffi::PyList_GET_ITEM(items.as_ptr(), i);
                    let value = hold(self.py, ffi::PyTuple_GET_ITEM(pair, 1));
                    if !self.validate(value.as_ptr(), *values)? {
                        return Ok(false);
                    }
                }
                true
            }
            Node::Union { branches } => {
                if ffi::PyTuple_Check(obj) != 0 {
                    let (name, value) = self.tuple_pair(obj)?;
                    if ffi::PyUnicode_Check(name.as_ptr()) == 0 {
                        return Ok(false);
                    }
                    let n = self.utf8(name.as_ptr())?;
                    for branch in branches.iter() {
                        if branch.validate_name.as_deref().map(str::as_bytes) == Some(n) {
                            return self.validate(value.as_ptr(), branch.node);
                        }
                    }
                    return Ok(false);
                }
                for branch in branches.iter() {
                    if self.validate(obj, branch.node)? {
                        return Ok(true);
                    }
                }
                false
            }
            Node::Record(record) => {
                if !self.is_mapping(obj)? {
                    return Ok(false);
                }
                let is_dict = ffi::PyDict_Check(obj) != 0;
                // `"-type" in datum and datum["-type"] != fullname`
                let tag = if is_dict {
                    let v = ffi::PyDict_GetItemWithError(obj, self.types.type_key.as_ptr());
                    if v.is_null() {
                        if !ffi::PyErr_Occurred().is_null() {
                            return Err(python_error(self.py, ""));
                        }
                        None
                    } else {
                        Some(hold(self.py, v))
                    }
                } else {
                    self.mapping_get(obj, self.types.type_key.as_ptr())?
                };
                if let Some(tag) = tag {
                    match ffi::PyObject_RichCompareBool(tag.as_ptr(), record.py_fullname.as_ptr(), ffi::Py_NE) {
                        0 => {}
                        1 => return Ok(false),
                        _ => return Err(python_error(self.py, "")),
                    }
                }
                for field in &record.fields {
                    let found = if is_dict {
                        let v = ffi::PyDict_GetItemWithError(obj, field.py_name.as_ptr());
                        if v.is_null() {
                            if !ffi::PyErr_Occurred().is_null() {
                                return Err(python_error(self.py, ""));
                            }
                            None
                        } else {
                            Some(hold(self.py, v))
                        }
                    } else {
                        self.mapping_get(obj, field.py_name.as_ptr())?
                    };
                    let value = match found {
                        Some(v) => v,
                        None => match &field.default {
                            Some(d) => d.bind(self.py).clone(),
                            None => self.py.None().into_bound(self.py),
                        },
                    };
                    if !self.validate(value.as_ptr(), field.node)? {
                        return Ok(false);
                    }
                }
                true
            }
            Node::Pending => false,
        })
    }

    /// `isinstance(datum, (int, numbers.Integral)) and lo <= datum <= hi and not isinstance(datum, bool)`
    unsafe fn integral_in(&self, obj: *mut ffi::PyObject, kind: Builtin, lo: i64, hi: i64) -> Res<bool> {
        let value = match kind {
            Builtin::Int => obj,
            Builtin::Other => {
                if ffi::PyBool_Check(obj) != 0 {
                    return Ok(false);
                }
                if ffi::PyLong_Check(obj) == 0 && !self.isinstance(obj, &self.types.integral)? {
                    return Ok(false);
                }
                obj
            }
            _ => return Ok(false),
        };
        let owner;
        let value = if ffi::PyLong_Check(value) != 0 {
            value
        } else {
            let index = ffi::PyNumber_Index(value);
            if index.is_null() {
                return Err(python_error(self.py, ""));
            }
            owner = Bound::from_owned_ptr(self.py, index);
            owner.as_ptr()
        };
        let mut overflow: std::os::raw::c_int = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(value, &mut overflow);
        if overflow != 0 {
            return Ok(false);
        }
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(python_error(self.py, ""));
        }
        Ok(lo <= v && v <= hi)
    }
}
