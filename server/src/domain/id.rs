//! The one reading of ids in requests: a UUID, blanks around it ignored,
//! an empty value meaning none; a malformed one is named by its field.

use uuid::Uuid;

use super::validate::Violations;
use crate::error::{Error, Result};

const NOT_UUID: &str = "must be a UUID";

/// None for an empty value, else the UUID or why not.
fn read(s: &str) -> Option<std::result::Result<Uuid, uuid::Error>> {
    match s.trim() {
        "" => None,
        s => Some(Uuid::parse_str(s)),
    }
}

/// An id that must be given.
pub fn required(field: &str, s: &str) -> Result<Uuid> {
    match read(s) {
        None => Err(Error::invalid(field, "is required")),
        Some(r) => r.map_err(|_| Error::invalid(field, NOT_UUID)),
    }
}

/// An id that may be left empty.
pub fn optional(field: &str, s: &str) -> Result<Option<Uuid>> {
    read(s)
        .transpose()
        .map_err(|_| Error::invalid(field, NOT_UUID))
}

/// Ids named `field[i]`, each given.
pub fn list(field: &str, ids: &[String]) -> Result<Vec<Uuid>> {
    ids.iter()
        .enumerate()
        .map(|(i, s)| required(&format!("{field}[{i}]"), s))
        .collect()
}

/// An id that may be left empty, a malformed one added to `v`.
pub fn optional_in(field: &str, s: &str, v: &mut Violations) -> Option<Uuid> {
    match read(s)? {
        Ok(id) => Some(id),
        Err(_) => {
            v.add(field, NOT_UUID);
            None
        }
    }
}

/// An id that must be given, a missing or malformed one added to `v`.
pub fn required_in(field: &str, s: &str, v: &mut Violations) -> Option<Uuid> {
    if s.trim().is_empty() {
        v.add(field, "is required");
        return None;
    }
    optional_in(field, s, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0192f0c4-7b7e-7d2a-9c1e-3f5a6b7c8d9e";

    #[test]
    fn ids_read_the_same_way_everywhere() {
        let id = Uuid::parse_str(ID).unwrap();
        // (value, what `required` reads, what `optional` reads); None: refused
        type Row<'a> = (&'a str, Option<Uuid>, Option<Option<Uuid>>);
        let table: &[Row] = &[
            (ID, Some(id), Some(Some(id))),
            (&format!(" {ID}\n"), Some(id), Some(Some(id))),
            ("", None, Some(None)),
            ("   ", None, Some(None)),
            ("not-a-uuid", None, None),
            ("0192f0c4", None, None),
        ];
        for (s, req, opt) in table {
            assert_eq!(required("f", s).ok(), *req, "required({s:?})");
            assert_eq!(optional("f", s).ok(), *opt, "optional({s:?})");
            let mut v = Violations::new();
            let got = optional_in("f", s, &mut v);
            assert_eq!(got, opt.flatten(), "optional_in({s:?})");
            assert_eq!(v.is_empty(), opt.is_some(), "violations of {s:?}");
        }
        let e = required("finding_id", "").unwrap_err().to_string();
        assert!(e.contains("finding_id"), "{e}");
        let e = list("evidence_ids", &[ID.into(), "x".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("evidence_ids[1]"), "{e}");
    }
}
