//! Collects every offending field of a request before refusing it, so that a
//! client learns all its mistakes at once.

use crate::error::{Error, FieldViolation, Result};

#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Text that must be present and at most `max` characters long.
    pub fn required_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "is required");
        } else {
            self.max_chars(field, value, max);
        }
    }

    pub fn max_chars(&mut self, field: &str, value: &str, max: usize) {
        let n = value.chars().count();
        if n > max {
            self.add(
                field,
                format!("is {n} characters long; at most {max} allowed"),
            );
        }
    }

    pub fn max_items<T>(&mut self, field: &str, items: &[T], max: usize) {
        if items.len() > max {
            self.add(
                field,
                format!("has {} entries; at most {max} allowed", items.len()),
            );
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends the violations of a nested part whose field names are relative.
    pub fn extend(&mut self, other: Violations) {
        self.0.extend(other.0);
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

/// A request value before validation: present and well-formed, absent, or
/// present but unusable (an enum number this server does not know, a
/// timestamp out of range). The api layer fills it; the domain judges it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<T> {
    Valid(T),
    Missing,
    Invalid(String),
}

impl<T: Clone> Input<T> {
    /// The value when it is required.
    pub fn required(&self, field: &str, v: &mut Violations) -> Option<T> {
        match self {
            Input::Valid(t) => Some(t.clone()),
            Input::Missing => {
                v.add(field, "is required");
                None
            }
            Input::Invalid(why) => {
                v.add(field, why.clone());
                None
            }
        }
    }

    /// The value when it may be absent.
    pub fn optional(&self, field: &str, v: &mut Violations) -> Option<T> {
        match self {
            Input::Valid(t) => Some(t.clone()),
            Input::Missing => None,
            Input::Invalid(why) => {
                v.add(field, why.clone());
                None
            }
        }
    }
}

impl<T> From<Option<T>> for Input<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Input::Missing, Input::Valid)
    }
}
