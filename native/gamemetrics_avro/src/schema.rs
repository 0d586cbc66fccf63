//! Compiles the JSON of a self-contained Avro schema into a flat arena of nodes.
//!
//! Named types (record, enum, fixed) are defined inline on first use and referenced by name
//! later, possibly recursively; every reference becomes the index of the definition's node.
//! Logical types and other annotations are ignored: values are the plain underlying types.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use serde_json::{Map, Value};

pub type NodeId = usize;

pub enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed { fullname: String, size: usize },
    Enum { fullname: String, symbols: Vec<String>, py_symbols: Vec<Py<PyString>> },
    Array { items: NodeId },
    Map { values: NodeId },
    Union { branches: Vec<Branch> },
    Record(Record),
    /// A named type whose definition is being compiled (only while compiling).
    Pending,
}

pub struct Branch {
    pub node: NodeId,
    /// The name a `(name, value)` tuple selects this branch by when writing a union (fastavro's
    /// `write_union`): the full name of a named type, else the type name.
    pub write_name: String,
    /// The name fastavro's `validate_union` compares a tuple's name with: the full name of an
    /// inline record or the text of a type given as a string; nothing for other inline types.
    pub validate_name: Option<String>,
}

pub struct Record {
    pub fullname: String,
    pub py_fullname: Py<PyString>,
    pub fields: Vec<Field>,
}

pub struct Field {
    pub name: String,
    pub py_name: Py<PyString>,
    pub node: NodeId,
    pub default: Option<Py<PyAny>>,
    /// fastavro writes a missing field without default as None when `"null" in field["type"]`.
    pub null_if_missing: bool,
}

pub struct Schema {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    /// Smallest encoded size of a value of each node (guards array/map block counts).
    pub min_size: Vec<usize>,
}

impl Schema {
    pub fn kind(&self, id: NodeId) -> &'static str {
        kind_name(&self.nodes[id])
    }

    /// A short description for error messages: the full name of a named type, else its kind.
    pub fn describe(&self, id: NodeId) -> String {
        match &self.nodes[id] {
            Node::Fixed { fullname, size } => format!("fixed {fullname} ({size} bytes)"),
            Node::Enum { fullname, .. } => format!("enum {fullname}"),
            Node::Record(r) => format!("record {}", r.fullname),
            Node::Union { branches } => {
                let names: Vec<&str> = branches.iter().map(|b| b.write_name.as_str()).collect();
                format!("union [{}]", names.join(", "))
            }
            _ => self.kind(id).to_string(),
        }
    }
}

const PRIMITIVES: [&str; 8] = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

fn primitive(name: &str) -> Option<Node> {
    Some(match name {
        "null" => Node::Null,
        "boolean" => Node::Boolean,
        "int" => Node::Int,
        "long" => Node::Long,
        "float" => Node::Float,
        "double" => Node::Double,
        "bytes" => Node::Bytes,
        "string" => Node::String,
        _ => return None,
    })
}

struct Compiler<'py> {
    py: Python<'py>,
    nodes: Vec<Node>,
    named: HashMap<String, NodeId>,
    /// One node per primitive type, shared.
    primitives: HashMap<&'static str, NodeId>,
}

type CResult<T> = Result<T, String>;

fn fullname_of(obj: &Map<String, Value>, enclosing_ns: &str, what: &str) -> CResult<(String, String)> {
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        _ => return Err(format!("a {what} needs a non-empty string \"name\"")),
    };
    if name.contains('.') {
        let ns = name.rsplit_once('.').map(|(ns, _)| ns).unwrap_or("");
        return Ok((name.to_string(), ns.to_string()));
    }
    let ns = match obj.get("namespace") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Null) | None => enclosing_ns,
        Some(_) => return Err(format!("{what} {name}: \"namespace\" must be a string")),
    };
    if ns.is_empty() {
        Ok((name.to_string(), String::new()))
    } else {
        Ok((format!("{ns}.{name}"), ns.to_string()))
    }
}

impl<'py> Compiler<'py> {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn primitive_node(&mut self, name: &'static str) -> NodeId {
        if let Some(&id) = self.primitives.get(name) {
            return id;
        }
        let id = self.push(primitive(name).expect("a primitive name"));
        self.primitives.insert(name, id);
        id
    }

