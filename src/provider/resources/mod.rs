//! The resource types, one file each: [`aiapp_kill`] kills one app, [`aiapps_kill`] every app a
//! selector picks.

pub mod aiapp_kill;
pub mod aiapps_kill;
