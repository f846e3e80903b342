//! The look-up data sources, one file each: [`aiapps`] lists the apps of an account that a
//! selector picks, [`aiapp`] reads one app's details.

pub mod aiapp;
pub mod aiapps;

use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Field, ShapeError};

use super::error::ProviderError;

/// An argument as a read needs it: known or null. Terraform defers reads whose configuration is
/// unknown, so an unknown one here is refused rather than read as no filter.
fn known<'a>(field: &'a Field<String>, attribute: &'static str) -> Result<Option<&'a String>, ProviderError> {
    match field {
        Field::Unknown => Err(ProviderError::Shape(ShapeError {
            path: vec![PathStep::Attribute(attribute.to_string())],
            expected: "a known string",
            got: "an unknown value",
        })),
        field => Ok(field.known()),
    }
}