    fn static_primitive(name: &str) -> Option<&'static str> {
        PRIMITIVES.iter().copied().find(|p| *p == name)
    }

    fn reference(&self, name: &str, ns: &str) -> CResult<NodeId> {
        if !name.contains('.') && !ns.is_empty() {
            if let Some(&id) = self.named.get(&format!("{ns}.{name}")) {
                return Ok(id);
            }
        }
        self.named
            .get(name)
            .copied()
            .ok_or_else(|| format!("unknown type {name:?} (named types must be defined before they are referenced)"))
    }

    fn register(&mut self, fullname: &str) -> CResult<NodeId> {
        if self.named.contains_key(fullname) {
            return Err(format!("type {fullname} is defined twice"));
        }
        let id = self.push(Node::Pending);
        self.named.insert(fullname.to_string(), id);
        Ok(id)
    }

    fn compile(&mut self, value: &Value, ns: &str) -> CResult<NodeId> {
        match value {
            Value::String(name) => match Self::static_primitive(name) {
                Some(p) => Ok(self.primitive_node(p)),
                None => self.reference(name, ns),
            },
            Value::Array(items) => self.union(items, ns),
            Value::Object(obj) => self.object(obj, ns),
            other => Err(format!("not an Avro type: {other}")),
        }
    }

    fn union(&mut self, items: &[Value], ns: &str) -> CResult<NodeId> {
        if items.is_empty() {
            return Err("a union needs at least one branch".into());
        }
        let mut branches = Vec::with_capacity(items.len());
        for item in items {
            let node = self.compile(item, ns)?;
            let write_name = match &self.nodes[node] {
                Node::Fixed { fullname, .. } | Node::Enum { fullname, .. } => fullname.clone(),
                Node::Record(r) => r.fullname.clone(),
                Node::Pending => match item {
                    // A recursive reference to a record being compiled: its own full name.
                    Value::String(_) => self.named.iter().find(|(_, &id)| id == node).map(|(n, _)| n.clone()).unwrap_or_default(),
                    _ => String::new(),
                },
                Node::Union { .. } => return Err("a union may not directly contain a union".into()),
                other => kind_name(other).to_string(),
            };
            let validate_name = match item {
                Value::String(s) => Some(match Self::static_primitive(s) {
                    Some(p) => p.to_string(),
                    None => write_name.clone(),
                }),
                Value::Object(obj) if matches!(obj.get("type"), Some(Value::String(t)) if t == "record" || t == "error") => {
                    Some(write_name.clone())
                }
                _ => None,
            };
            branches.push(Branch { node, write_name, validate_name });
        }
        Ok(self.push(Node::Union { branches }))
    }

    fn object(&mut self, obj: &Map<String, Value>, ns: &str) -> CResult<NodeId> {
        let ty = match obj.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(inner @ (Value::Object(_) | Value::Array(_))) => return self.compile(inner, ns),
            _ => return Err(format!("a type object needs a \"type\": {}", Value::Object(obj.clone()))),
        };
        if let Some(p) = Self::static_primitive(ty) {
            return Ok(self.primitive_node(p));
        }
        match ty {
            "record" | "error" => self.record(obj, ns),
            "enum" => {
                let (fullname, _) = fullname_of(obj, ns, "enum")?;
                let symbols: Vec<String> = match obj.get("symbols") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|s| s.as_str().map(str::to_string).ok_or_else(|| format!("enum {fullname}: symbols must be strings")))
                        .collect::<CResult<_>>()?,
                    _ => return Err(format!("enum {fullname} needs a \"symbols\" list")),
                };
                let id = self.register(&fullname)?;
                let py_symbols = symbols.iter().map(|s| PyString::intern(self.py, s).unbind()).collect();
                self.nodes[id] = Node::Enum { fullname, symbols, py_symbols };
                Ok(id)
            }
            "fixed" => {
                let (fullname, _) = fullname_of(obj, ns, "fixed")?;
                let size = obj
                    .get("size")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("fixed {fullname} needs a non-negative integer \"size\""))?;
                let size = usize::try_from(size).map_err(|_| format!("fixed {fullname}: size {size} is too large"))?;
                let id = self.register(&fullname)?;
                self.nodes[id] = Node::Fixed { fullname, size };
                Ok(id)
            }
            "array" => {
                let items = obj.get("items").ok_or("an array needs \"items\"")?;
                let items = self.compile(items, ns)?;
                Ok(self.push(Node::Array { items }))
            }
            "map" => {
                let values = obj.get("values").ok_or("a map needs \"values\"")?;
                let values = self.compile(values, ns)?;
                Ok(self.push(Node::Map { values }))
            }
            name => self.reference(name, ns),
        }
    }

    fn record(&mut self, obj: &Map<String, Value>, ns: &str) -> CResult<NodeId> {
        let (fullname, own_ns) = fullname_of(obj, ns, "record")?;
        let id = self.register(&fullname)?;
        let raw_fields = match obj.get("fields") {
            Some(Value::Array(f)) => f,
            _ => return Err(format!("record {fullname} needs a \"fields\" list")),
        };
        let mut fields = Vec::with_capacity(raw_fields.len());
        for raw in raw_fields {
            let f = raw.as_object().ok_or_else(|| format!("record {fullname}: a field must be an object"))?;
            let name = match f.get("name") {
                Some(Value::String(n)) => n.clone(),
                _ => return Err(format!("record {fullname}: a field needs a string \"name\"")),
            };
            let ty = f.get("type").ok_or_else(|| format!("{fullname}.{name}: the field needs a \"type\""))?;
            let node = self.compile(ty, &own_ns).map_err(|e| format!("{fullname}.{name}: {e}"))?;
            let default = match f.get("default") {
                Some(v) => Some(json_to_py(self.py, v).map_err(|e| format!("{fullname}.{name}: default: {e}"))?),
                None => None,
            };
            let null_if_missing = match ty {
                Value::String(s) => s.contains("null"),
                Value::Array(items) => items.iter().any(|b| b.as_str() == Some("null")),
                Value::Object(o) => o.contains_key("null"),
                _ => false,
            };
            fields.push(Field { py_name: PyString::intern(self.py, &name).unbind(), name, node, default, null_if_missing });
        }
        let py_fullname = PyString::intern(self.py, &fullname).unbind();
        self.nodes[id] = Node::Record(Record { fullname, py_fullname, fields });
        Ok(id)
    }
}

