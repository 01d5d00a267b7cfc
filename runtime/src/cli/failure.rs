//! How a command ends: its outcome, or a failure with its exit code.

use crate::error::Error;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: a check failed, records were rejected (the command said
    /// which).
    Failed,
}

/// A command that could not run: exit 1 when the store or the data
/// failed, 2 when the command line or the configuration is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The exit code.
    pub(crate) code: u8,
    /// What happened and what to do.
    pub(crate) message: String,
}

impl Failure {
    /// A wrong command line: exit 2.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// A configuration that cannot be used: exit 2.
    pub(crate) fn config(error: Error) -> Self {
        Failure::usage(format!(
            "{error}\n(fix the configuration file, or point --config at another)"
        ))
    }

    /// Something failed while the command ran: exit 1.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    /// Errors in what the user gave (names, times, configuration) exit 2;
    /// the rest 1.
    fn from(error: Error) -> Self {
        match &error {
            Error::Config(_)
            | Error::UnknownType { .. }
            | Error::InvalidTimeBound { .. }
            | Error::EmptyRange { .. }
            | Error::InvalidName { .. }
            | Error::InvalidRules(_)
            | Error::InvalidAnnotation { .. } => Failure::usage(error.to_string()),
            _ => Failure::failed(error.to_string()),
        }
    }
}
