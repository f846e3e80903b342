//! Diagnostics: what Terraform shows the user (a severity, a summary, a detail, and the attribute
//! they point at), and their wire form.

use super::proto::tfplugin6 as pb;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One step of an attribute path: an attribute (in a block or not), a map key, a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Attribute(String),
    Key(String),
    Index(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub path: Vec<PathStep>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: Vec::new(),
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(summary, detail) }
    }

    /// A value Terraform sent that cannot be decoded: a bug on one side or the other.
    pub fn unreadable(what: &str, error: &super::value::DecodeError) -> Diagnostic {
        Diagnostic::error(
            format!("Unreadable {what}"),
            format!(
                "Terraform sent a {what} this provider cannot read: {error}. This is a bug in Terraform or in the \
                 provider; please report it with the Terraform version."
            ),
        )
    }

    /// Points the diagnostic at a top-level attribute.
    pub fn at_attribute(self, name: &str) -> Diagnostic {
        self.at_path(vec![PathStep::Attribute(name.to_string())])
    }

    /// Points the diagnostic at a top-level attribute, when there is one to point at.
    pub fn at_optional_attribute(self, name: Option<&str>) -> Diagnostic {
        match name {
            Some(name) => self.at_attribute(name),
            None => self,
        }
    }

    /// Points the diagnostic at a path: an attribute inside blocks (`timeouts.create`), a map's
    /// key, a list's element.
    pub fn at_path(mut self, path: Vec<PathStep>) -> Diagnostic {
        self.path = path;
        self
    }

    pub fn to_proto(&self) -> pb::Diagnostic {
        pb::Diagnostic {
            severity: match self.severity {
                Severity::Error => pb::diagnostic::Severity::Error,
                Severity::Warning => pb::diagnostic::Severity::Warning,
            } as i32,
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute: (!self.path.is_empty()).then(|| path_to_proto(&self.path)),
        }
    }
}

fn step_to_proto(step: &PathStep) -> pb::attribute_path::Step {
    use pb::attribute_path::step::Selector;
    pb::attribute_path::Step {
        selector: Some(match step {
            PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
            PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
            PathStep::Index(index) => Selector::ElementKeyInt(*index),
        }),
    }
}

/// An attribute path in wire form.
pub fn path_to_proto(steps: &[PathStep]) -> pb::AttributePath {
    pb::AttributePath { steps: steps.iter().map(step_to_proto).collect() }
}