fn kind_name(node: &Node) -> &'static str {
    match node {
        Node::Null => "null",
        Node::Boolean => "boolean",
        Node::Int => "int",
        Node::Long => "long",
        Node::Float => "float",
        Node::Double => "double",
        Node::Bytes => "bytes",
        Node::String => "string",
        Node::Fixed { .. } => "fixed",
        Node::Enum { .. } => "enum",
        Node::Array { .. } => "array",
        Node::Map { .. } => "map",
        Node::Union { .. } => "union",
        Node::Record(_) => "record",
        Node::Pending => "pending",
    }
}

/// A JSON default value as the Python object `json.loads` would give.
fn json_to_py(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any().unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(obj) => {
            let dict = PyDict::new(py);
            for (k, v) in obj {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

fn min_sizes(nodes: &[Node]) -> Vec<usize> {
    // Iterate to a fixed point from 0 (recursive records are bounded by their unions).
    let mut sizes = vec![0usize; nodes.len()];
    loop {
        let mut changed = false;
        for (id, node) in nodes.iter().enumerate() {
            let s = match node {
                Node::Null | Node::Pending => 0,
                Node::Boolean | Node::Int | Node::Long | Node::Enum { .. } | Node::Bytes | Node::String => 1,
                Node::Float => 4,
                Node::Double => 8,
                Node::Fixed { size, .. } => *size,
                Node::Array { .. } | Node::Map { .. } => 1,
                Node::Union { branches } => 1 + branches.iter().map(|b| sizes[b.node]).min().unwrap_or(0),
                Node::Record(r) => r.fields.iter().fold(0usize, |acc, f| acc.saturating_add(sizes[f.node])),
            };
            let s = s.min(1 << 20);
            if s != sizes[id] {
                sizes[id] = s;
                changed = true;
            }
        }
        if !changed {
            return sizes;
        }
    }
}

/// Compiles `schema_json`; the error says what is wrong where.
pub fn compile(py: Python<'_>, schema_json: &str) -> Result<Schema, String> {
    let value: Value = serde_json::from_str(schema_json).map_err(|e| format!("schema is not valid JSON: {e}"))?;
    let mut c = Compiler { py, nodes: Vec::new(), named: HashMap::new(), primitives: HashMap::new() };
    let root = c.compile(&value, "")?;
    if c.nodes.iter().any(|n| matches!(n, Node::Pending)) {
        return Err("a named type was referenced but never completed".into());
    }
    let min_size = min_sizes(&c.nodes);
    Ok(Schema { nodes: c.nodes, root, min_size })
}
