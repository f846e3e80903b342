//! The action types (Terraform 1.14+), one file each, named as the resources they mirror:
//! [`aiapp_kill`] kills one app once, [`aiapps_kill`] every app a selector picks.

pub mod aiapp_kill;
pub mod aiapps_kill;
