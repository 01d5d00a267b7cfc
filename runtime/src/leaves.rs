//! The numeric leaves of a record or composite, for rules and plots.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// Every number in `value`'s serialized form as `(dotted path, value)`, in
/// document order. Paths are the stored names (after serde renames);
/// each element of an array is a leaf at the array's path; strings,
/// booleans, nulls and timestamps are not numeric leaves.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Load { cpu: f64, cores: Vec<u8>, host: String }
/// let leaves = esrecord::numeric_leaves(&Load { cpu: 0.5, cores: vec![1, 2], host: "a".into() }).unwrap();
/// assert_eq!(leaves, [("cores".to_owned(), 1.0), ("cores".to_owned(), 2.0), ("cpu".to_owned(), 0.5)]);
/// ```
pub fn numeric_leaves<T: Serialize + ?Sized>(value: &T) -> Result<Vec<(String, f64)>> {
    let value = serde_json::to_value(value).map_err(|source| Error::Serialize {
        what: std::any::type_name::<T>().to_owned(),
        source,
    })?;
    let mut leaves = Vec::new();
    collect(&value, &mut String::new(), &mut leaves);
    Ok(leaves)
}

fn collect(value: &Value, path: &mut String, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((path.clone(), x));
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, path, out)),
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                collect(item, path, out);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}
